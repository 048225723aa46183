#!/usr/bin/env bash
# AlexNet training throughput on GPU 0, Banyan and PyTorch side by side in
# one run: Caffe AlexNet (models/alexnet) and torchvision's one-column
# AlexNet (models/alexnet_owt), batch 256 and 128, FP32 / TF32 (/ BF16 when
# the solver supports it), synthetic inputs on the GPU.  Writes
# out/bench/{banyan,pytorch}.jsonl and prints the ratio table.
# Usage: benchmarks/run_alexnet.sh [path to train_bench, default build/bin/train_bench]
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:-build/bin/train_bench}
mkdir -p out/bench
: > out/bench/banyan.jsonl
for net in caffe_alexnet:models/alexnet/train_val.prototxt torchvision_alexnet:models/alexnet_owt/train_val.prototxt; do
  name=${net%%:*}; model=${net#*:}
  for batch in 256 128; do
    for mode in FP32 TF32 BF16; do
      tf32=false; precision=FP32
      [ "$mode" = TF32 ] && tf32=true
      [ "$mode" = BF16 ] && precision=BF16
      "$bench" --model="$model" --name="$name" --devices=0 --batch="$batch" \
        --precision="$precision" --tf32="$tf32" | sed "s/\"precision\":\"FP32\",\"tf32\":true/\"precision\":\"TF32\",\"tf32\":true/" \
        >> out/bench/banyan.jsonl || echo "banyan $name $batch $mode failed" >&2
    done
  done
done
python3 benchmarks/pytorch_alexnet.py > out/bench/pytorch.jsonl || true
python3 benchmarks/compare.py out/bench/banyan.jsonl out/bench/pytorch.jsonl
