#!/usr/bin/env bash
# One GPU session's checks, run on the GPU host from the unpacked bundle that
# scripts/gpu_bundle.sh makes (see docs/gpu-session.md).  Four parts, one
# device call each (a call runs one command for at most 600 s):
#   tests  every GPU test suite under BANYAN_REQUIRE_GPU=1, JUnit XML per suite
#   bench  per-layer `banyan time` of AlexNet; Caffe and torchvision AlexNet,
#          FP32, TF32 and BF16, batch 256 and 128 (train_bench) beside PyTorch eager
#          and torch.compile; the compare.py table
#   scale  `banyan devices` for 0,0,0,0; exchange_bench tree on 0,0,0,0;
#          scaling_bench 1x1:256 vs 2x1:128 vs 4x1:64 on one GPU; AlexNet end to
#          end from a synthetic 256x256 JPEG LMDB through the pipeline vs
#          synthetic inputs on the GPU (plus pipeline_bench on that LMDB)
#   train  Fashion-MNIST trained on the GPU, then `banyan test` of the final
#          weights (accuracy and wall time)
#
# How to run, from the repository root here (after scripts/gpu_bundle.sh), one
# device `run` call per part, timeout_s 600:
#   tests | bench | scale:
#     carry   [".gpu/gpu", ".gpu/b.tgz"]
#     command bash .gpu/gpu/run.sh .gpu/b.tgz bash gpu_session.sh tests
#             (or bench, scale; a comma list such as tests,scale runs several
#             parts in one call, each with its own budget: only where the
#             call's limit allows it)
#   train (its own small bundle, banyan alone, and the Fashion-MNIST LMDBs in
#   the second bundle .gpu/data.tgz; run.sh changes into $B/files, so the
#   data bundle is named by an absolute path in DATA_BUNDLE, set before run.sh):
#     carry   [".gpu/gpu", ".gpu/train.tgz", ".gpu/data.tgz"]
#     command DATA_BUNDLE=$PWD/.gpu/data.tgz bash .gpu/gpu/run.sh .gpu/train.tgz bash gpu_session.sh train
#   (when gpu_bundle.sh could fit the LMDBs into b.tgz itself, it makes no
#   data.tgz or train.tgz and says so; then train runs like the other parts.)
# Never carry the whole ".gpu" folder: it is over the 64 MiB one call takes.
#
# Budgets: every part has PART_BUDGET seconds (default 540, under the call's
# 600 s with room for run.sh's unpacking).  Each step runs under `timeout` for
# the smaller of its own limit and what is left of the part's budget (less
# what later steps of the part are promised); a step with less than MIN_STEP
# (5) seconds left is not started and is recorded as SKIP-BUDGET, a failure.
# PART_BUDGET=300 (set before run.sh, like DATA_BUNDLE) shortens every part.
# SUITES="layers engine" limits the tests part to those suites (a rerun).
# Tests read fixtures through the source folder compiled into them
# (bundle_info.txt's source_dir); where it does not exist on the host, the
# tests part links it to $B/files, which holds tests/fixtures and models.
#
# Results: $OUT/summary.txt gets one line per step as it goes (status, part,
# step, rc, seconds, details: pass/fail/skip counts and skipped test names for
# test suites), $OUT/results.tgz (refreshed after every step) holds every log,
# junit/<suite>.xml, the JSON lines of the benchmarks and the tables, and
# $OUT/compare.txt the AlexNet table (bench).  The device call brings back at
# most 8 files from $OUT, hence the one archive instead of loose files.
# Preflight at the start of every part: nvidia-smi (GPU name, driver), `ldd`
# of every bundled binary, `banyan devices` showing cuda:0; if one fails the
# script stops at once with exit 4 and says why in summary.txt and on stderr.
# Exit status: 0 when every step passed, 1 when any failed, 2 bad usage,
# 4 preflight failed.
set -uo pipefail

parts=${1:-tests,bench,scale,train}
PART_BUDGET=${PART_BUDGET:-540}
MIN_STEP=${MIN_STEP:-5}
for p in ${parts//,/ }; do
  case $p in tests|bench|scale|train) ;;
    *) echo "gpu_session.sh: unknown part '$p' (parts: tests, bench, scale, train; comma list allowed)" >&2
       exit 2 ;;
  esac
