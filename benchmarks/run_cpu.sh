#!/usr/bin/env bash
# CPU training throughput, Banyan against PyTorch on the same cores in one
# run: the Fashion-MNIST net at batch 128 and Caffe's AlexNet at batch 16,
# synthetic inputs, the same thread count for both.  The two engines take
# turns (Banyan, PyTorch, Banyan, ...) for --rounds rounds so that a slow
# patch of the machine hits both; each round reports the median iteration.
# Writes out/bench/cpu.jsonl and prints, per net, the median images/s of
# each engine over the rounds and their ratio (and Banyan's reference
# backend, the single-threaded BLAS path, when --reference is given).
# Usage: benchmarks/run_cpu.sh [--threads=N] [--rounds=R] [--reference] [--nets=a,b]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc); rounds=3; reference=0; nets=fashion_mnist,caffe_alexnet
for a in "$@"; do
  case $a in
    --threads=*) threads=${a#*=} ;;
    --rounds=*) rounds=${a#*=} ;;
    --reference) reference=1 ;;
    --nets=*) nets=${a#*=} ;;
    *) echo "run_cpu.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
bench=${TRAIN_BENCH:-build/bin/train_bench}
py=${PYTHON:-/usr/bin/python3}
mkdir -p out/bench
out=out/bench/cpu.jsonl
: > "$out"
for net in ${nets//,/ }; do
  case $net in
    fashion_mnist) model=models/fashion_mnist/train_val.prototxt; batch=128; shape="--channels=1 --size=28"; it=30 ;;
    caffe_alexnet) model=models/alexnet/train_val.prototxt; batch=16; shape=""; it=8 ;;
    *) echo "run_cpu.sh: unknown net $net" >&2; exit 2 ;;
  esac
  for ((r = 1; r <= rounds; ++r)); do
    # shellcheck disable=SC2086
    "$bench" --model="$model" --name="$net" --devices=cpu --batch="$batch" $shape \
      --warmup=3 --iterations="$it" --cpu_threads="$threads" 2>/dev/null >> "$out"
    "$py" benchmarks/pytorch_cpu.py --net="$net" --batch="$batch" --threads="$threads" \
      --warmup=3 --iterations="$it" >> "$out"
    if [ "$reference" = 1 ]; then
      # shellcheck disable=SC2086
      "$bench" --model="$model" --name="$net" --devices=cpu --batch="$batch" $shape \
        --warmup=2 --iterations="$it" --cpu_threads="$threads" --cpu_backend=reference \
        2>/dev/null >> "$out"
    fi
  done
done
"$py" - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'net':<14} {'batch':>5} {'threads':>7} {'banyan img/s':>13} {'pytorch img/s':>14} "
      f"{'ratio':>6} {'reference img/s':>16}")
for net in dict.fromkeys(r["name"] for r in rows):
    def med(engine, backend="default"):
        v = [r["images_per_s"] for r in rows if r["name"] == net and r["engine"] == engine
             and r.get("cpu_backend", "default") == backend and "images_per_s" in r]
        return statistics.median(v) if v else float("nan")
    b, p, ref = med("banyan"), med("pytorch"), med("banyan", "reference")
    first = next(r for r in rows if r["name"] == net)
    print(f"{net:<14} {first['batch']:>5} {first.get('threads', 0):>7} {b:>13.1f} {p:>14.1f} "
          f"{b / p:>6.2f} {ref:>16.1f}")
PY
