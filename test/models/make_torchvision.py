"""Exports torchvision classifiers with random weights at small widths and input sizes, for
test/torchvision.test.ts: `/usr/bin/python3 test/models/make_torchvision.py OUT_DIR NAME…` writes
OUT_DIR/NAME.onnx (opset 13, symbolic batch), OUT_DIR/NAME.h5 (2 random samples in [0, 1], label 0)
and, for the CNNs lrp_reference.py covers, OUT_DIR/NAME.ref.h5 ('relevance': the independent float64
epsilon-plus relevance with biases zeroed and ε = 0, see lrp_reference.py).

Randomly initialised torchvision nets have logits of 1e-8..1e-14 (BatchNorm statistics of 0 / 1 on
activations that shrink layer by layer), which leaves nothing for ε or the stabiliser to act on. So
each net is calibrated before export: BatchNorm statistics are estimated in train mode on random
inputs (cumulative average), then the classifier's last layer is scaled so the logits have std ≈ 1.

Architectures with a huge classifier (AlexNet, VGG: 4096-wide dense layers, 60–130 M weights) get a
64-wide classifier, and the deep ones (DenseNet, ResNeXt, ConvNeXt, ViT, Swin, MaxViT) small configurations
of their own constructors; the convolutional/attention blocks are torchvision's."""
import copy
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torchvision.models as m
from torchvision.models.convnext import CNBlockConfig
from torchvision.models.efficientnet import EfficientNet, FusedMBConvConfig, MBConvConfig
from torchvision.models.maxvit import MaxVit
from torchvision.models.resnet import Bottleneck, ResNet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lrp_reference  # noqa: E402


def small_classifier(net, channels):
    """AlexNet, VGG: global average pooling (their adaptive 6×6 / 7×7 pooling cannot be exported from
    the 1×1 map of a small input) and Dropout → 64 → ReLU → 10 instead of the 4096-wide classifier."""
    net.avgpool = nn.AdaptiveAvgPool2d(1)
    net.classifier = nn.Sequential(nn.Dropout(), nn.Linear(channels, 64), nn.ReLU(inplace=True), nn.Linear(64, 10))
    return net


def alexnet():
    return small_classifier(m.alexnet(num_classes=10), 256)


def vgg11_bn():
    return small_classifier(m.vgg11_bn(num_classes=10), 512)


def efficientnet_v2_s():
    # EfficientNetV2-S's block kinds, one layer each: FusedMBConv without and with expansion, then an
    # MBConv with squeeze-excite (the full net is 21 M weights).
    setting = [FusedMBConvConfig(1, 3, 1, 24, 24, 1), FusedMBConvConfig(4, 3, 2, 24, 48, 1), MBConvConfig(4, 3, 2, 48, 64, 1)]
    return EfficientNet(setting, dropout=0.2, stochastic_depth_prob=0.0, num_classes=10, last_channel=256)


# name: (constructor, input size, has an lrp_reference.py reference). The transformers (no reference)
# also get NAME.zeroed.onnx: every bias, LayerNorm β, class token, position embedding, relative
# position bias and BatchNorm running mean zeroed, where CP-LRP must conserve relevance
# (../shared/spec/transformer-lrp.md).
SPECS = {
    'squeezenet1_1': (lambda: m.squeezenet1_1(num_classes=10), 64, True),
    'resnet18': (lambda: m.resnet18(num_classes=10), 32, True),
    'mobilenet_v2': (lambda: m.mobilenet_v2(width_mult=0.25, num_classes=10), 32, True),
    'alexnet': (alexnet, 64, True),
    'vgg11_bn': (vgg11_bn, 32, True),
    # DenseNet-121's dense blocks and transitions, 2 layers per block, growth 8.
    'densenet': (lambda: m.DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, bn_size=2, num_classes=10), 32, True),
    'googlenet': (lambda: m.googlenet(num_classes=10, aux_logits=False, init_weights=True), 32, True),
    'inception_v3': (lambda: m.inception_v3(num_classes=10, aux_logits=False, init_weights=True), 75, True),
    # ResNeXt-50 32x4d bottlenecks (grouped 3x3), one block per stage.
    'resnext': (lambda: ResNet(Bottleneck, [1, 1, 1, 1], groups=32, width_per_group=4, num_classes=10), 32, True),
    # Wide ResNet-50-2's bottlenecks (3×3 twice as wide: width_per_group 128), one block per stage.
    'wide_resnet': (lambda: ResNet(Bottleneck, [1, 1, 1, 1], width_per_group=128, num_classes=10), 32, True),
    'efficientnet_b0': (lambda: m.efficientnet_b0(num_classes=10), 32, True),
    'efficientnet_v2_s': (efficientnet_v2_s, 32, True),
    'regnet_x_400mf': (lambda: m.regnet_x_400mf(num_classes=10), 32, True),
    'mnasnet0_5': (lambda: m.mnasnet0_5(num_classes=10), 32, True),
    'mobilenet_v3_small': (lambda: m.mobilenet_v3_small(num_classes=10), 32, True),
    'shufflenet_v2_x0_5': (lambda: m.shufflenet_v2_x0_5(num_classes=10), 32, True),
    'convnext': (lambda: m.ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], num_classes=10), 32, False),
    'vit': (lambda: m.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10), 32, False),
    # MaxVit-T's MBConv, block (window) and grid attention, 2 stages of 1 layer: 32 → stem 16 → 8 → 4
    # (partition 4: a 2×2 grid of windows in stage 1, one window in stage 2).
    'maxvit': (
        lambda: MaxVit(input_size=(32, 32), stem_channels=16, partition_size=4, block_channels=[16, 32], block_layers=[1, 1], head_dim=8, stochastic_depth_prob=0.0, num_classes=10),
        32,
        False,
    ),
    'swin': (
        lambda: m.SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[1, 1], num_heads=[1, 2], window_size=[2, 2], stochastic_depth_prob=0.0, num_classes=10),
        32,
        False,
    ),
}


