#!/usr/bin/env python3
"""Predicts the training step time, images/s and speed-up of a net for a
cluster we may not have, per layout, before anyone books the hardware.

Inputs
  --profile FILE   per-layer times on one device at one batch: the JSON of
                   `banyan time --json=FILE` (forward_ms, backward_ms and
                   param_bytes per layer, in forward order), or a built-in
                   profile name (see PROFILES; the published nets below)
  --cluster FILE   JSON: {"gpus_per_node": 8, "intra_gbs": 20, "intra_us": 10,
                   "nic_gbits": 100, "nic_us": 5, "max_nodes": 64} (bandwidths
                   per direction; intra = between GPUs of a node: a ring
                   or tree runs at its slowest link, so give that one)
  --batch N        per-replica batch (default: the profile's); compute scales
                   linearly with it (weak scaling, as in the published runs)
  --gpus 1,2,4,...,512   sizes to predict; --bucket_mb 16; --plot OUT.png
                   (matplotlib: Debian's python3-matplotlib)
  --published      the validation table against published scaling figures
  --measured 1:480,2:850,4:860
                   img/s measured at those worker counts (e.g. CPU processes
                   under mpirun, benchmarks/measure_scaling_cpu.sh): prints
                   prediction vs measurement

The model (every assumption is here, none elsewhere):
  * compute: forward then backward, layer by layer, the profile's times
    scaled by batch / profile batch; a replica split into K partitions
    divides each layer's time by K (perfect split) and adds the transfers at
    the cuts: cut_bytes per image (profile field, default 0) x batch, twice
    (forward and backward), over the intra-node link.  The recommendation
    considers K up to the profile's max_partitions (default 2 with cut_bytes,
    else 1: a net with no described split is not split).
  * exchange: gradients in buckets of --bucket_mb, cut at layer boundaries,
    from the top; a bucket can go once backward has passed its lowest
    layer, and buckets go one at a time (one exchange stream), each taking
      intra: 2 (g - 1) / g x S / intra_bw + 2 (g - 1) x intra_lat
             over the g replicas of a node (ring / pipelined tree), or, for
             a cluster with "exchange": "host" (no peer copies: every GPU
             sends its gradients to host memory and reads the sum back
             over one shared host link of host_gbs),
      host:  2 g S / host_bw + 2 g intra_lat
      inter: 2 (n - 1) / n x S / nic_bw + 2 log2(n) x nic_lat
             over n nodes (one NIC per node carries the node's sum)
    S = bucket bytes / K (each partition's share) x grad_bytes / 4.
  * --no_overlap: the exchange starts after backward (Caffe's P2PSync,
    Mariana), else it overlaps (Banyan, Horovod).
  * compute_slots (cluster field, default unlimited): the workers of a node
    share that many compute units (CPU cores for CPU processes), so each
    layer's time is multiplied by max(1, workers on the node / slots).
  * step = max(forward + backward, forward + last bucket's end) + update;
    update = params / (K x update_gbs) (default 100 GB/s, ~negligible).
  * speed-up = (replicas x batch / step) / (batch / single-GPU step).
"""
import argparse
import json
import math
import sys

