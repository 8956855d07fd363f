# Sourced by the bench scripts: the daemons a script starts, by pid, and
# waits with a deadline.
#
# A script adds each daemon it starts to DAEMONS (`DAEMONS+=($!)`). On exit
# exactly those are stopped (never a process found by name): SIGTERM, up
# to 10 s to finish, SIGKILL if still running. Then $WORK is removed,
# unless KEEP=1 (to read the logs and stores after a run).

ME=$(basename "$0")
DAEMONS=()

stop_daemons() {
  local pid deadline=$((SECONDS + 10))
  for pid in ${DAEMONS[@]+"${DAEMONS[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${DAEMONS[@]+"${DAEMONS[@]}"}; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$ME: daemon $pid still running after 10 s, killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  DAEMONS=()
}

finish() {
  stop_daemons
  if [ "${KEEP:-0}" = 1 ]; then
    echo "$ME: kept $WORK" >&2
  elif [ -n "${WORK:-}" ]; then
    rm -rf "$WORK"
  fi
}
trap finish EXIT

# wait_until SECONDS COMMAND...: runs COMMAND every 0.2 s until it
# succeeds; after SECONDS, says what it waited for and exits.
wait_until() {
  local limit=$1 deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    if ((SECONDS > deadline)); then
      echo "$ME: gave up after ${limit} s waiting for: $*" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# json EXPR: EXPR of the JSON on stdin, as `v` (python3).
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print($1)"; }
