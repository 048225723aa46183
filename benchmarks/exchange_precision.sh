#!/usr/bin/env bash
# The effect of exchange_precision (16-bit gradients between processes) on
# accuracy: Fashion-MNIST (models/fashion_mnist, Debian package
# dataset-fashion-mnist) trained by 2 processes under mpirun, one CPU
# worker of batch 64 each (global batch 128, the recipe's), once per wire
# type (FP32, BF16, FP16), then the final weights tested on the 10,000 test
# images.  Same samples and, per seed, the same seed: the wire type is the only
# difference.  The schedule is the recipe's shortened to --iterations
# (default 2000; the learning rate drops at 60% and 87% of it, like
# 4200/6100 of 7000).  Needs a build with MPI and Open MPI's mpirun.
# --seeds="1 2 3" repeats every wire type per seed (random_seed: the
# initial weights and whatever else is random), which shows how
# far runs differ for reasons other than the wire.
#   benchmarks/exchange_precision.sh [--iterations=N] [--wires="FP32 BF16 FP16"] [--seeds="1"]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=2000
wires="FP32 BF16 FP16"
seeds=1
for a in "$@"; do
  case $a in
    --iterations=*) iterations=${a#*=} ;;
    --wires=*) wires=${a#*=} ;;
    --seeds=*) seeds=${a#*=} ;;
    *) echo "unknown argument $a" >&2; exit 2 ;;
  esac
done
banyan=${BANYAN:-build/bin/banyan}  # a copy keeps a rebuild from changing a run
scripts/fashion_mnist_lmdb.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
work=out/exchange_precision
mkdir -p "$work"
sed 's/batch_size: 128/batch_size: 64/' models/fashion_mnist/train_val.prototxt > "$work/net.prototxt"
printf '%-6s %5s %10s %10s %8s\n' wire seed accuracy loss wall_s | tee "$work/results.txt"
for seed in $seeds; do
for wire in $wires; do
  run=${wire}_seed$seed
  solver=$work/solver_$run.prototxt
  cat > "$solver" <<SOLVER
net: "$work/net.prototxt"
test_iter: 100
test_interval: $iterations
test_initialization: false
base_lr: 0.05
momentum: 0.9
weight_decay: 0.0005
lr_policy: "multistep"
gamma: 0.1
stepvalue: $(( iterations * 60 / 100 ))
stepvalue: $(( iterations * 87 / 100 ))
max_iter: $iterations
display: 500
snapshot: 0
snapshot_prefix: "$work/$run"
random_seed: $seed
exchange_precision: EXCHANGE_$wire
SOLVER
  start=$(date +%s)
  mpirun --oversubscribe --bind-to none -np 2 "$banyan" train --solver="$solver" --devices=cpu \
    > "$work/train_$run.log" 2>&1
  wall=$(( $(date +%s) - start ))
  "$banyan" test --model="$work/net.prototxt" --weights="$work/${run}_iter_$iterations.banyan" \
    --devices=cpu --iterations=100 > "$work/test_$run.log" 2>&1
  acc=$(grep -o 'accuracy = [0-9.]*' "$work/test_$run.log" | tail -1 | awk '{print $3}')
  loss=$(grep -o 'loss = [0-9.]*' "$work/test_$run.log" | tail -1 | awk '{print $3}')
  printf '%-6s %5s %10s %10s %8s\n' "$wire" "$seed" "$acc" "$loss" "$wall" | tee -a "$work/results.txt"
done
done
