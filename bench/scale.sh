#!/usr/bin/env bash
# Scale on one machine (issue 19): stops over 500 jurisdictions and 6 years (2019-2024) at each size, plus 10% as
# many crime reports; for each size: the import, a full compute, an incremental compute after one more month of
# stops (January 2025, a seventy-second of the size), the database's size, metric_points rows, the series
# endpoint's p99 (wrk, 64 connections, every request different) and each command's peak memory (GNU time).
#   bench/scale.sh [SIZES...]     (default: 1000000 10000000; 100000000 needs ~10 GB for its CSV)
# Needs wrk and GNU time (apt install wrk time).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000000 10000000)
OUT=${BENCH_OUT:-/tmp/oversight-bench}/scale
mkdir -p "$OUT"
cargo build -q --workspace
BIN="$CARGO_TARGET_DIR/debug/oversight"
export OVERSIGHT_LOG=warn OVERSIGHT__API__PUBLIC_CONCURRENCY_PER_CLIENT=0
unset OVERSIGHT_CONFIG OVERSIGHT_DB
# "seconds peak-MiB" of a command.
timed() { /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > /dev/null; awk '{printf "%.1f s, %.0f MiB", $1, $2 / 1024}' "$OUT/time.txt"; }
printf "| stops | crime reports | import | full compute | incremental (+1 month) | database | metric_points | series p99 |\n"
printf "|---|---|---|---|---|---|---|---|\n"
for N in "${SIZES[@]}"; do
  DB="$OUT/scale-$N.duckdb"; rm -f "$DB" "$DB.wal"
  "$BIN" bench gen-canonical-stops --rows "$N" --out "$OUT/stops.csv" --jurisdictions 500 > /dev/null
  "$BIN" bench gen-crime --rows $((N / 10)) --out "$OUT/crime.csv" --start 2019-01-01 --days 2191 --jurisdictions 500 > /dev/null
  "$BIN" bench gen-canonical-stops --rows $((N / 72)) --out "$OUT/next.csv" --seed 9 --start 2025-01-01 --days 31 --jurisdictions 500 > /dev/null
  imp=$(timed "$BIN" --db "$DB" import --dataset stops --profile canonical "$OUT/stops.csv")
  "$BIN" --db "$DB" import --dataset crime-reports --profile canonical "$OUT/crime.csv" > /dev/null
  full=$(timed "$BIN" --db "$DB" compute --full)
  "$BIN" --db "$DB" import --dataset stops --profile canonical "$OUT/next.csv" > /dev/null
  inc=$(timed "$BIN" --db "$DB" compute)
  size=$(du -m "$DB" | awk '{print $1 " MiB"}')
  points=$("$BIN" --db "$DB" bench table-digests | awk '$1 == "metric_points" {print $2}')
  "$BIN" --db "$DB" serve --bind 127.0.0.1:18151 > /dev/null 2>&1 & PID=$!
  for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:18151/healthz" && break; sleep 0.1; done
  p99=$(WRK_PATH="/v1/indicators/stops.search_rate/series?jurisdiction=j000&grain=month&group=all" \
    wrk -t2 -c64 -d10s --latency -s bench/uncached_to.lua "http://127.0.0.1:18151" | awk '$1=="99%" {print $2}')
  kill "$PID"; wait "$PID" 2>/dev/null || true
  printf "| %'d | %'d | %s | %s | %s | %s | %'d | %s |\n" "$N" $((N / 10)) "$imp" "$full" "$inc" "$size" "$points" "$p99"
  rm -f "$OUT/stops.csv" "$OUT/crime.csv" "$OUT/next.csv"
done