def calibrate(net, size):
    """BatchNorm statistics from random inputs, then logits of std ≈ 1 (see the module docstring)."""
    norms = [mod for mod in net.modules() if isinstance(mod, nn.modules.batchnorm._BatchNorm)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batches
    if norms:
        net.train()
        with torch.no_grad():
            for _ in range(4):
                net(torch.rand(16, 3, size, size))
    net.eval()
    # The classifier: the last Linear (SqueezeNet's: its last Conv, before ReLU and pooling).
    last = [mod for mod in net.modules() if isinstance(mod, (nn.Linear, nn.Conv2d))][-1]
    with torch.no_grad():
        if not last.weight.any():  # ViT's head starts at zero: every logit 0, nothing to scale
            nn.init.normal_(last.weight, std=0.02)
        std = net(torch.rand(16, 3, size, size)).std()
        last.weight /= std
        if last.bias is not None:
            last.bias /= std


ZEROED = ('class_token', 'pos_embedding', 'relative_position_bias_table')


def export(net, x, path):
    torch.onnx.export(net, x, path, opset_version=13, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})


# CNNs whose epsilon-plus does not conserve (depthwise convolutions, gates): they also get
# NAME.zeroed.onnx, on which CP-LRP (epsilon on every layer, gradient form) must conserve.
ZEROED_CNNS = {'mobilenet_v2', 'mobilenet_v3_small', 'mnasnet0_5', 'efficientnet_b0', 'efficientnet_v2_s'}


def export_zeroed(net, x, path):
    """Exports a copy of `net` with every bias (and β, token, position table, BN running mean) zeroed."""
    net = copy.deepcopy(net)
    with torch.no_grad():
        for key, p in net.named_parameters():
            last = key.split('.')[-1]
            if last.endswith('bias') or last in ZEROED:  # bias, in_proj_bias, …
                p.zero_()
        for mod in net.modules():  # BatchNorm's running mean is a bias too (MaxViT's MBConv)
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                mod.running_mean.zero_()
    export(net, x, path)


def main(out, names):
    for name in names:
        torch.manual_seed(0)
        make, size, has_reference = SPECS[name]
        net = make()
        calibrate(net, size)
        x = torch.rand(2, 3, size, size)
        export(net, x, os.path.join(out, f'{name}.onnx'))
        with h5py.File(os.path.join(out, f'{name}.h5'), 'w') as f:
            f['data'] = x.numpy().astype(np.float32)
            f['label'] = np.zeros(2, dtype=np.uint16)
        if not has_reference:
            export_zeroed(net, x, os.path.join(out, f'{name}.zeroed.onnx'))
        else:
            relevance = lrp_reference.epsilon_plus_reference(net, x, [0, 0])
            with h5py.File(os.path.join(out, f'{name}.ref.h5'), 'w') as f:
                f['relevance'] = relevance.numpy()
            if name in ZEROED_CNNS:
                export_zeroed(net, x, os.path.join(out, f'{name}.zeroed.onnx'))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
