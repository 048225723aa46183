#!/usr/bin/env bash
# One GPU session's checks, run from the unpacked bundle's files/ folder on the
# GPU host (see scripts/gpu_bundle.sh): the GPU device list, every GPU test,
# per-layer AlexNet timing, the AlexNet throughput benchmark beside PyTorch
# (when the host has it) and Fashion-MNIST trained on the GPU.  Logs go to
# $OUT (or ./out); the summary comes last.  Each step has its own time limit,
# so one hang does not eat the session.  A device call has 600 s at most, so
# the checks come in parts, one call each: `gpu_session.sh tests` (every GPU
# test), `bench` (per-layer timing, AlexNet vs PyTorch), `scale` (topology,
# exchange, scaling, pipeline, AlexNet end to end from LMDB), `train`
# (Fashion-MNIST on the GPU); default: all, for a host without that limit.
set -uo pipefail
parts=${1:-tests,bench,scale,train}
want() { [[ ",$parts," == *",$1,"* ]]; }
out=${OUT:-out}; mkdir -p "$out"
summary=()
step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  summary+=("$(printf '%-22s rc=%-3s %4ss  %s' "$name" "$rc" "$(( $(date +%s) - t0 ))" \
    "$(grep -E 'PASSED|FAILED|SKIPPED|accuracy|img/s' "$out/$name.log" | tail -2 | tr '\n' ' ' | cut -c1-90)")")
}
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1
step devices 60 banyan devices
if want tests; then
for t in cuda layers engine core workers exchange pipeline export; do
  [ -x "$B/bin/${t}_tests" ] || continue
  filter='*'; [ "$t" = cuda ] || filter='*Gpu*:*GPU*:*Context*:*Nccl*'
  step "test_$t" 400 "$B/bin/${t}_tests" --gtest_filter="$filter" --gtest_brief=1
done
fi
if want bench; then
step time_alexnet 300 banyan time --model=models/alexnet/train_val.prototxt --synthetic \
  --devices=0 --iterations=10
(
  : > "$out/banyan.jsonl"
  for net in caffe_alexnet:models/alexnet/train_val.prototxt \
             torchvision_alexnet:models/alexnet_owt/train_val.prototxt; do
    for batch in 256 128; do
      for tf32 in false true; do
        train_bench --model="${net#*:}" --name="${net%%:*}" --devices=0 --batch="$batch" \
          --tf32="$tf32" >> "$out/banyan.jsonl" || echo "failed ${net%%:*} $batch tf32=$tf32"
      done
    done
  done
) > "$out/bench_banyan.log" 2>&1
summary+=("bench_banyan: $(wc -l < "$out/banyan.jsonl") configurations")
if python3 -c 'import torch' 2>/dev/null; then
  step bench_pytorch 450 python3 benchmarks/pytorch_alexnet.py
  cp "$out/bench_pytorch.log" "$out/pytorch.jsonl"
  python3 benchmarks/compare.py "$out/banyan.jsonl" "$out/pytorch.jsonl" > "$out/compare.txt" 2>&1
else
  summary+=("bench_pytorch: no torch on this host")
fi
fi
if want scale; then
step devices_topo 60 banyan devices --devices=0,0,0,0
step exchange_bench 300 exchange_bench --backend=tree --devices=0,0,0,0
if [ "$(nvidia-smi -L | grep -c '^GPU')" -gt 1 ]; then
  step exchange_bench_nccl 300 exchange_bench --backend=nccl --devices="$(seq -s, 0 $(( $(nvidia-smi -L | grep -c '^GPU') - 1 )))"
fi
step scaling 400 bash benchmarks/run_scaling.sh "$B/bin/scaling_bench"
cp -r out/bench/scaling "$out/" 2>/dev/null
step synth_lmdb 300 make_synthetic_imageset --output=synth_lmdb --count=20000 --size=256
step pipeline_bench 300 pipeline_bench --source=synth_lmdb
# End to end: AlexNet from the JPEG LMDB through the pipeline vs synthetic
# inputs already on the GPU (target: >= 90% of min(compute, pipeline)).
step e2e_lmdb 300 train_bench --model=models/alexnet/train_val.prototxt --devices=0 \
  --batch=256 --source=synth_lmdb --iterations=30
step e2e_synthetic 300 train_bench --model=models/alexnet/train_val.prototxt --devices=0 \
  --batch=256 --iterations=30
fi
if want train; then
mkdir -p out/fashion_mnist
for l in train_lmdb test_lmdb; do ln -sfn "$PWD/$l" "out/fashion_mnist/$l"; done
step fashion_mnist 600 banyan train --solver=models/fashion_mnist/solver.prototxt --devices=0
weights=$(ls -t out/fashion_mnist/fmnist_iter_*.banyan 2>/dev/null | head -1)
[ -n "$weights" ] && step fashion_mnist_test 120 banyan test \
  --model=models/fashion_mnist/train_val.prototxt --weights="$weights" --devices=0 --iterations=100
fi
printf '%s\n' "${summary[@]}"
cat "$out/compare.txt" 2>/dev/null || cat "$out/banyan.jsonl"
