#!/usr/bin/env bash
# Builds the CUDA backend for the GPU host and packs one GPU session
# (scripts/gpu_session.sh, docs/gpu-session.md) into .gpu/:
#   .gpu/gpu/       ../shared/gpu (bundle.sh, run.sh), copied beside the bundles
#   .gpu/b.tgz      the executables, stripped, with their non-CUDA libraries:
#                   banyan, train_bench, pipeline_bench, exchange_bench,
#                   scaling_bench, make_synthetic_imageset and the test suites
#                   cuda, layers, engine, core, workers, exchange, pipeline,
#                   export; plus models/, benchmarks/, tests/fixtures,
#                   gpu_session.sh and bundle_info.txt (source folder, commit)
#   .gpu/data.tgz   the Fashion-MNIST LMDBs (a plain tar.gz of train_lmdb and
#                   test_lmdb), which only the train part needs
#   .gpu/train.tgz  banyan, models/, gpu_session.sh: the train part's bundle,
#                   since b.tgz + data.tgz come to about all that may travel
#                   in one device call (64 MiB)
# (Should the LMDBs ever fit into b.tgz under the 60 MiB a bundle may have,
# they go in there instead, with no data.tgz or train.tgz; the script says so.)
# The build goes to its own folder, build-gpu (sm_90 only: H100/H200, Ninja,
# niced); build/ is not touched.  A build without the CUDA backend is refused.
#
# Then one device `run` call per part, from the repository root, timeout_s 600:
#   tests | bench | scale:
#     carry   [".gpu/gpu", ".gpu/b.tgz"]
#     command bash .gpu/gpu/run.sh .gpu/b.tgz bash gpu_session.sh tests   (bench, scale)
#   train:
#     carry   [".gpu/gpu", ".gpu/train.tgz", ".gpu/data.tgz"]
#     command DATA_BUNDLE=$PWD/.gpu/data.tgz bash .gpu/gpu/run.sh .gpu/train.tgz bash gpu_session.sh train
#     (run.sh changes into the unpacked bundle, so gpu_session.sh learns where
#     data.tgz is from DATA_BUNDLE, an absolute path set before run.sh)
# Never carry the whole ".gpu" folder: it is over the 64 MiB.  The script
# prints every size and what each call carries in all, and stops when a call
# would carry too much.
# Results come back in $OUT: summary.txt, results.tgz, compare.txt.
# Needs ../shared/gpu beside the checkout, the CUDA toolkit (nvcc, cuDNN,
# NCCL) and /usr/share/datasets/fashion-mnist (scripts/install_deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "gpu_bundle.sh: $*" >&2; exit 1; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
build="build-gpu"
limit=$((60 * 1024 * 1024))         # what ../shared/gpu/bundle.sh accepts
carry_limit=$((63 * 1024 * 1024))   # the device's 64 MiB, less a margin

[ -x ../shared/gpu/bundle.sh ] && [ -f ../shared/gpu/run.sh ] ||
  die "../shared/gpu (bundle.sh, run.sh) is not beside the checkout"
command -v nvcc > /dev/null || [ -x /usr/local/cuda/bin/nvcc ] ||
  die "refusing: no CUDA toolkit (nvcc) on this machine, so no CUDA build to bundle"
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p .gpu "$(dirname "$exclude")"
grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
[ ! -d .gpu/gpu ] || chmod -R u+w .gpu/gpu
rm -rf .gpu/gpu && cp -r ../shared/gpu .gpu/gpu && chmod -R u+w .gpu/gpu

# --- build: build-gpu, sm_90, CUDA required ---------------------------------
mkdir -p "$build"
if ! nice cmake -S . -B "$build" -G Ninja -DCMAKE_CUDA_ARCHITECTURES=90 \
     -DBANYAN_ENABLE_CUDA=ON > "$build/configure.log" 2>&1; then
  tail -30 "$build/configure.log" >&2
  die "configuring $build failed (log: $build/configure.log)"
fi
grep -q 'Banyan CUDA backend: ON' "$build/configure.log" ||
  die "refusing: $build is configured without the CUDA backend ($(grep -m1 'Banyan CUDA backend' "$build/configure.log" || echo 'no CUDA compiler found')); a GPU bundle needs a CUDA build"