done

# The bundle: run.sh sets B and starts us in $B/files (models/, benchmarks/).
here=$(cd "$(dirname "$0")" && pwd)
B=${B:-$(dirname "$here")}
bin=$B/bin
if [ -d "$B/files/models" ]; then cd "$B/files" || exit 2
elif [ -d "$here/models" ]; then cd "$here" || exit 2
elif [ -d "$here/../models" ]; then cd "$here/.." || exit 2
fi
files=$PWD

out=${OUT:-$PWD/gpu_session_out}
mkdir -p "$out" && out=$(cd "$out" && pwd)
# This run's own folders: logs, XML, JSON (packed into results.tgz) and big
# files that are never packed (the synthetic LMDB, the packing's temporary).
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu_session.XXXXXX")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gpu_session_scratch.XXXXXX")
trap 'rm -rf "$work" "$scratch"' EXIT
summary=$out/summary.txt
failures=0
steps=0

pack() {  # refresh $out/results.tgz (written beside, then moved into place)
  tar -C "$work" -czf "$scratch/results.tgz.part" . 2>/dev/null &&
    mv -f "$scratch/results.tgz.part" "$out/results.tgz"
}
say() {  # an information line in the summary (and on stdout)
  printf '%s\n' "$*" >> "$summary"
  printf '%s\n' "$*"
}
record() {  # record STATUS NAME RC SECONDS DETAIL: one summary line
  local status=$1 name=$2 rc=$3 secs=$4 detail=${5:-}
  steps=$((steps + 1))
  [ "$status" = OK ] || failures=$((failures + 1))
  say "$(printf '%-11s %-5s %-30s rc=%-4s %4ss  %s' "$status" "$part" "$name" "$rc" "$secs" "$detail")"
}
left() { echo $(( PART_BUDGET - ($(date +%s) - part_t0) )); }

# step [--reserve S] [--stdout FILE] [--detail FUNC] NAME LIMIT COMMAND...
# Runs COMMAND with the smaller of LIMIT and the part's remaining budget
# (minus S seconds kept for later steps); stdout and stderr go to
# $work/PART/NAME.log (stdout to FILE with --stdout).  FUNC, called after the
# command with step_log/step_out/step_rc set, prints the summary's details
# (a first line FAIL marks the step failed even when COMMAND exited 0).
# Records the step's summary line; returns 0 when the step is OK.
step() {
  local reserve=0 stdout="" detail=""
  while [ $# -gt 0 ]; do
    case $1 in
      --reserve) reserve=$2; shift 2 ;;
      --stdout) stdout=$2; shift 2 ;;
      --detail) detail=$2; shift 2 ;;
      *) break ;;
    esac
  done
  local name=$1 limit=$2; shift 2
  reserve=$(( reserve * PART_BUDGET / 540 ))  # the reserves below are sized for 540 s
  if ! command -v "$1" > /dev/null 2>&1; then
    record MISSING "$name" - 0 "$1 not found (neither in the bundle nor on PATH)"
    pack; return 1
  fi
  local avail=$(( $(left) - reserve ))
  local t=$limit capped=""
  if [ "$avail" -lt "$t" ]; then t=$avail; capped=" (capped by the part's budget)"; fi
  if [ "$t" -lt "$MIN_STEP" ]; then
    record SKIP-BUDGET "$name" - 0 "not started: $(( avail > 0 ? avail : 0 ))s of the part's ${PART_BUDGET}s budget left for it (own limit ${limit}s)"
    pack; return 1
  fi
  step_log=$work/$part/$name.log
  step_out=${stdout:-$step_log}
  local t0; t0=$(date +%s)
  if [ -n "$stdout" ]; then
    timeout -k 10 "$t" "$@" > "$stdout" 2> "$step_log"
  else
    timeout -k 10 "$t" "$@" > "$step_log" 2>&1
  fi
  step_rc=$?
  local secs=$(( $(date +%s) - t0 ))
  step_status=OK
  [ "$step_rc" -eq 0 ] || step_status=FAIL
  local text=""
  if [ -n "$detail" ]; then
    text=$("$detail")  # runs in a subshell: it reports FAIL on its first output line instead
    if [ "${text%%$'\n'*}" = FAIL ]; then step_status=FAIL; text=${text#FAIL}; text=${text#$'\n'}; fi
  fi
  [ -n "$text" ] || text=$(grep -v '^\s*$' "$step_log" | tail -1 | cut -c1-120)
  if [ "$step_rc" -eq 124 ] || [ "$step_rc" -eq 137 ]; then
    step_status=TIMEOUT; text="killed after ${t}s${capped}; $text"
  fi
  record "$step_status" "$name" "$step_rc" "$secs" "${text%%$'\n'*}"
  # Continuation lines of the details (test names, tables) go in indented.
  if [[ $text == *$'\n'* ]]; then
    while IFS= read -r l; do say "      $l"; done <<< "${text#*$'\n'}"
  fi
  pack
  [ "$step_status" = OK ]
}