# Built-in profiles for the published comparisons: (name, forward_ms,
# backward_ms, param_bytes) per layer group at `batch` on `device`, derived
# from each net's FLOPs and parameter counts and an assumed sustained
# throughput (stated in `source`); cut_bytes for model parallelism.
PROFILES = {
    # AlexNet (Caffe's, 61M parameters, 0.72 GFLOP/image forward): FC layers
    # hold 96% of the parameters and ~5% of the work.
    "alexnet_k40": {
        "source": "Caffe AlexNet on a K40: 1.26 s per batch of 256 forward+backward "
                  "(Caffe's published timing), split 1:2 forward:backward; conv 95% of it",
        "batch": 256, "cut_bytes": 0,
        "layers": [
            {"name": "conv", "forward_ms": 399.0, "backward_ms": 798.0, "param_bytes": 2.3e6 * 4},
            {"name": "fc", "forward_ms": 21.0, "backward_ms": 42.0, "param_bytes": 58.6e6 * 4},
        ],
    },
    "alexnet_k20": {
        "source": "as alexnet_k40 with the K20's 3.52 vs the K40's 4.29 TFLOP/s peak (x1.22); "
                  "Krizhevsky's 'one weird trick' net has the same layer sizes",
        "batch": 128, "cut_bytes": 0,
        "layers": [
            {"name": "conv", "forward_ms": 243.0, "backward_ms": 486.0, "param_bytes": 2.3e6 * 4},
            {"name": "fc", "forward_ms": 12.8, "backward_ms": 25.6, "param_bytes": 58.6e6 * 4},
        ],
    },
    # Mariana's ImageNet net (Tencent, 2014): AlexNet-like, larger; they
    # report 3.99 GB per GPU; 60M+ parameters; 4 K20c, PCIe 2, no overlap.
    "mariana_k20c": {
        "source": "Mariana's ImageNet net assumed AlexNet-sized (their 8-layer ImageNet "
                  "model; layer sizes not published) at batch 128 on a K20c, timed as "
                  "alexnet_k20; the cuts of 2-way model parallelism carry conv1/conv2's "
                  "outputs as in Krizhevsky's two columns",
        "batch": 128, "cut_bytes": 2 * 55 * 55 * 48 * 4 + 2 * 27 * 27 * 128 * 4,
        "layers": [
            {"name": "conv", "forward_ms": 243.0, "backward_ms": 486.0, "param_bytes": 3.7e6 * 4},
            {"name": "fc", "forward_ms": 12.8, "backward_ms": 25.6, "param_bytes": 58.6e6 * 4},
        ],
    },
    # Horovod's runs (Sergeev & Del Balso 2018): P100, batch 64 per GPU.
    "resnet101_p100": {
        "source": "ResNet-101, 44.5M parameters, ~70 img/s per P100 at batch 64 (tf_cnn_"
                  "benchmarks era); parameters spread evenly over the depth",
        "batch": 64, "cut_bytes": 0,
        "layers": [{"name": f"stage{i}", "forward_ms": 304.8 / 10, "backward_ms": 609.6 / 10,
                    "param_bytes": 44.5e6 * 4 / 10} for i in range(10)],
    },
    "inception3_p100": {
        "source": "Inception V3, 23.8M parameters, ~140 img/s per P100 at batch 64; "
                  "parameters spread evenly over the depth",
        "batch": 64, "cut_bytes": 0,
        "layers": [{"name": f"block{i}", "forward_ms": 152.4 / 10, "backward_ms": 304.8 / 10,
                    "param_bytes": 23.8e6 * 4 / 10} for i in range(10)],
    },
    "vgg16_p100": {
        "source": "VGG-16, 138M parameters (fc6 102.8M, fc7 16.8M, fc8 4.1M, conv 14.7M), "
                  "~200 img/s per P100 at batch 64; conv 97% of the work",
        "batch": 64, "cut_bytes": 0,
        "layers": [
            {"name": "conv", "forward_ms": 103.5, "backward_ms": 207.0, "param_bytes": 14.7e6 * 4},
            {"name": "fc6", "forward_ms": 2.0, "backward_ms": 4.0, "param_bytes": 102.8e6 * 4},
            {"name": "fc7_8", "forward_ms": 1.2, "backward_ms": 2.4, "param_bytes": 20.9e6 * 4},
        ],
    },
}

CLUSTERS = {
    # Caffe's 2-GPU figure: K40s under one PCIe 3 switch with peer access.
    "caffe_2xk40": {"gpus_per_node": 2, "intra_gbs": 10.0, "intra_us": 10,
                    "nic_gbits": 10, "nic_us": 50, "max_nodes": 1},
    # Krizhevsky's 8 K20 in one box on PCIe 2: two switches of 4 GPUs, so a
    # ring crosses the host bridge, where peer copies of that generation are
    # staged through host memory (assumed 3 GB/s; ~5 GB/s within a switch).
    # A ring runs at its slowest link: intra_gbs = 3.
    "krizhevsky_8xk20": {"gpus_per_node": 8, "intra_gbs": 3.0, "intra_us": 10,
                         "nic_gbits": 10, "nic_us": 50, "max_nodes": 1},
    # Mariana: 4 K20c on PCIe 2, gradients and parameters through host
    # memory (assumed: no peer-to-peer exchange), the host link at PCIe 2
    # x16's practical 6 GB/s (8 GB/s less protocol overhead); activations
    # at the model-parallel cuts at 3 GB/s (staged copies).
    "mariana_4xk20c": {"gpus_per_node": 4, "intra_gbs": 3.0, "intra_us": 20,
                       "exchange": "host", "host_gbs": 6.0,
                       "nic_gbits": 10, "nic_us": 50, "max_nodes": 1},
    # Horovod: 128 servers x 4 P100 (PCIe 3 between them), 25 Gbit/s RoCE.
    "horovod_128x4p100": {"gpus_per_node": 4, "intra_gbs": 10.0, "intra_us": 10,
                          "nic_gbits": 25, "nic_us": 10, "max_nodes": 128},
}


def ring(n, size_bytes, gbs, lat_us):
    """2 (n-1)/n S / B + 2 (n-1) latency: a ring (or pipelined tree) all-reduce."""
    if n <= 1:
        return 0.0
    return 2.0 * (n - 1) / n * size_bytes / (gbs * 1e9) + 2.0 * (n - 1) * lat_us * 1e-6


