#!/usr/bin/env python3
"""Reference CPU training throughput in PyTorch for the nets Banyan's CPU
benchmark times: the Fashion-MNIST net (models/fashion_mnist) and Caffe's
AlexNet (models/alexnet), the same layers, batch and solver (momentum SGD,
weight decay with Caffe's decay_mult 0 on the BatchNorm scale/shift and the
biases), synthetic inputs, a fixed number of threads (torch.set_num_threads).
Prints one JSON object per run with the fields of benchmarks/train_bench
(images_per_s, median_iteration_s) so benchmarks/run_cpu.sh can pair them.
"""
import argparse
import json
import statistics
import sys
import time

import pytorch_alexnet  # the same Caffe AlexNet the GPU comparison trains


def fashion_mnist(nn):
    # conv (no bias) -> BatchNorm + Scale (PyTorch's affine BatchNorm) -> ReLU -> max pool, twice.
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2, bias=False), nn.BatchNorm2d(32, momentum=0.001),
        nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 5, padding=2, bias=False), nn.BatchNorm2d(64, momentum=0.001),
        nn.ReLU(inplace=True), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(64 * 7 * 7, 256), nn.ReLU(inplace=True), nn.Dropout(0.4),
        nn.Linear(256, 10)), (1, 28), 0.05


def caffe_alexnet(nn):
    return pytorch_alexnet.caffe_alexnet(nn), (3, 227), 0.01


NETS = {"fashion_mnist": fashion_mnist, "caffe_alexnet": caffe_alexnet}


def param_groups(net, nn):
    """Caffe's decay_mult: 0 for BatchNorm scale/shift and for biases, 1 for weights."""
    decay, no_decay = [], []
    for module in net.modules():
        for pname, p in module.named_parameters(recurse=False):
            if isinstance(module, nn.BatchNorm2d) or pname == "bias":
                no_decay.append(p)
            else:
                decay.append(p)
    return [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]


def run(torch, name, batch, threads, warmup, iterations):
    nn = torch.nn
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net, (channels, size), lr = NETS[name](nn)
    x = torch.rand(batch, channels, size, size)
    y = torch.randint(0, 10 if name == "fashion_mnist" else 1000, (batch,))
    opt = torch.optim.SGD(param_groups(net, nn), lr=lr, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    net.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        loss = step()
    if not torch.isfinite(loss).item():
        raise RuntimeError(f"{name}: loss {loss.item()} after warm-up")
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {"engine": "pytorch", "torch": torch.__version__, "name": name, "device": "cpu",
            "threads": threads, "precision": "FP32", "batch": batch,
            "median_iteration_s": median, "images_per_s": batch / median, "loss": float(loss)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--net", choices=sorted(NETS), default="fashion_mnist")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=20)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print(json.dumps({"engine": "pytorch", "name": args.net,
                          "error": "PyTorch is not installed (Debian: python3-torch)"}))
        return 1
    print(json.dumps(run(torch, args.net, args.batch, args.threads, args.warmup,
                         args.iterations)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