preflight_fail() {
  local msg="PREFLIGHT FAILED ($part): $*; nothing else of this part is run"
  say "$msg"
  echo "gpu_session.sh: $msg" >&2
  say "== $part: stopped at preflight; session FAILED"
  pack
  exit 4
}

# --- detail functions (print the summary's details; first line FAIL marks failure)
detail_nvidia_smi() {
  local n; n=$(grep -c . "$step_log")
  if [ "$step_rc" -ne 0 ] || [ "$n" -eq 0 ]; then echo FAIL; echo "nvidia-smi: $(head -2 "$step_log" | tr '\n' ' ')"; return; fi
  echo "$n GPU(s): $(head -1 "$step_log")"
}
detail_devices() {
  if ! grep -q '^cuda:0' "$step_log"; then echo FAIL; fi
  (grep -m1 '^cuda:' "$step_log" || tail -1 "$step_log") | cut -c1-110
}
detail_junit() {  # counts from the suite's JUnit XML (the log when there is none)
  local xml=$work/tests/junit/$suite.xml
  if [ -s "$xml" ]; then
    python3 - "$xml" <<'EOF' || { echo FAIL; echo "cannot parse $xml"; }
import sys
import xml.etree.ElementTree as ET
passed, failed, skipped = [], [], []
for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    name = f"{tc.get('classname')}.{tc.get('name')}"
    if tc.find("failure") is not None or tc.find("error") is not None:
        failed.append(name)
    elif (tc.get("result") in ("skipped", "suppressed") or tc.get("status") == "notrun"
          or tc.find("skipped") is not None):
        skipped.append(name)
    else:
        passed.append(name)
if failed or not (passed or skipped):
    print("FAIL")
print(f"pass={len(passed)} fail={len(failed)} skip={len(skipped)}")
for label, names in (("failed", failed), ("skipped", skipped)):
    if names:  # the full lists are in the XML
        more = f" (+{len(names) - 40} more, see junit/)" if len(names) > 40 else ""
        print(f"{label}: " + ", ".join(names[:40]) + more)
EOF
  else
    echo FAIL
    printf 'no JUnit XML (the suite did not finish); last test started: %s; log: %s\n' \
      "$(grep '^\[ RUN' "$step_log" | tail -1 | sed 's/^\[ RUN *\] //')" \
      "$(grep -E '^\[  (PASSED|FAILED|SKIPPED) |Segmentation|Aborted|terminate|Check failed' "$step_log" | tail -3 | tr '\n' ' ' | cut -c1-150)"
  fi
}
json_rate() {  # images/s of the JSON line(s) in step_out
  python3 - "$step_out" <<'EOF' 2>/dev/null || { echo FAIL; echo "no JSON result"; }
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
if not rows:
    print("FAIL"); print("no JSON result")
for r in rows:
    if "error" in r:
        print(f"error: {r['error'][:100]}")
    else:
        print(f"{r.get('images_per_s', 0):.0f} img/s, median {r.get('median_iteration_s', 0) * 1e3:.1f} ms,"
              f" {r.get('device_bytes', 0) / 2**30:.2f} GiB, loss {r.get('loss', 0):.3f}")
EOF
}
detail_pytorch() {
  python3 - "$step_out" <<'EOF' 2>/dev/null || { echo FAIL; echo "no JSON lines"; }
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
bad = [r for r in rows if "error" in r]
if not rows or bad:
    print("FAIL")
print(f"{len(rows) - len(bad)} configurations measured, {len(bad)} errors")
for r in bad:
    print(f"{r.get('name')} {r.get('batch')} {r.get('precision')} {r.get('variant')}: {r['error'][:120]}")
EOF
}
detail_time() {
  grep -E '^(forward .* per iteration|batch [0-9]+:)' "$step_log" | tr '\n' ' ' | cut -c1-150
}
detail_exchange() {
  if [ "$step_rc" -ne 0 ]; then tail -1 "$step_log" | cut -c1-120; return; fi
  tail -1 "$step_log" | awk '{printf "largest: %s bytes, %s us, algbw %s GB/s, busbw %s GB/s\n", $1, $3, $4, $5}'
}
detail_scaling() {
  python3 - "$step_out" <<'EOF' 2>/dev/null || { echo FAIL; echo "no JSON lines"; }
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
if not rows or any("error" in r for r in rows):
    print("FAIL")
print(", ".join(f"{r['layout']} " + (f"error {r['error'][:60]}" if "error" in r else
                f"{r['images_per_s']:.0f} img/s ({r.get('speedup', 1):.2f}x)") for r in rows) or "no results")
EOF
}
detail_table() { sed -n '1,200p' "$step_out" | grep -m1 '^target' || echo "table in $(basename "$step_out")"; cat "$step_out"; }
detail_pipeline() { grep -E '^threads' "$step_log" | tail -1; }
detail_synth() { du -sh "$scratch/synth_lmdb" 2>/dev/null | awk '{print "LMDB " $1}'; }
detail_train() {
  printf '%s | %s\n' "$(grep -E 'img/s' "$step_log" | tail -1 | sed 's/.*\] //' | cut -c1-80)" \
    "$(grep -E 'Test net output.*accuracy' "$step_log" | tail -1 | sed 's/.*\] *//' | cut -c1-60)"
}
detail_test() {
  grep -q '^accuracy = ' "$step_log" || echo FAIL
  echo "$(grep -E '^(accuracy|loss) = ' "$step_log" | tr '\n' ' ')on $(basename "$weights")"
}

