"""Exports torchvision classifiers with random weights at small widths and input sizes, for
test/torchvision.test.ts: `/usr/bin/python3 test/models/make_torchvision.py OUT_DIR NAME…` writes
OUT_DIR/NAME.onnx (opset 13, symbolic batch) and OUT_DIR/NAME.h5 (2 random samples, label 0)."""
import os
import sys

import h5py
import numpy as np
import torch
import torchvision.models as m

SPECS = {
    'squeezenet1_1': (lambda: m.squeezenet1_1(num_classes=10), 64),
    'resnet18': (lambda: m.resnet18(num_classes=10), 32),
    'mobilenet_v2': (lambda: m.mobilenet_v2(width_mult=0.25, num_classes=10), 32),
}


def main(out, names):
    torch.manual_seed(0)
    for name in names:
        make, size = SPECS[name]
        net = make().eval()
        x = torch.rand(2, 3, size, size)
        torch.onnx.export(net, x, os.path.join(out, f'{name}.onnx'), opset_version=13, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
        with h5py.File(os.path.join(out, f'{name}.h5'), 'w') as f:
            f['data'] = x.numpy().astype(np.float32)
            f['label'] = np.zeros(2, dtype=np.uint16)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
