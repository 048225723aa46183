#!/usr/bin/env bash
# Packs everything one GPU session needs into .gpu/b.tgz: the CUDA build's
# executables with their libraries, the models, the benchmark scripts, the
# Fashion-MNIST LMDBs and scripts/gpu_session.sh, which runs the GPU tests,
# the benchmarks and the GPU Fashion-MNIST training in a few device calls:
#   scripts/gpu_bundle.sh && (device) bash .gpu/gpu/run.sh .gpu/b.tgz bash gpu_session.sh tests
#   (then `bench`, `scale`, `train`: one device call each, see gpu_session.sh)
# Needs ../shared/gpu (bundle.sh, run.sh) beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu/gpu && cp -r ../shared/gpu .gpu/gpu
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j"$(nproc)"
src=/usr/share/datasets/fashion-mnist
data=out/fashion_mnist
mkdir -p "$data"
for split in train:train t10k:test; do
  name=${split%%:*}; lmdb=$data/${split##*:}_lmdb
  [ -d "$lmdb" ] || build/bin/convert_mnist "$src/$name-images-idx3-ubyte.gz" \
    "$src/$name-labels-idx1-ubyte.gz" "$lmdb"
done
exes=(build/bin/banyan build/bin/train_bench)
for t in cuda layers engine core workers exchange pipeline; do exes+=("build/tests/${t}_tests"); done
for b in build/bin/pipeline_bench build/bin/exchange_bench build/bin/scaling_bench \
         build/bin/make_synthetic_imageset; do
  if [ -x "$b" ]; then exes+=("$b"); fi
done
# Stripped copies keep the bundle under the device's 64 MiB carry limit.
exe_dir=$(mktemp -d); trap 'rm -rf "$exe_dir"' EXIT
stripped=()
for e in "${exes[@]}"; do
  cp "$e" "$exe_dir/" && strip "$exe_dir/$(basename "$e")" && stripped+=("$exe_dir/$(basename "$e")")
done
.gpu/gpu/bundle.sh .gpu/b.tgz "${stripped[@]}" -- models benchmarks scripts/gpu_session.sh "$data/train_lmdb" "$data/test_lmdb"
