#!/usr/bin/env bash
# Soak benchmark (issue 13): MINUTES of 64 connections of mixed public reads (bench/soak.lua) while an analyst
# uploads a new stops file every few seconds (each an import and the incremental compute it implies, so the
# caches are invalidated again and again). Records errors (socket errors, timeouts, any status but 200, any
# failed upload), latency percentiles and the server's RSS every 10 s.
#   bench/soak.sh [MINUTES] [UPLOAD_EVERY_SECONDS]     (defaults: 10 minutes, an upload every 5 s)
# UPLOAD_ROWS (default 600) sets the stops per upload: with a small number the data barely grows, which tells
# memory retained per upload apart from memory that follows the data (DuckDB's buffers, the series' size).
# Needs wrk (apt install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
MINUTES=${1:-10}
EVERY=${2:-5}
ROWS=${UPLOAD_ROWS:-600}
OUT=${BENCH_OUT:-/tmp/oversight-bench}/soak
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build -q --workspace
BIN="$CARGO_TARGET_DIR/debug/oversight"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
export OVERSIGHT_LOG=warn
unset OVERSIGHT_CONFIG OVERSIGHT_DB
# The read load comes from one address (wrk): the per-client limit on keyless reads is off for it.
export OVERSIGHT__API__PUBLIC_CONCURRENCY_PER_CLIENT=0
CACHE_BYTES=${CACHE_BYTES:-67108864}
export OVERSIGHT__API__CACHE_BYTES=$CACHE_BYTES

DB="$OUT/soak.duckdb"
for pair in populations:populations.csv policy-events:policy_events.csv stops:stops.csv crime-reports:crime_reports.csv detainers:detainers.csv; do
  "$BIN" --db "$DB" import --dataset "${pair%%:*}" --profile canonical "fixtures/${pair#*:}" >/dev/null
done
"$BIN" --db "$DB" compute >/dev/null
KEY=$("$BIN" --db "$DB" keys create --role analyst --name soak 2>/dev/null)
"$BIN" --db "$DB" serve --bind 127.0.0.1:18201 >"$OUT/serve.out" 2>"$OUT/serve.err" & SPID=$!; PIDS+=($SPID)
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:18201/healthz && break; sleep 0.1; done
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$SPID/status"; }

touch "$OUT/running"
# The analyst: a new file every EVERY seconds (ROWS stops of a day in 2021-2022, new ids).
(
  i=0; ok=0; failed=0
  while [ -f "$OUT/running" ]; do
    i=$((i + 1))
    f="$OUT/upload-$i.csv"
    python3 - "$i" "$ROWS" > "$f" <<'PY'
import sys, datetime
i, rows = int(sys.argv[1]), int(sys.argv[2])
print("jurisdiction_id,stop_id,date,time,district,subject_age,subject_race,subject_sex,officer_id_hash,stop_type,reason_for_stop,arrest_made,citation_issued,warning_issued,outcome,search_conducted,search_basis,contraband_found,referred_to_immigration")
day = datetime.date(2021, 1, 1) + datetime.timedelta(days=(i * 3) % 700)
races = ["white", "black", "hispanic", "asian", "other"]
for k in range(rows):
    searched = k % 9 == 0
    print(f"demo-city,soak-{i}-{k},{day},{k % 24:02d}:{k % 60:02d}:00,west,{20 + k % 50},{races[k % 5]},{'male' if k % 3 else 'female'},officer-{k % 90:03d},vehicular,equipment,FALSE,TRUE,FALSE,citation,{'TRUE' if searched else 'FALSE'},{'consent' if searched else ''},{'FALSE' if searched else ''},FALSE")
PY
    code=$(curl -s -o "$OUT/upload-$i.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: text/csv' \
      --data-binary @"$f" "http://127.0.0.1:18201/v1/imports/stops?profile=canonical&filename=upload-$i.csv")
    if [ "$code" = 201 ]; then ok=$((ok + 1)); else failed=$((failed + 1)); echo "upload $i: $code $(cat "$OUT/upload-$i.json")" >> "$OUT/upload-errors.txt"; fi
    echo "$ok $failed" > "$OUT/uploads"
    rm -f "$f"
    for _ in $(seq 1 "$EVERY"); do [ -f "$OUT/running" ] && sleep 1; done
  done
) &
# RSS every 10 s.
( while [ -f "$OUT/running" ]; do echo "$(date +%s) $(rss_mib)" >> "$OUT/rss.txt"; sleep 10; done ) &
sleep 1
echo "== soak: ${MINUTES} min, wrk -t2 -c64 (bench/soak.lua), an upload of ${ROWS} stops every ${EVERY} s; cache_bytes $((CACHE_BYTES >> 20)) MiB; $(nproc) cores"
echo "RSS at start: $(rss_mib) MiB"
wrk -t2 -c64 -d"${MINUTES}m" --timeout 10s --latency -s bench/soak.lua http://127.0.0.1:18201 > "$OUT/wrk.txt"
rm -f "$OUT/running"
sleep 1
echo "RSS at end:   $(rss_mib) MiB (samples every 10 s: min $(awk '{print $2}' "$OUT/rss.txt" | sort -n | head -1), max $(awk '{print $2}' "$OUT/rss.txt" | sort -n | tail -1) MiB)"
awk '/Requests\/sec|Socket errors|Non-2xx|non-200|requests in/' "$OUT/wrk.txt"
awk '$1=="50%" || $1=="90%" || $1=="99%" {print "latency " $1 " " $2}' "$OUT/wrk.txt"
read -r ok failed < "$OUT/uploads"
echo "uploads: $ok landed (201), $failed failed"
[ -f "$OUT/upload-errors.txt" ] && head -5 "$OUT/upload-errors.txt"
grep -ciE "error|panic" "$OUT/serve.err" | sed 's/^/server log lines with error or panic: /' || true
# What the data alone costs: a fresh server on the database as the soak left it, under the same reads for a
# minute with no uploads. An end RSS near this one is memory that follows the data, not memory kept per upload.
kill "$SPID"; wait "$SPID" 2>/dev/null || true
"$BIN" --db "$DB" serve --bind 127.0.0.1:18201 >>"$OUT/serve.out" 2>>"$OUT/serve.err" & SPID=$!; PIDS+=($SPID)
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:18201/healthz && break; sleep 0.1; done
wrk -t2 -c64 -d1m --timeout 10s -s bench/soak.lua http://127.0.0.1:18201 > "$OUT/wrk-fresh.txt"
echo "fresh server on the soaked database, after 1 min of the same reads: RSS $(rss_mib) MiB"
