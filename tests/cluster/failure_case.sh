#!/usr/bin/env bash
# One failure case of a 2-process run, for tests/cluster/multiprocess_test.cc:
#   failure_case.sh MODE LOG -- MPIRUN ARGS...
# starts the run in the background, waits until its log shows training
# (the "Solving" line, then 1 s), then injects MODE and waits for mpirun to
# end:
#   kill9   kill -9 the process of rank 1
#   stop    SIGSTOP the process of rank 1 (it hangs; the heartbeat notices)
#   none    nothing (the run fails by itself, e.g. a fatal bad record)
#   sigint  SIGINT to mpirun (the launcher)
# Prints "rc=N seconds=S" (S from the injection to mpirun's end); the run's
# output is in LOG.  Gives up after 120 s (kills everything, rc=124).
set -u
mode=$1 log=$2; shift 3
"$@" > "$log" 2>&1 &
mp=$!
rank_pid() {  # the pid of rank $1 among mpirun's children
  for p in $(pgrep -P "$mp"); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
      echo "$p"; return
    fi
  done
}
for _ in $(seq 1 600); do
  grep -q 'Solving' "$log" 2>/dev/null && { sleep 1; break; }
  kill -0 "$mp" 2>/dev/null || break
  sleep 0.1
done
t0=$(date +%s.%N)
case $mode in
  kill9) kill -9 "$(rank_pid 1)" ;;
  stop) kill -STOP "$(rank_pid 1)" ;;
  sigint) kill -INT "$mp" ;;
  none) ;;
esac
rc=124
for _ in $(seq 1 1200); do
  if ! kill -0 "$mp" 2>/dev/null; then wait "$mp"; rc=$?; break; fi
  sleep 0.1
done
if [ $rc = 124 ]; then
  pkill -9 -P "$mp" 2>/dev/null; kill -9 "$mp" 2>/dev/null
fi
t1=$(date +%s.%N)
echo "rc=$rc seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