arch=$(sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$build/CMakeCache.txt")
[ "$arch" = 90 ] || die "refusing: $build builds CUDA architectures '$arch', not 90"
nice cmake --build "$build" -j"$(nproc)"
ldd "$build/bin/banyan" | grep -q 'libcudart\.so' ||
  die "refusing: $build/bin/banyan does not link libcudart: not a CUDA build"
if command -v cuobjdump > /dev/null; then
  cuobjdump --list-elf "$build/bin/banyan" 2>/dev/null | grep -q 'sm_90' ||
    die "refusing: $build/bin/banyan holds no sm_90 device code"
fi

# --- executables: every one is required ------------------------------------
exes=()
for b in banyan train_bench pipeline_bench exchange_bench scaling_bench make_synthetic_imageset; do
  exes+=("$build/bin/$b")
done
for t in cuda layers engine core workers exchange pipeline export; do exes+=("$build/tests/${t}_tests"); done
missing=()
for e in "${exes[@]}"; do [ -x "$e" ] || missing+=("$e"); done
[ ${#missing[@]} -eq 0 ] || die "missing from the build: ${missing[*]}"

# --- Fashion-MNIST LMDBs (the train part) ----------------------------------
src=/usr/share/datasets/fashion-mnist
data=out/fashion_mnist
mkdir -p "$data"
for split in train:train t10k:test; do
  name=${split%%:*}; lmdb=$data/${split##*:}_lmdb
  if [ ! -d "$lmdb" ]; then
    [ -f "$src/$name-images-idx3-ubyte.gz" ] ||
      die "no Fashion-MNIST in $src (scripts/install_deps.sh installs dataset-fashion-mnist)"
    "$build/bin/convert_mnist" "$src/$name-images-idx3-ubyte.gz" "$src/$name-labels-idx1-ubyte.gz" "$lmdb"
  fi
done

# --- stage: stripped copies (they keep the bundle small), fixtures, info ---
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/exe" "$stage/extra/tests"
stripped=()
for e in "${exes[@]}"; do
  cp "$e" "$stage/exe/" && strip "$stage/exe/$(basename "$e")"
  stripped+=("$stage/exe/$(basename "$e")")
done
cp -a tests/fixtures "$stage/extra/tests/"
{
  echo "source_dir=$PWD"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo +dirty)"
  echo "built=$(date -u '+%F %T UTC')"
  echo "cuda_arch=$arch"
  echo "nvcc=$( (command -v nvcc > /dev/null && nvcc --version || /usr/local/cuda/bin/nvcc --version) | sed -n 's/.*release \([^,]*\).*/\1/p')"
} > "$stage/extra/bundle_info.txt"
extras=(models benchmarks scripts/gpu_session.sh "$stage/extra/tests" "$stage/extra/bundle_info.txt")

rm -f .gpu/b.tgz .gpu/data.tgz .gpu/train.tgz
.gpu/gpu/bundle.sh .gpu/b.tgz "${stripped[@]}" -- "${extras[@]}"
tar -C "$data" -czf .gpu/data.tgz train_lmdb test_lmdb
main=$(stat -c %s .gpu/b.tgz); lmdbs=$(stat -c %s .gpu/data.tgz); slim=0
if [ $((main + lmdbs)) -le $((limit - 1024 * 1024)) ]; then
  # Room for the LMDBs in the main bundle: one bundle for every part.
  .gpu/gpu/bundle.sh .gpu/b.tgz "${stripped[@]}" -- "${extras[@]}" "$data/train_lmdb" "$data/test_lmdb"
  rm -f .gpu/data.tgz
  main=$(stat -c %s .gpu/b.tgz); lmdbs=0
else
  # b.tgz + data.tgz would be about all the device takes in one call, so the
  # train part gets a bundle of its own: banyan, the models, the session.
  .gpu/gpu/bundle.sh .gpu/train.tgz "$stage/exe/banyan" -- models scripts/gpu_session.sh \
    "$stage/extra/bundle_info.txt"
  slim=$(stat -c %s .gpu/train.tgz)
fi

# --- what travels: the tree (tracked + untracked, not ignored) + the carry --
tree=$(git ls-files -z --cached --others --exclude-standard |
       xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
gpu=$(du -sb .gpu/gpu | cut -f1)
main_total=$((tree + gpu + main))
echo
echo "gpu_bundle.sh: .gpu/b.tgz $(mib "$main") (limit 60 MiB); a tests/bench/scale call carries $(mib "$main_total") in all (limit 64 MiB)"
[ "$main_total" -le "$carry_limit" ] ||
  die "a tests/bench/scale call would carry $(mib "$main_total"), over what the device takes"
if [ "$lmdbs" -gt 0 ]; then
  train_total=$((tree + gpu + slim + lmdbs))
  echo "gpu_bundle.sh: .gpu/data.tgz $(mib "$lmdbs") (the Fashion-MNIST LMDBs: over 60 MiB with b.tgz)"
  echo "gpu_bundle.sh: .gpu/train.tgz $(mib "$slim") (banyan alone, for train); a train call carries $(mib "$train_total") in all"
  [ "$train_total" -le "$carry_limit" ] ||
    die "a train call would carry $(mib "$train_total"), over what the device takes"
else
  echo "gpu_bundle.sh: the Fashion-MNIST LMDBs are inside b.tgz: no data.tgz, train runs like tests"
fi
echo "gpu_bundle.sh: the working tree itself is $(mib "$tree") of that (tracked + untracked files)"
cat <<EOF

Device runs (one call each, timeout_s 600; see docs/gpu-session.md):
  carry [".gpu/gpu", ".gpu/b.tgz"]
    bash .gpu/gpu/run.sh .gpu/b.tgz bash gpu_session.sh tests
    bash .gpu/gpu/run.sh .gpu/b.tgz bash gpu_session.sh bench
    bash .gpu/gpu/run.sh .gpu/b.tgz bash gpu_session.sh scale
EOF
if [ "$lmdbs" -gt 0 ]; then
  cat <<'EOF'
  carry [".gpu/gpu", ".gpu/train.tgz", ".gpu/data.tgz"]
    DATA_BUNDLE=$PWD/.gpu/data.tgz bash .gpu/gpu/run.sh .gpu/train.tgz bash gpu_session.sh train
EOF
else
  echo "    bash .gpu/gpu/run.sh .gpu/b.tgz bash gpu_session.sh train"
fi
