#!/usr/bin/env bash
# Seconds from `git clone` to the first page served by `make demo` (budget: 180 s).
#
#   benchmarks/bench_make_demo.sh              # clone this repository at HEAD
#   benchmarks/bench_make_demo.sh --worktree   # …plus the uncommitted changes of the working tree
#   benchmarks/bench_make_demo.sh --keep       # keep the temporary clone (and its log) afterwards
#
# The clone runs `make demo` (venv, pip install, migrate, rules, build, serve) in the background
# on a free port — `ygt demo` reads YGT_PORT — and the script polls http://127.0.0.1:PORT/ until it
# answers with any HTTP status, prints the figure, then stops the server it started.
set -euo pipefail

BUDGET=180
WORKTREE=0
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --worktree) WORKTREE=1 ;;
    --keep) KEEP=1 ;;
    *) echo "usage: $0 [--worktree] [--keep]" >&2; exit 2 ;;
  esac
done

REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ygt-make-demo.XXXXXX")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG="$TMP/make-demo.log"
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true   # the process group we started, nothing else
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then echo "kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

START=$(date +%s.%N)
git clone -q "$REPO" "$TMP/yigongti"
if [ "$WORKTREE" = 1 ]; then
  # Overlay modified and untracked (not ignored) files, so an uncommitted change can be measured.
  (cd "$REPO" && git ls-files -z --modified --others --exclude-standard) \
    | (cd "$REPO" && xargs -0 -r cp --parents -t "$TMP/yigongti" 2>/dev/null || true)
fi
CLONED=$(date +%s.%N)

cd "$TMP/yigongti"
# setsid: make and its children form one process group that cleanup can stop by its id.
YGT_PORT="$PORT" YGT_DATA_DIR="$TMP/var" setsid make demo >"$LOG" 2>&1 &
SERVER_PID=$!

STATUS=000
while :; do
  STATUS=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/" || true)
  [ "$STATUS" != "000" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "make demo exited before serving; last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
  if python3 -c "import sys; sys.exit(0 if $(date +%s.%N) - $START > 900 else 1)"; then
    echo "no page after 900 s; giving up" >&2
    exit 1
  fi
  sleep 0.5
done
END=$(date +%s.%N)

python3 - "$START" "$CLONED" "$END" "$BUDGET" "$STATUS" "$PORT" <<'EOF'
import sys
start, cloned, end, budget = (float(x) for x in sys.argv[1:5])
status, port = sys.argv[5], sys.argv[6]
total = end - start
print(f"clone {cloned - start:.1f} s; make demo to first page {end - cloned:.1f} s")
print(f"clone → first served page (http://127.0.0.1:{port}/ answered {status}): {total:.1f} s"
      f"   budget {budget:.0f} s   ratio {total / budget:.3f}")
EOF
