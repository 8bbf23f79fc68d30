#!/usr/bin/python3
"""Exports torchvision VGG16 and ResNet50 with random weights to ONNX for bench/attribute.ts.

Run with Debian's interpreter (it has torch 1.13 and torchvision):
    /usr/bin/python3 bench/export_models.py [--out bench/models] [--models vgg16,resnet50]

The models (~530 MB and ~100 MB) go to bench/models/, which git ignores: they are made here, never
committed. Weights are random but seeded, so every machine benchmarks the same network; the speed of
LRP does not depend on the weight values. Besides the two ImageNet-sized models it writes `small_cnn`
(3x64x64, 10 classes), used to measure peak memory over many images without a long run.
"""
import argparse
import os
import sys

import torch
import torchvision


class SmallCNN(torch.nn.Module):
    """A VGG-like network small enough to attribute 10 000 images in minutes on one core."""

    def __init__(self):
        super().__init__()
        layers = []
        channels = [3, 16, 32, 64]
        for cin, cout in zip(channels, channels[1:]):
            layers += [torch.nn.Conv2d(cin, cout, 3, padding=1), torch.nn.BatchNorm2d(cout), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        self.features = torch.nn.Sequential(*layers)
        self.classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 8 * 8, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


MODELS = {
    'vgg16': (lambda: torchvision.models.vgg16(), 224),
    'resnet50': (lambda: torchvision.models.resnet50(), 224),
    'vit_b_16': (lambda: torchvision.models.vit_b_16(), 224),
    'small_cnn': (SmallCNN, 64),
}


def export(name, out_dir):
    build, size = MODELS[name]
    torch.manual_seed(0)
    model = build().eval()
    path = os.path.join(out_dir, f'{name}.onnx')
    dummy = torch.rand(1, 3, size, size)
    # A dynamic batch axis: the benchmark runs batches of 8, the memory run batches of 32.
    torch.onnx.export(
        model, dummy, path, opset_version=13, input_names=['input'], output_names=['logits'],
        dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, do_constant_folding=True,
    )
    print(f'{path}: {os.path.getsize(path) / 1e6:.1f} MB, input 3x{size}x{size}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'models'))
    parser.add_argument('--models', default=','.join(MODELS))
    parser.add_argument('--force', action='store_true', help='export again even when the file exists')
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.models.split(','):
        if name not in MODELS:
            sys.exit(f'export_models.py: unknown model {name!r} (have: {", ".join(MODELS)})')
        if not args.force and os.path.exists(os.path.join(args.out, f'{name}.onnx')):
            print(f'{name}: already exported')
            continue
        export(name, args.out)


if __name__ == '__main__':
    main()
