#!/usr/bin/env bash
# Charts and pages benchmark (issue 15), on the demo database:
#  1. GET /v1/indicators/stops.search_rate/series.svg (five years of months, two policy events): wrk, 64
#     connections, the same request repeated (answered from the response cache until the next write), and
#     every request different (a new `from` each: every one drawn).
#  2. /jurisdictions/demo-city with all its charts, uncached: a fresh server each round (empty caches), the
#     page, then its charts fetched six at a time as a browser does; the page alone and the page with every
#     chart, median of ROUNDS.
#   bench/pages.sh [SECONDS] (default 10 s per wrk run; ROUNDS=N, default 10)
# Needs wrk (apt install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
SECS=${1:-10}
ROUNDS=${ROUNDS:-10}
OUT=${BENCH_OUT:-/tmp/oversight-bench}/pages
mkdir -p "$OUT"
cargo build -q --workspace
BIN="$CARGO_TARGET_DIR/debug/oversight"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT
export OVERSIGHT_LOG="${BENCH_LOG:-info}"
unset OVERSIGHT_CONFIG OVERSIGHT_DB
export OVERSIGHT__API__PUBLIC_CONCURRENCY_PER_CLIENT=0
PORT=18111
BASE="http://127.0.0.1:$PORT"

start() {
  "$BIN" --db "$OUT/demo.duckdb" serve --bind "127.0.0.1:$PORT" >/dev/null 2>&1 & PID=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null "$BASE/healthz" && return 0; sleep 0.05; done
  echo "the server did not start"; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
bench_wrk() {   # name url [wrk args...]
  local name=$1 url=$2; shift 2
  local r; r=$(wrk -t2 -c64 -d"${SECS}s" --latency "$@" "$url")
  printf "%-28s %10s req/s   p50 %8s   p99 %8s\n" "$name" "$(echo "$r" | awk '/Requests\/sec/ {print $2}')" \
    "$(echo "$r" | awk '$1=="50%" {print $2}')" "$(echo "$r" | awk '$1=="99%" {print $2}')"
}

rm -f "$OUT/demo.duckdb" "$OUT/demo.duckdb.wal"
for pair in populations:populations.csv policy-events:policy_events.csv stops:stops.csv crime-reports:crime_reports.csv detainers:detainers.csv; do
  "$BIN" --db "$OUT/demo.duckdb" import --dataset "${pair%%:*}" --profile canonical "fixtures/${pair#*:}" >/dev/null
done
"$BIN" --db "$OUT/demo.duckdb" import --dataset complaints --profile canonical fixtures/complaints.csv fixtures/allegations.csv >/dev/null
"$BIN" --db "$OUT/demo.duckdb" compute >/dev/null

echo "== 1. series chart ($(nproc) cores, wrk -t2 -c64 -d${SECS}s)"
start
SVG="$BASE/v1/indicators/stops.search_rate/series.svg?jurisdiction=demo-city&group=all"
echo "chart: $(curl -s "$SVG" | wc -c) bytes"
bench_wrk "series.svg (repeated)" "$SVG"
export WRK_PATH="/v1/indicators/stops.search_rate/series.svg?jurisdiction=demo-city&group=all"
bench_wrk "series.svg (each different)" "$BASE" -s bench/uncached_to.lua
stop

echo "== 2. /jurisdictions/demo-city uncached, its charts in it (median of $ROUNDS)"
# Uncached: a write (an unchanged jurisdiction name, PATCHed) before each round empties the caches, as an
# import does. A long-running server is measured (after 10 untimed rounds: each connection of the read pool
# has prepared its statements); "first request" is a fresh server's first page (median of 3 servers).
KEY=$("$BIN" --db "$OUT/demo.duckdb" keys create --role analyst --name "bench-$$" 2>/dev/null)
# curl's own clock (request sent to last byte in), in tenths of a millisecond: no process start is timed.
timed() { curl -s -o "$2" -w '%{time_total}' "$1" | awk '{printf "%d", $1 * 10000}'; }
first_ms=()
for _ in 1 2 3; do
  start
  first_ms+=("$(timed "$BASE/jurisdictions/demo-city" /dev/null)")
  stop
done
start
page_ms=(); cached_ms=()
for round in $(seq 1 $((ROUNDS + 10))); do
  curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"name":"Demo Town (synthetic)"}' "$BASE/v1/jurisdictions/demo-town"
  sleep 0.3   # the write's own after-work (a WAL checkpoint) is not the page's
  uncached=$(timed "$BASE/jurisdictions/demo-city" "$OUT/page.html")
  cached=$(timed "$BASE/jurisdictions/demo-city" /dev/null)
  if [ "$round" -gt 10 ]; then page_ms+=("$uncached"); cached_ms+=("$cached"); fi
done
stop
median() { printf "%s\n" "$@" | sort -n | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "%.1f", m/10}'; }
charts=$(grep -o '<figure class="chart">' "$OUT/page.html" | wc -l)
echo "page with its $charts charts, uncached:  $(median "${page_ms[@]}") ms ($(wc -c <"$OUT/page.html") bytes, $(gzip -c "$OUT/page.html" | wc -c) gzipped)"
echo "the same page again (cached):       $(median "${cached_ms[@]}") ms"
echo "a fresh server's first request:     $(median "${first_ms[@]}") ms"
