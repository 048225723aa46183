#!/usr/bin/env bash
# Scaling of training throughput over worker layouts (scaling_bench), then
# the table and plot (plot_scaling.py).  GPU mode: every GPU of the host
# (AlexNet, global batch 256); with one GPU, four logical workers 0,0,0,0
# (engine overhead; the target is 4x1:64 >= 0.85x of 1x1:256).  --cpu: small
# nets on CPU workers (Fashion-MNIST data parallel, AlexNet-2col at 67x67
# for the partitions), plus AlexNet-2col's per-worker memory at batch 256.
# Usage: benchmarks/run_scaling.sh [--cpu] [path to scaling_bench, default build/bin/scaling_bench]
# (PYTHON=... picks the interpreter that has matplotlib; without it: table only).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=gpu
if [ "${1:-}" = "--cpu" ]; then
  mode=cpu
  shift
fi
bench=${1:-build/bin/scaling_bench}
out=out/bench/scaling
mkdir -p "$out"
results=$out/$mode.jsonl
: > "$results"
twocol=models/alexnet_2col/train_val.prototxt
status=0

if [ "$mode" = gpu ]; then
  gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
  case "$gpus" in
    0) echo "run_scaling.sh: no GPU found (use --cpu)" >&2; exit 2 ;;
    1) devices=0,0,0,0; layouts=1x1:256,2x1:128,4x1:64,1x2:256,2x2:128 ;;
    2|3) devices=0,1; layouts=1x1:256,2x1:128,1x2:256 ;;
    *) devices=$(seq -s, 0 $((gpus - 1)))
       layouts=1x1:256,2x1:128,4x1:64,1x2:256,2x2:128
       [ "$gpus" -ge 8 ] && layouts=$layouts,8x1:32,4x2:64 ;;
  esac
  "$bench" --devices="$devices" --layouts="$layouts" --warmup=5 --iterations=20 \
    >> "$results" || status=1
else
  # Two shared cores: one OpenBLAS thread per worker, so 4 workers do not
  # oversubscribe them 4 times over.
  "$bench" --devices=cpu,cpu,cpu,cpu --blas_threads=1 --warmup=2 --iterations=5 \
    --model=models/fashion_mnist/train_val.prototxt --channels=1 --size=28 \
    --layouts=1x1:64,2x1:32,4x1:16 >> "$results" || status=1
  "$bench" --devices=cpu,cpu,cpu,cpu --blas_threads=1 --warmup=1 --iterations=3 \
    --model="$twocol" --model_parallel_model="$twocol" --size=67 \
    --layouts=1x1:16,1x2:16,2x1:8,2x2:8 >> "$results" || status=1
  "$bench" --devices=cpu,cpu --memory_only --model="$twocol" --model_parallel_model="$twocol" \
    --layouts=1x1:256,1x2:256 >> "$results" || status=1
fi
"${PYTHON:-python3}" benchmarks/plot_scaling.py "$results" --out "$out/$mode.png" || status=1
exit $status