def host_star(n, size_bytes, gbs, lat_us):
    """2 n S / B + 2 n latency: n GPUs through one host link, both ways."""
    if n <= 1:
        return 0.0
    return 2.0 * n * size_bytes / (gbs * 1e9) + 2.0 * n * lat_us * 1e-6


def across_nodes(n, size_bytes, gbits, lat_us):
    if n <= 1:
        return 0.0
    return 2.0 * (n - 1) / n * size_bytes / (gbits / 8.0 * 1e9) + \
        2.0 * math.log2(n) * lat_us * 1e-6


def buckets(layers, bucket_bytes):
    """(lowest layer index, bytes) from the top, cut at layer boundaries."""
    out, size = [], 0.0
    for i in range(len(layers) - 1, -1, -1):
        size += layers[i].get("param_bytes", 0)
        if size > 0 and (size >= bucket_bytes or i == 0):
            out.append((i, size))
            size = 0.0
    return out


def step_time(profile, cluster, gpus, k=1, batch=None, bucket_mb=16.0, grad_bytes=4,
              overlap=True, update_gbs=100.0):
    """Seconds per step for `gpus` GPUs as gpus/k replicas of k partitions."""
    layers = profile["layers"]
    batch = batch or profile["batch"]
    scale = batch / profile["batch"] / k
    fwd = [l["forward_ms"] * 1e-3 * scale for l in layers]
    bwd = [l["backward_ms"] * 1e-3 * scale for l in layers]
    cut = 2 * profile.get("cut_bytes", 0) * batch / (cluster["intra_gbs"] * 1e9) if k > 1 else 0.0
    replicas = gpus // k
    per_node = max(1, cluster["gpus_per_node"] // k)
    nodes = max(1, math.ceil(replicas / per_node))
    local = min(replicas, per_node)
    share = max(1.0, local * k / cluster.get("compute_slots", float("inf")))
    fwd = [f * share for f in fwd]
    bwd = [b * share for b in bwd]
    forward = sum(fwd) + cut / 2
    # Backward layer by layer from the top; ready time of each layer's end.
    done, t = {}, forward
    for i in range(len(layers) - 1, -1, -1):
        t += bwd[i]
        done[i] = t
    backward_end = t + cut / 2
    end = forward
    for lowest, size in buckets(layers, bucket_mb * 2**20):
        s = size / k * grad_bytes / 4.0
        if cluster.get("exchange") == "host":
            inside = host_star(local, s, cluster["host_gbs"], cluster["intra_us"])
        else:
            inside = ring(local, s, cluster["intra_gbs"], cluster["intra_us"])
        cost = inside + \
            across_nodes(nodes, s, cluster["nic_gbits"], cluster["nic_us"])
        if replicas <= 1:
            cost = 0.0
        start = max(done[lowest] if overlap else backward_end, end)
        end = start + cost
    params = sum(l.get("param_bytes", 0) for l in layers) / k
    update = params / (update_gbs * 1e9)
    return max(backward_end, end) + update


def speedup(profile, cluster, gpus, k=1, **kw):
    single = step_time(profile, cluster, 1, 1, **kw)
    t = step_time(profile, cluster, gpus, k, **kw)
    replicas = gpus // k
    return replicas * single / t, t


# Published figures: (what, profile, cluster, gpus, k, overlap, published
# speed-up or efficiency, kind).
PUBLISHED = [
    ("Caffe, 2 GPUs (AlexNet)", "alexnet_k40", "caffe_2xk40", 2, 1, False, 1.8, "speed-up"),
    ("Krizhevsky, 8 K20 (one weird trick)", "alexnet_k20", "krizhevsky_8xk20", 8, 1, False,
     6.25, "speed-up"),
    ("Mariana, 4 K20c, data parallel", "mariana_k20c", "mariana_4xk20c", 4, 1, False, 2.67,
     "speed-up"),
    ("Mariana, 4 K20c, 2 groups x 2 partitions", "mariana_k20c", "mariana_4xk20c", 4, 2, False,
     2.52, "speed-up"),
    ("Horovod, 512 P100, ResNet-101", "resnet101_p100", "horovod_128x4p100", 512, 1, True, 0.90,
     "efficiency"),
    ("Horovod, 512 P100, Inception V3", "inception3_p100", "horovod_128x4p100", 512, 1, True, 0.90,
     "efficiency"),
    ("Horovod, 512 P100, VGG-16", "vgg16_p100", "horovod_128x4p100", 512, 1, True, 0.68,
     "efficiency"),
]


def published_table():
    lines = [f"{'run':<42}{'published':>10}{'predicted':>10}{'error':>8}"]
    worst = 0.0
    for what, prof, clus, gpus, k, overlap, value, kind in PUBLISHED:
        s, _ = speedup(PROFILES[prof], CLUSTERS[clus], gpus, k, overlap=overlap)
        # A layout of k-GPU replicas: s is the speed-up of all its GPUs over one.
        predicted = s / (gpus // k) if kind == "efficiency" else s
        err = (predicted - value) / value
        worst = max(worst, abs(err))
        lines.append(f"{what:<42}{value:>10.2f}{predicted:>10.2f}{100 * err:>7.1f}%")
    lines.append(f"worst error {100 * worst:.1f}% (target 15%)")
    return "\n".join(lines)


def measured_table(profile, cluster, measured, batch, bucket_mb, overlap):
    """Prediction vs measurement; `measured` is "workers:img_s,..."."""
    b = batch or profile["batch"]
    lines = [f"{'workers':>8}{'measured img/s':>16}{'predicted img/s':>17}{'error':>8}"
             f"{'measured x':>12}{'predicted x':>13}"]
    points = [(int(w), float(v)) for w, v in (p.split(":") for p in measured.split(","))]
    base = dict(points).get(1)
    worst = 0.0
    for w, got in points:
        s, t = speedup(profile, cluster, w, 1, batch=batch, bucket_mb=bucket_mb, overlap=overlap)
        predicted = w * b / t
        err = (predicted - got) / got
        worst = max(worst, abs(err))
        ms = f"{got / base:.2f}" if base else "-"
        lines.append(f"{w:>8}{got:>16.0f}{predicted:>17.0f}{100 * err:>7.1f}%{ms:>12}{s:>13.2f}")
    lines.append(f"worst error {100 * worst:.1f}%")
    return "\n".join(lines)


def recommend(profile, cluster, gpus, overlap=True):
    best = None
    # Model parallelism only as far as the profile describes a split (its
    # cut_bytes, max_partitions; default 2 when it has cuts): the perfect
    # split of the compute would otherwise always win.
    max_k = profile.get("max_partitions", 2 if profile.get("cut_bytes") else 1)
    for k in (1, 2, 4, 8):
        if k > max_k or k > cluster["gpus_per_node"] or gpus % k:
            continue
        for bucket in (4, 16, 64):
            for grad in (4, 2):
                s, t = speedup(profile, cluster, gpus, k, bucket_mb=bucket, grad_bytes=grad,
                               overlap=overlap)
                if best is None or s > best[0] * 1.01:
                    best = (s, k, bucket, grad, t)
    s, k, bucket, grad, t = best
    return (f"recommended for {gpus} GPUs: group size {k}, buckets of {bucket} MiB, "
            f"{'BF16' if grad == 2 else 'FP32'} gradients: {s:.1f}x ({t * 1e3:.1f} ms/step)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--profile", default="alexnet_k40")
    ap.add_argument("--cluster", default="horovod_128x4p100")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--gpus", default="1,2,4,8,16,32,64,128,256,512")
    ap.add_argument("--bucket_mb", type=float, default=16.0)
    ap.add_argument("--no_overlap", action="store_true")
    ap.add_argument("--plot", default="")
    ap.add_argument("--published", action="store_true", help="print the validation table only")
    ap.add_argument("--measured", default="")
    args = ap.parse_args()
    if args.published:
        print(published_table())
        return 0
    profile = PROFILES.get(args.profile) or json.load(open(args.profile))
    cluster = CLUSTERS.get(args.cluster) or json.load(open(args.cluster))
    if args.measured:
        print(measured_table(profile, cluster, args.measured, args.batch or None,
                             args.bucket_mb, not args.no_overlap))
        return 0
    sizes = [int(g) for g in args.gpus.split(",")]
    layouts = [("data parallel", 1, 4), ("DP x 2 partitions", 2, 4), ("DP, BF16 gradients", 1, 2)]
    series = {}
    print(f"{'GPUs':>6}" + "".join(f"{name:>26}" for name, _, _ in layouts))
    for g in sizes:
        if g > cluster["gpus_per_node"] * cluster.get("max_nodes", 1):
            continue
        row = f"{g:>6}"
        for name, k, grad in layouts:
            if g % k:
                row += f"{'-':>26}"
                continue
            s, t = speedup(profile, cluster, g, k, batch=args.batch or None,
                           bucket_mb=args.bucket_mb, grad_bytes=grad,
                           overlap=not args.no_overlap)
            b = args.batch or profile["batch"]
            series.setdefault(name, []).append((g, s))
            row += f"{f'{s:.1f}x {(g // k) * b / t:.0f} img/s':>26}"
        print(row)
    print(recommend(profile, cluster, max(g for g in sizes
                                          if g <= cluster["gpus_per_node"] * cluster.get("max_nodes", 1)),
                    overlap=not args.no_overlap))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, pts in series.items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
        ax.plot(sizes, sizes, linestyle=":", color="grey", label="linear")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xlabel("GPUs")
        ax.set_ylabel("speed-up over one GPU")
        ax.set_title(f"{args.profile} on {args.cluster}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
