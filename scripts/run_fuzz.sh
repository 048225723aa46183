#!/usr/bin/env bash
# Runs every libFuzzer target of a BANYAN_FUZZ=ON build for a bounded time
# from its seed corpus (tests/fuzz/corpus/<name>/, read-only: new inputs go
# to a scratch folder), two at a time.  A crash, leak, timeout or sanitizer
# report fails the run; the input that caused it is kept in
# <build>/fuzz/findings/<name>/ to be added to tests/fuzz/regressions/<name>/.
#   scripts/run_fuzz.sh <build dir> [seconds per target, default 30]
# The mutation seed is fixed (BANYAN_FUZZ_SEED, default 1) so a CI run
# retraces the same inputs for the same code; set another to explore.
# Prints per target: executions, coverage (cov: edges, ft: features), corpus.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/run_fuzz.sh <build dir> [seconds]}
seconds=${2:-30}
out=$build/fuzz/runs
rm -rf "$out"
mkdir -p "$out"
names=$(ls tests/fuzz/corpus)
run_one() {
  local name=$1 scratch=$out/$1.corpus findings=$build/fuzz/findings/$1
  mkdir -p "$scratch" "$findings"
  # -rss_limit_mb: an input that makes a reader ask for gigabytes is a finding.
  "$build/fuzz/${name}_fuzz" -seed="${BANYAN_FUZZ_SEED:-1}" -max_total_time="$seconds" \
      -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$findings/" "$scratch" "tests/fuzz/corpus/$name" \
      >"$out/$name.log" 2>&1
  echo $? >"$out/$name.rc"
}
export -f run_one
export out build seconds
printf '%s\n' $names | xargs -P 2 -I{} bash -c 'run_one {}'
failed=0
printf '%-14s %12s %8s %8s %8s  %s\n' target execs cov ft corpus result
for name in $names; do
  log=$out/$name.log
  rc=$(cat "$out/$name.rc" 2>/dev/null || echo 1)
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
  line=$(grep -E '#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
  cov=$(echo "$line" | grep -o 'cov: [0-9]*' | awk '{print $2}')
  ft=$(echo "$line" | grep -o 'ft: [0-9]*' | awk '{print $2}')
  corpus=$(echo "$line" | grep -o 'corp: [0-9]*' | awk '{print $2}')
  result=ok
  if [ "$rc" != 0 ]; then
    result="FAILED (exit $rc): $(grep -m1 -E 'ERROR|==[0-9]+==|runtime error|Check failed|F[0-9]{4}' "$log")"
    failed=1
  fi
  printf '%-14s %12s %8s %8s %8s  %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$result"
done
if [ "$failed" != 0 ]; then
  echo "run_fuzz: a target failed; logs in $out, inputs in $build/fuzz/findings" >&2
  for name in $names; do
    [ "$(cat "$out/$name.rc")" = 0 ] || { echo "--- $name"; tail -40 "$out/$name.log"; } >&2
  done
fi
exit $failed
