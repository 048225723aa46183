#!/usr/bin/env bash
# Sets up and runs the whole test suite on a fresh Debian machine: installs
# the packages, builds the default configuration (with the CUDA backend when
# the toolkit is installed) and runs every test with CTest (GPU tests skip
# themselves without a GPU); then the reliability builds (docs/reliability.md):
#   build-asan  CPU-only, clang, AddressSanitizer + UndefinedBehaviorSanitizer
#               and libFuzzer coverage: the whole CPU suite, every fuzz seed
#               and kept crash replayed, then each fuzz target for
#               BANYAN_FUZZ_SECONDS (default 20) from its corpus;
#   build-tsan  CPU-only, clang, ThreadSanitizer: the threaded parts'
#               suites (pipeline, workers, exchange, engine/solver).
# Any sanitizer report fails its test.  BANYAN_SKIP_SANITIZERS=1 runs only
# the default configuration.  The last line sums every run up (each fuzz
# target counts as one test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
jobs=$(nproc)
t0=$SECONDS
stamp() { echo "run_tests: $1 done at $((SECONDS - t0)) s"; }
passed=0 failed=0 skipped=0
summary() { echo "run_tests: $passed passed, $failed failed, $skipped skipped"; }
# ctest_counted <build dir> [ctest args...]: runs the suite, adds its counts.
ctest_counted() {
  local log
  log=$(mktemp)
  local rc=0
  ctest --test-dir "$@" --output-on-failure -j"$jobs" 2>&1 | tee "$log" || rc=$?
  local total fail skip
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  fail=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
  skip=$(grep -c '(Skipped)$' "$log" || true)
  rm -f "$log"
  passed=$((passed + ${total:-0} - ${fail:-0} - skip))
  failed=$((failed + ${fail:-0}))
  skipped=$((skipped + skip))
  if [ "$rc" != 0 ]; then
    summary
    exit "$rc"
  fi
}

# Default configuration: CUDA when available, all tests.  The device code
# is built for one architecture here (sm_90, the H100/H200 the GPU sessions
# run on; BANYAN_CUDA_ARCHITECTURES overrides): the test job checks that it
# compiles, and one architecture halves the nvcc time.
cmake -S . -B build -G Ninja -DCMAKE_CUDA_ARCHITECTURES="${BANYAN_CUDA_ARCHITECTURES:-90}" \
  >/dev/null
cmake --build build -j"$jobs"
ctest_counted build
stamp "default build and tests"
if [ "${BANYAN_SKIP_SANITIZERS:-0}" = 1 ]; then
  summary
  exit 0
fi

sanitized() {  # sanitized <build dir> <sanitizers> [cmake args...]
  local dir=$1 sanitizers=$2
  shift 2
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DBANYAN_ENABLE_CUDA=OFF \
      -DBANYAN_ENABLE_MPI=OFF -DBANYAN_BUILD_BENCHMARKS=OFF -DBANYAN_SANITIZE="$sanitizers" \
      "$@" >/dev/null
}
supp=$PWD/tests/sanitizers
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
# allocator_may_return_null: an allocation too large to make returns null, as
# it does without ASan, so the out-of-memory errors are tested the same way.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"

# AddressSanitizer + UBSan: the CPU-only configuration, every CPU test.
sanitized build-asan address,undefined -DBANYAN_FUZZ=ON
cmake --build build-asan -j"$jobs"
ctest_counted build-asan
stamp "ASan+UBSan build and tests"
fuzz_rc=0
scripts/run_fuzz.sh build-asan "${BANYAN_FUZZ_SECONDS:-20}" || fuzz_rc=$?
targets=$(ls tests/fuzz/corpus | wc -l)
bad=$(grep -L '^0$' build-asan/fuzz/runs/*.rc 2>/dev/null | wc -l)
passed=$((passed + targets - bad))
failed=$((failed + bad))
stamp "fuzzing"
if [ "$fuzz_rc" != 0 ]; then
  summary
  exit "$fuzz_rc"
fi

# ThreadSanitizer: the threaded parts.  OpenMP's runtime is not
# instrumented, so its threads are kept to one; Banyan's own threads (the
# pipeline's stages, the workers, the exchange) are what is checked.
sanitized build-tsan thread -DBANYAN_TEST_SUITES="pipeline;workers;exchange;engine"
cmake --build build-tsan -j"$jobs"
export OMP_NUM_THREADS=1 BANYAN_CPU_THREADS=1
ctest_counted build-tsan
stamp "TSan build and tests"
summary
