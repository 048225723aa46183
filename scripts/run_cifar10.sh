#!/usr/bin/env bash
# Trains Caffe's CIFAR-10 example nets (models/cifar10, quick or full) from
# CIFAR-10's binary batches, or from a learnable synthetic CIFAR-style set
# when none are given (no download needed; accuracy then says nothing about
# CIFAR-10).  Writes out/cifar10/{train,test} LMDBs and the mean file, trains
# on the GPU when one is usable (else the CPU), prints the test accuracy and
# draws the training curves (out/cifar10/<net>_curves.png).
# Usage: scripts/run_cifar10.sh [--cifar_dir=DIR] [--net=quick|full] [banyan train flags...]
#   DIR holds data_batch_1.bin ... data_batch_5.bin and test_batch.bin
#   (cifar-10-binary.tar.gz from the CIFAR-10 site, unpacked).
set -euo pipefail
cd "$(dirname "$0")/.."
cifar_dir="" net=quick
args=()
for a in "$@"; do
  case "$a" in
    --cifar_dir=*) cifar_dir="${a#--cifar_dir=}" ;;
    --net=*) net="${a#--net=}" ;;
    *) args+=("$a") ;;
  esac
done
case "$net" in quick|full) ;; *) echo "run_cifar10: --net must be quick or full, got '$net'" >&2; exit 2 ;; esac
scripts/install_deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j"$(nproc)" --target banyan convert_cifar compute_mean

out=out/cifar10
mkdir -p "$out"
if [ -n "$cifar_dir" ]; then
  train=("$cifar_dir"/data_batch_{1,2,3,4,5}.bin) test=("$cifar_dir/test_batch.bin")
else
  echo "run_cifar10: no --cifar_dir; using a synthetic CIFAR-style set (50,000 + 10,000 images)"
  build/bin/convert_cifar --synthetic=50000 --seed=1 "$out/synthetic_train.bin"
  build/bin/convert_cifar --synthetic=10000 --seed=2 "$out/synthetic_test.bin"
  train=("$out/synthetic_train.bin") test=("$out/synthetic_test.bin")
fi
build/bin/convert_cifar --overwrite "${train[@]}" "$out/cifar10_train_lmdb"
build/bin/convert_cifar --overwrite "${test[@]}" "$out/cifar10_test_lmdb"
build/bin/compute_mean "$out/cifar10_train_lmdb" "$out/mean.binaryproto"

devices=cpu
if build/bin/banyan devices 2>/dev/null | grep -q '^cuda:0 '; then devices=0; fi
echo "training cifar10_$net on: $devices"
rm -f "$out/cifar10_${net}_iter_"* "$out/cifar10_${net}_metrics.jsonl"
build/bin/banyan train --solver="models/cifar10/cifar10_${net}_solver.prototxt" \
  --devices="$devices" --plot="$out/cifar10_${net}_curves.png" ${args[@]+"${args[@]}"}
weights=$(ls -t "$out/cifar10_${net}_iter_"*.banyan | head -1)
build/bin/banyan test --model="models/cifar10/cifar10_${net}_train_test.prototxt" \
  --weights="$weights" --devices="$devices" --iterations=100 | sed 's/^/test (10,000 images): /'
