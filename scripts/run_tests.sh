#!/usr/bin/env bash
# Sets up and runs the whole test suite on a fresh Debian machine: installs
# the packages, checks that the CPU-only configuration compiles, builds the
# default configuration (with the CUDA backend when the toolkit is installed)
# and runs every test with CTest.  GPU tests skip themselves without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
jobs=$(nproc)

# CPU-only configuration: must compile (no CUDA toolkit involved).
cmake -S . -B build-cpu -G Ninja -DBANYAN_ENABLE_CUDA=OFF -DBANYAN_BUILD_TESTS=OFF >/dev/null
cmake --build build-cpu -j"$jobs"

# Default configuration: CUDA when available, all tests.
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
