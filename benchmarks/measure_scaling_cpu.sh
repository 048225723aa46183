#!/usr/bin/env bash
# Checks benchmarks/plan_scaling.py against runs measured on this machine:
# Fashion-MNIST (models/fashion_mnist) trained by 1, 2 and 4 processes
# under mpirun, one CPU worker of batch 64 and one BLAS thread each, and the
# model's prediction for the same layout from
#   - the per-layer profile of one worker (`banyan time --json`, 1 thread),
#   - the cross-process sum's bandwidth at the gradients' size
#     (`mpirun -np 2 exchange_bench`, ProcessComm::sum),
#   - the machine's cores as compute_slots (the workers share them).
# Prints the table of plan_scaling.py --measured.  Run it on a quiet machine.
#   benchmarks/measure_scaling_cpu.sh [--iterations=300] [--processes="1 2 4"]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=300
processes="1 2 4"
for a in "$@"; do
  case $a in
    --iterations=*) iterations=${a#*=} ;;
    --processes=*) processes=${a#*=} ;;
    *) echo "unknown argument $a" >&2; exit 2 ;;
  esac
done
bin=build/bin
scripts/fashion_mnist_lmdb.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
work=out/measure_scaling_cpu
mkdir -p "$work"
sed 's/batch_size: 128/batch_size: 64/' models/fashion_mnist/train_val.prototxt > "$work/net.prototxt"
cat > "$work/solver.prototxt" <<SOLVER
net: "$work/net.prototxt"
base_lr: 0.01
momentum: 0.9
lr_policy: "fixed"
max_iter: $iterations
display: 50
snapshot: 0
snapshot_after_train: false
snapshot_prefix: "$work/run"
random_seed: 1
SOLVER

# 1. One worker's per-layer profile.
$bin/banyan time --model="$work/net.prototxt" --devices=cpu --iterations=20 \
  --json="$work/profile.json" > "$work/time.log" 2>&1
param_bytes=$(python3 -c "import json; print(int(sum(l['param_bytes'] for l in json.load(open('$work/profile.json'))['layers'])))")

# 2. The cross-process sum at the gradients' size (rounded to a power of 4).
size=4096
while [ $(( size * 4 )) -le "$param_bytes" ]; do size=$(( size * 4 )); done
mpirun --oversubscribe --bind-to none -np 2 $bin/exchange_bench --min_bytes=$size --max_bytes=$size \
  > "$work/mpi_sum.json" 2> "$work/mpi_sum.log"
busbw=$(python3 -c "import json; print(json.load(open('$work/mpi_sum.json'))['results'][0]['busbw_GBps'])")
cores=$(nproc)
cat > "$work/cluster.json" <<CLUSTER
{"gpus_per_node": 64, "intra_gbs": $busbw, "intra_us": 20, "compute_slots": $cores,
 "nic_gbits": 10, "nic_us": 50, "max_nodes": 1}
CLUSTER

# 3. The runs: img/s of the second half of the displays (after warm-up).
measured=""
for p in $processes; do
  mpirun --oversubscribe --bind-to none -np "$p" $bin/banyan train --solver="$work/solver.prototxt" \
    --devices=cpu > "$work/train_$p.log" 2>&1
  imgs=$(grep -o 'iter/s, [0-9.]* img/s' "$work/train_$p.log" | awk '{print $2}' | \
    awk '{v[NR]=$1} END {n=0; s=0; for (i=int(NR/2)+1; i<=NR; i++) {s+=v[i]; n++} print s/n}')
  measured="$measured${measured:+,}$p:$imgs"
done
echo "profile: one worker, batch 64, $(grep -o 'forward+backward [0-9.]* ms' "$work/time.log"); \
gradients $param_bytes bytes; MPI sum busbw $busbw GB/s at $size bytes; $cores cores"
python3 benchmarks/plan_scaling.py --profile="$work/profile.json" --cluster="$work/cluster.json" \
  --measured="$measured" | tee "$work/results.txt"
