#!/usr/bin/env python3
"""Pairs Banyan and PyTorch JSON lines (same net, batch, precision) into one
table: Banyan's images/s, peak device GiB and achieved TFLOP/s with its share
of the GPU's dense peak for that precision; PyTorch's eager, channels_last
and torch.compile images/s and peak GiB; and Banyan's ratio to PyTorch eager
and to PyTorch's best variant.

TFLOP/s counts the convolution and inner-product work of a training
iteration (forward 2 x MACs, weight gradient and input gradient the same
again; engine/evaluate.h, training_flops): Banyan reports it, and PyTorch's
is the same work per image times its images/s.  Peaks are the vendor's
dense figures (no sparsity): see PEAK_TFLOPS.

usage: compare.py BANYAN.jsonl PYTORCH.jsonl [MORE.jsonl ...]  (any order)
"""
import json
import math
import sys

# Dense peak TFLOP/s by GPU model (substring of the CUDA device name) and
# precision (TF32 is the FP32 tensor-core mode).
PEAK_TFLOPS = {
    "H200": {"FP32": 67.0, "TF32": 494.7, "BF16": 989.4},
    "H100 PCIe": {"FP32": 51.2, "TF32": 378.0, "BF16": 756.0},
    "H100": {"FP32": 67.0, "TF32": 494.7, "BF16": 989.4},
    "A100": {"FP32": 19.5, "TF32": 156.0, "BF16": 312.0},
}
VARIANTS = ("eager", "channels_last", "compile")


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rows.append(json.loads(line))
    return rows


def peak_for(gpu, precision):
    for model, peaks in PEAK_TFLOPS.items():
        if model in (gpu or ""):
            return peaks.get(precision)
    return None


def fmt(value, spec, width):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}{spec}}"


def table(rows):
    rows = [r for r in rows if "error" not in r]
    banyan = [r for r in rows if r.get("engine") == "banyan"]
    torch = [r for r in rows if r.get("engine") == "pytorch"]
    head = (f"{'net':<20}{'batch':>6}{'mode':>6}{'banyan img/s':>13}{'GiB':>6}{'TFLOP/s':>9}"
            f"{'%peak':>7}{'eager':>8}{'ch_last':>8}{'compile':>8}{'t GiB':>7}"
            f"{'vs eager':>9}{'vs best':>8}")
    lines = [head]
    for b in sorted(banyan, key=lambda r: (r["name"], -r["batch"], r["precision"])):
        same = [t for t in torch if t["name"] == b["name"] and t["batch"] == b["batch"]
                and t["precision"] == b["precision"]]
        by_variant = {v: max((t for t in same if t.get("variant") == v),
                             key=lambda t: t["images_per_s"], default=None) for v in VARIANTS}
        best = max(same, key=lambda t: t["images_per_s"], default=None)
        ips = b["images_per_s"]
        tflops = b.get("tflops")
        peak = peak_for(b.get("gpu"), b["precision"])
        share = 100.0 * tflops / peak if tflops and peak else None
        eager = by_variant["eager"]["images_per_s"] if by_variant["eager"] else None
        best_ips = best["images_per_s"] if best else None
        torch_gib = best.get("device_bytes", 0) / 2**30 if best else None
        lines.append(
            f"{b['name']:<20}{b['batch']:>6}{b['precision']:>6}{ips:>13.0f}"
            f"{b.get('device_bytes', 0) / 2**30:>6.2f}{fmt(tflops, '.1f', 9)}{fmt(share, '.1f', 7)}"
            + "".join(fmt(by_variant[v]["images_per_s"] if by_variant[v] else None, ".0f", 8)
                      for v in VARIANTS)
            + f"{fmt(torch_gib, '.2f', 7)}{fmt(ips / eager if eager else None, '.2f', 9)}"
            f"{fmt(ips / best_ips if best_ips else None, '.2f', 8)}")
    return "\n".join(lines)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(table(load(sys.argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
