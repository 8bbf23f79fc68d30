#!/usr/bin/python3
"""The Python side of bench/attribute.ts: Zennit 0.5.1 and a plain PyTorch gradient on the same models.

    /usr/bin/python3 bench/zennit_attribute.py [--models vgg16,resnet50] [--threads 1,2] [--batch 8]
                                               [--batches 2] [--json]

Builds the same torchvision networks as bench/export_models.py (seeded random weights; speed does
not depend on the values) and times, per model and thread count, on batches of random images
normalised with the ImageNet statistics:
  * `zennit`: EpsilonGammaBox (low/high = the normalised black and white images, per channel) with
    the torchvision canonizer (VGGCanonizer / ResNetCanonizer), attributed with `Gradient`;
    run only when `import zennit` works (a Zennit 0.5.1 checkout on PYTHONPATH), else skipped with
    a message;
  * `gradient`: input gradient of the target logit through plain autograd (always runs).
Prints one line per measurement; with --json, one JSON object per line for bench/attribute.ts.
"""
import argparse
import json
import sys
import time

import torch
import torchvision

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
BUILDERS = {'vgg16': torchvision.models.vgg16, 'resnet50': torchvision.models.resnet50}


def load_zennit():
    try:
        from zennit.attribution import Gradient
        from zennit.composites import EpsilonGammaBox
        from zennit.torchvision import ResNetCanonizer, VGGCanonizer
    except ImportError as error:
        return None, f'zennit not importable ({error}); put a Zennit 0.5.1 checkout on PYTHONPATH to time it'
    canonizers = {'vgg16': VGGCanonizer, 'resnet50': ResNetCanonizer}
    return (Gradient, EpsilonGammaBox, canonizers), None


def build(name):
    torch.manual_seed(0)
    return BUILDERS[name]().eval()


def batch_of(size, seed):
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(size, 3, 224, 224, generator=generator)
    return (images - MEAN) / STD


def one_hot(batch, classes=1000):
    """The same fixed targets as bench/attribute.ts (sample i -> class 97·i mod 1000): no extra forward pass."""
    return torch.eye(classes)[[(97 * i) % classes for i in range(batch)]]


def time_gradient(model, data):
    data = data.clone().requires_grad_(True)
    logits = model(data)
    (relevance,) = torch.autograd.grad((logits * one_hot(len(data))).sum(), data)
    return relevance


def time_zennit(zennit, name, model, data):
    Gradient, EpsilonGammaBox, canonizers = zennit
    composite = EpsilonGammaBox(low=(0 - MEAN) / STD, high=(1 - MEAN) / STD, canonizers=[canonizers[name]()])
    with Gradient(model=model, composite=composite) as attributor:
        _, relevance = attributor(data, one_hot(len(data)))
    return relevance


def measure(method, run, batches, batch, warmup):
    for i in range(warmup):
        run(batch_of(batch, 1000 + i))
    start = time.perf_counter()
    cpu_start = time.process_time()
    for i in range(batches):
        run(batch_of(batch, i))
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    images = batches * batch
    return {'method': method, 'images': images, 'seconds': seconds, 'images_per_s': images / seconds, 's_per_image': seconds / images, 'cpu_s_per_image': cpu / images}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', default='vgg16,resnet50')
    parser.add_argument('--threads', default='1,2')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--batches', type=int, default=2, help='timed batches per measurement')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--methods', default='zennit,gradient')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()

    zennit, why_not = load_zennit()
    methods = args.methods.split(',')
    if 'zennit' in methods and zennit is None:
        print(f'zennit_attribute.py: skipping Zennit: {why_not}', file=sys.stderr)
        methods.remove('zennit')
    for name in args.models.split(','):
        model = build(name)
        for param in model.parameters():
            param.requires_grad_(False)
        for threads in (int(t) for t in args.threads.split(',')):
            torch.set_num_threads(threads)
            for method in methods:
                if method == 'gradient':
                    run = lambda data: time_gradient(model, data)  # noqa: E731
                else:
                    run = lambda data: time_zennit(zennit, name, model, data)  # noqa: E731
                result = {'model': name, 'threads': threads, 'batch': args.batch, 'torch': torch.__version__, **measure(method, run, args.batches, args.batch, args.warmup)}
                if args.json:
                    print(json.dumps(result), flush=True)
                else:
                    print(f"{name:9s} {method:9s} threads={threads} batch={args.batch}: {result['s_per_image']:.3f} s/img, {result['images_per_s']:.3f} img/s", flush=True)


if __name__ == '__main__':
    main()
