#!/usr/bin/env python3
"""Reference training throughput of the same AlexNets in PyTorch.

Caffe AlexNet (227 crops, LRN, grouped conv2/4/5) and torchvision's one-column
AlexNet (224 crops, no LRN), SGD with momentum 0.9 and weight decay, synthetic
inputs already on the GPU.  Modes: FP32 (TF32 off), TF32, BF16 autocast; each
eager, channels_last, and torch.compile.  One JSON object per line, with the
same fields as benchmarks/train_bench so benchmarks/compare.py can pair them.
"""
import argparse
import json
import statistics
import sys
import time


def caffe_alexnet(nn):
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(inplace=True),
        nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0), nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(inplace=True),
        nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0), nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, ceil_mode=True), nn.Flatten(),
        nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(4096, 1000))


def torchvision_alexnet(nn):
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, 1000))


def run(torch, name, batch, precision, variant, warmup, iterations):
    nn = torch.nn
    net, size = (caffe_alexnet(nn), 227) if name == "caffe_alexnet" else (torchvision_alexnet(nn), 224)
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = precision == "TF32"
    torch.backends.cudnn.allow_tf32 = precision == "TF32"
    torch.backends.cudnn.benchmark = True
    net = net.to(dev)
    x = torch.randn(batch, 3, size, size, device=dev)
    y = torch.randint(0, 1000, (batch,), device=dev)
    if variant in ("channels_last", "compile"):
        net = net.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "BF16"):
            loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    if variant == "compile":
        step = torch.compile(step)
    torch.cuda.reset_peak_memory_stats()
    for _ in range(warmup):
        loss = step()
    torch.cuda.synchronize()
    if not torch.isfinite(loss).item():
        raise RuntimeError(f"{name} {precision} {variant}: loss {loss.item()}")
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {"engine": "pytorch", "torch": torch.__version__, "name": name,
            "device": torch.cuda.get_device_name(), "precision": precision,
            "tf32": precision == "TF32", "variant": variant, "batch": batch,
            "median_iteration_s": median, "images_per_s": batch / median,
            "device_bytes": torch.cuda.max_memory_allocated(), "loss": float(loss)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nets", default="caffe_alexnet,torchvision_alexnet")
    ap.add_argument("--batches", default="256,128")
    ap.add_argument("--precisions", default="FP32,TF32,BF16")
    ap.add_argument("--variants", default="eager,channels_last,compile")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iterations", type=int, default=30)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print(json.dumps({"engine": "pytorch", "error": "PyTorch is not installed"}))
        return 0
    if not torch.cuda.is_available():
        print(json.dumps({"engine": "pytorch", "error": "no CUDA device"}))
        return 0
    for name in args.nets.split(","):
        for batch in map(int, args.batches.split(",")):
            for precision in args.precisions.split(","):
                for variant in args.variants.split(","):
                    try:
                        r = run(torch, name, batch, precision, variant, args.warmup, args.iterations)
                    except Exception as e:  # one failing mode must not hide the others
                        r = {"engine": "pytorch", "name": name, "batch": batch,
                             "precision": precision, "variant": variant, "error": str(e)}
                    print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
