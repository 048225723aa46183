#!/usr/bin/env bash
# Installs every Debian package Banyan needs to build, test and run its demo.
# Idempotent and non-interactive; skips apt entirely when everything is present.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  libprotobuf-dev protobuf-compiler
  liblmdb-dev libgflags-dev libgoogle-glog-dev
  libgtest-dev libgmock-dev
  libopenblas-dev libdnnl-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libturbojpeg0-dev zlib1g-dev libpng-dev
  libhdf5-dev                     # the HDF5Data layer
  libopencv-dnn-dev python3-onnx  # export tests only: an ONNX runtime and checker
  openmpi-bin libopenmpi-dev      # multi-process training (mpirun) and its tests
  clang-14 libclang-rt-14-dev libomp-14-dev libfuzzer-14-dev  # sanitizer and fuzz builds
  python3-matplotlib              # benchmarks/plot_*.py and `banyan train --plot`
  dataset-fashion-mnist
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