# --- preflight: nvidia-smi, ldd of every bundled binary, banyan devices ---
preflight() {
  step --detail detail_nvidia_smi preflight_nvidia_smi 30 \
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader ||
    preflight_fail "nvidia-smi does not answer: no NVIDIA driver or GPU on this host ($(head -1 "$work/$part/preflight_nvidia_smi.log" 2>/dev/null || echo 'nvidia-smi not found'))"
  (timeout 20 nvidia-smi; timeout 20 nvidia-smi topo -m) > "$work/$part/nvidia-smi.txt" 2>&1
  local t0 bad n=0
  t0=$(date +%s)
  bad=$(for f in "$bin"/*; do [ -f "$f" ] || continue
          ldd "$f" 2>&1 | awk -v f="$(basename "$f")" '/not found/ {print f ": " $1}'; done | sort -u)
  n=$(ls "$bin" 2>/dev/null | wc -l)
  ldd "$bin"/* > "$work/$part/preflight_ldd.log" 2>&1
  if [ "$n" -eq 0 ] || [ -n "$bad" ]; then
    record FAIL preflight_ldd 1 $(( $(date +%s) - t0 )) "${bad:-no binaries in $bin}"
    preflight_fail "bundled binaries with unresolved libraries: $(echo "${bad:-none in $bin}" | tr '\n' ' ')"
  fi
  record OK preflight_ldd 0 $(( $(date +%s) - t0 )) "$n binaries in $bin, every library resolved"
  step --detail detail_devices preflight_devices 60 "$bin/banyan" devices ||
    preflight_fail "banyan devices shows no cuda:0 line: $(grep -m1 '^cuda' "$work/$part/preflight_devices.log" 2>/dev/null || echo 'banyan did not run')"
}

# --- the parts ------------------------------------------------------------
part_tests() {
  # Tests read fixtures and models from the build's source folder (compiled-in
  # paths); where that folder is not on this host, point it at the bundle.
  local src; src=$(sed -n 's/^source_dir=//p' bundle_info.txt 2>/dev/null)
  if [ -n "$src" ] && [ ! -e "$src/tests/fixtures" ]; then
    if [ ! -e "$src" ] && mkdir -p "$(dirname "$src")" 2>/dev/null && ln -s "$files" "$src"; then
      say "      note: linked $src -> $files (the tests' compiled-in source folder: fixtures, models)"
    else
      say "      note: $src/tests/fixtures is missing; tests that read fixtures will fail"
    fi
  fi
  export BANYAN_REQUIRE_GPU=1
  mkdir -p "$work/tests/junit"
  declare -A limit=([cuda]=90 [layers]=240 [engine]=180 [core]=60 [workers]=150
                    [exchange]=120 [pipeline]=90 [export]=90)
  for suite in ${SUITES:-cuda layers engine core workers exchange pipeline export}; do
    local exe=$bin/${suite}_tests
    if [ ! -x "$exe" ]; then
      record MISSING "test_$suite" - 0 "${suite}_tests is not in the bundle ($exe)"; pack; continue
    fi
    rm -f "$work/tests/junit/$suite.xml"
    step --detail detail_junit "test_$suite" "${limit[$suite]:-120}" \
      "$exe" --gtest_output="xml:$work/tests/junit/$suite.xml"
  done
}

part_bench() {
  step --reserve 400 --detail detail_time time_alexnet 120 "$bin/banyan" time \
    --model=models/alexnet/train_val.prototxt --synthetic --devices=0 --iterations=10
  local jsonl=$work/bench/banyan.jsonl net name model batch mode tf32 precision n=0
  : > "$jsonl"
  for net in caffe_alexnet:models/alexnet/train_val.prototxt \
             torchvision_alexnet:models/alexnet_owt/train_val.prototxt; do
    name=${net%%:*}; model=${net#*:}
    for batch in 256 128; do
      for mode in FP32 TF32 BF16; do
        tf32=false; [ "$mode" = FP32 ] || tf32=true
        precision=FP32; [ "$mode" = BF16 ] && precision=BF16
        n=$((n + 1))
        # Keep time for the rest of this loop (20 s a run) and PyTorch (200 s).
        step --reserve $(( 200 + (12 - n) * 20 )) --detail json_rate \
          --stdout "$work/bench/train_bench_${name}_${batch}_${mode}.json" \
          "train_bench_${name}_${batch}_$mode" 60 "$bin/train_bench" --model="$model" \
          --name="$name" --devices=0 --batch="$batch" --tf32="$tf32" --precision="$precision"
        # train_bench says FP32 + tf32 true; PyTorch and compare.py call it TF32.
        grep -h '^{' "$work/bench/train_bench_${name}_${batch}_${mode}.json" 2>/dev/null |
          sed 's/"precision":"FP32","tf32":true/"precision":"TF32","tf32":true/' >> "$jsonl"
      done
    done
  done
  if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    step --reserve 160 --detail detail_pytorch --stdout "$work/bench/pytorch_eager.jsonl" \
      pytorch_eager 150 python3 benchmarks/pytorch_alexnet.py --precisions=FP32,TF32,BF16 \
      --variants=eager --warmup=5 --iterations=20
    # torch.compile compiles every configuration afresh (tens of seconds
    # each), one process per net and batch (a fresh dynamo cache, so no
    # recompile limit turns a configuration silently eager), most wanted
    # first; it gets what is left, and what it does not reach is missing
    # from the table (those steps say SKIP-BUDGET or TIMEOUT).
    for net in caffe_alexnet:256 torchvision_alexnet:256 caffe_alexnet:128 torchvision_alexnet:128; do
      step --reserve 15 --detail detail_pytorch \
        --stdout "$work/bench/pytorch_compile_${net%%:*}_${net#*:}.jsonl" \
        "pytorch_compile_${net%%:*}_${net#*:}" 240 python3 benchmarks/pytorch_alexnet.py \
        --nets="${net%%:*}" --batches="${net#*:}" --precisions=TF32,BF16 --variants=compile \
        --warmup=3 --iterations=20
    done
  else
    record FAIL pytorch - 0 "python3 cannot import torch with CUDA on this host: no PyTorch reference"
  fi
  local inputs=("$jsonl") f
  for f in "$work"/bench/pytorch_*.jsonl; do [ -f "$f" ] && inputs+=("$f"); done
  step --stdout "$work/bench/compare.txt" --detail detail_compare compare 30 \
    python3 benchmarks/compare.py "${inputs[@]}"
  cp "$work/bench/compare.txt" "$out/compare.txt" 2>/dev/null
}
detail_compare() {
  [ "$(grep -c . "$step_out")" -gt 1 ] || echo FAIL
  echo "AlexNet table ($(($(grep -c . "$step_out") - 1)) rows, also in compare.txt):"
  cat "$step_out"
}

part_scale() {
  step --detail detail_devices devices_0000 60 "$bin/banyan" devices --devices=0,0,0,0
  step --stdout "$work/scale/exchange_tree.json" --detail detail_exchange exchange_tree 120 \
    "$bin/exchange_bench" --backend=tree --devices=0,0,0,0
  local gpus; gpus=$(timeout 20 nvidia-smi -L 2>/dev/null | grep -c '^GPU')
  if [ "$gpus" -gt 1 ]; then
    step --stdout "$work/scale/exchange_nccl.json" --detail detail_exchange exchange_nccl 120 \
      "$bin/exchange_bench" --backend=nccl --devices="$(seq -s, 0 $((gpus - 1)))"
  fi
  # 4 logical workers x 64 on one GPU vs 1 x 256 (engine overhead; target 0.85x).
  step --reserve 150 --stdout "$work/scale/scaling.jsonl" --detail detail_scaling scaling 200 \
    "$bin/scaling_bench" --devices=0,0,0,0 --layouts=1x1:256,2x1:128,4x1:64 --warmup=3 --iterations=10
  if grep -q '^{' "$work/scale/scaling.jsonl" 2>/dev/null; then
    step --stdout "$work/scale/scaling.txt" --detail detail_table scaling_table 30 \
      python3 benchmarks/plot_scaling.py "$work/scale/scaling.jsonl" --out "$work/scale/scaling.png"
  fi
  rm -rf "$scratch/synth_lmdb"
  if step --reserve 120 --detail detail_synth synth_lmdb 90 "$bin/make_synthetic_imageset" \
       --output="$scratch/synth_lmdb" --count=2560 --size=256; then
    step --reserve 100 --detail detail_pipeline pipeline_bench 90 "$bin/pipeline_bench" \
      --source="$scratch/synth_lmdb" --json="$work/scale/pipeline.json" --batches=10
    # End to end: AlexNet from the JPEG LMDB through the pipeline vs synthetic
    # inputs already on the GPU (target: >= 90% of min(compute, pipeline)).
    step --reserve 50 --detail json_rate --stdout "$work/scale/e2e_lmdb.json" e2e_lmdb 120 \
      "$bin/train_bench" --model=models/alexnet/train_val.prototxt --name=caffe_alexnet \
      --devices=0 --batch=256 --source="$scratch/synth_lmdb" --iterations=30
  else
    record FAIL pipeline_bench - 0 "not run: no synthetic LMDB (synth_lmdb failed)"
    record FAIL e2e_lmdb - 0 "not run: no synthetic LMDB (synth_lmdb failed)"
    pack
  fi
  step --detail json_rate --stdout "$work/scale/e2e_synthetic.json" e2e_synthetic 90 \
    "$bin/train_bench" --model=models/alexnet/train_val.prototxt --name=caffe_alexnet \
    --devices=0 --batch=256 --iterations=30
  python3 - "$work/scale" <<'EOF' > "$work/scale/e2e.txt" 2>&1
import json, re, sys
d = sys.argv[1]
def rate(f):
    try:
        return next(json.loads(l) for l in open(f"{d}/{f}") if l.startswith("{"))["images_per_s"]
    except Exception:
        return None
lmdb, synth = rate("e2e_lmdb.json"), rate("e2e_synthetic.json")
pipe = None
try:
    pipe = max(float(m.group(1)) for m in re.finditer(r"^threads +\d+: +([\d.]+) img/s",
               open(f"{d}/pipeline_bench.log").read(), re.M))
except Exception:
    pass
if lmdb and synth:
    bound = min(x for x in (synth, pipe) if x)
    ok = "met" if lmdb >= 0.9 * bound else "NOT met"
    print(f"end to end {lmdb:.0f} img/s from LMDB vs {synth:.0f} synthetic, pipeline alone "
          f"{pipe or float('nan'):.0f}: {lmdb / bound:.2f} of min(compute, pipeline) "
          f"(target >= 0.90: {ok})")
else:
    print("end to end: no result to compare")
EOF
  say "      note: $(cat "$work/scale/e2e.txt")"
  grep '^target' "$work/scale/scaling.txt" 2>/dev/null | sed 's/^/      note: /' | tee -a "$summary"
}

part_train() {
  local data=out/fashion_mnist
  mkdir -p "$data"
  if [ -d train_lmdb ] && [ -d test_lmdb ]; then  # the LMDBs came in b.tgz itself
    for l in train_lmdb test_lmdb; do ln -sfn "$files/$l" "$data/$l"; done
  else
    local bundle=${DATA_BUNDLE:-}
    [ -n "$bundle" ] || [ ! -f "${OLDPWD:-/nonexistent}/.gpu/data.tgz" ] || bundle=$OLDPWD/.gpu/data.tgz
    if [ -z "$bundle" ] || [ ! -f "$bundle" ]; then
      record FAIL data - 0 "no Fashion-MNIST LMDBs: set DATA_BUNDLE=\$PWD/.gpu/data.tgz before run.sh and carry .gpu/data.tgz (DATA_BUNDLE='${bundle}')"
      pack; return
    fi
    step --detail detail_data data_unpack 60 tar -C "$data" -xzf "$bundle" || return
  fi
  rm -f "$data"/fmnist_iter_*
  # Training gets the budget but the final test's 60 s.  A timeout ends it
  # with SIGTERM, on which banyan writes a snapshot, so the test still runs.
  step --reserve 60 --detail detail_train fashion_mnist_train 480 "$bin/banyan" train \
    --solver=models/fashion_mnist/solver.prototxt --devices=0 \
    --metrics="$work/train/fmnist_metrics.jsonl"
  weights=$(ls -t "$data"/fmnist_iter_*.banyan 2>/dev/null | head -1)
  if [ -z "$weights" ]; then
    record FAIL fashion_mnist_test - 0 "no weights written by training (out/fashion_mnist/fmnist_iter_*.banyan)"
    pack; return
  fi
  step --detail detail_test fashion_mnist_test 60 "$bin/banyan" test \
    --model=models/fashion_mnist/train_val.prototxt --weights="$weights" --devices=0 --iterations=100
}
detail_data() { du -sh out/fashion_mnist/train_lmdb out/fashion_mnist/test_lmdb 2>&1 | tr '\n\t' '  '; }

# --- main -----------------------------------------------------------------
say "# gpu_session.sh $parts: $(date -u '+%F %T UTC') on $(hostname), $(nproc) cores," \
    "budget ${PART_BUDGET}s a part; bundle: $(cat bundle_info.txt 2>/dev/null | tr '\n' ' ')"
for part in ${parts//,/ }; do
  part_t0=$(date +%s)
  rm -rf "${work:?}/$part"; mkdir -p "$work/$part"
  f0=$failures
  preflight
  "part_$part"
  say "== $part: $(( failures - f0 )) failed, $(( $(date +%s) - part_t0 ))s of ${PART_BUDGET}s"
done
say "== session ($parts): $steps steps, $failures failed: $([ $failures -eq 0 ] && echo OK || echo FAILED)"
pack
[ "$failures" -eq 0 ]
