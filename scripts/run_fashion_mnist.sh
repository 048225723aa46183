#!/usr/bin/env bash
# The main job: on a fresh Debian machine, installs what is needed, builds
# Banyan, converts Fashion-MNIST (Debian package dataset-fashion-mnist) to
# LMDB, trains models/fashion_mnist on the GPU when one is usable (else the
# CPU) and prints the test accuracy of the final weights.
# Extra arguments go to `banyan train` (e.g. --iterations=1000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j"$(nproc)" --target banyan convert_mnist

scripts/fashion_mnist_lmdb.sh
out=out/fashion_mnist

devices=cpu
if build/bin/banyan devices 2>/dev/null | grep -q '^cuda:0 '; then devices=0; fi
echo "training on: $devices"
rm -f "$out"/fmnist_iter_*
start=$(date +%s)
build/bin/banyan train --solver=models/fashion_mnist/solver.prototxt --devices="$devices" "$@"
echo "training wall time: $(( $(date +%s) - start )) s"

weights=$(ls -t "$out"/fmnist_iter_*.banyan | head -1)
echo "final weights: $weights"
build/bin/banyan test --model=models/fashion_mnist/train_val.prototxt --weights="$weights" \
  --devices="$devices" --iterations=100 | sed 's/^/test (10,000 images): /'
