#!/usr/bin/env bash
# Property-based check of the REST API against its own OpenAPI document: schemathesis generates requests for
# every operation (a bounded number of examples each) and fails on any 5xx or any response that violates the
# schema. Runs on a fresh database with the fixtures, as an admin (so the write paths are exercised too).
# Needs `pip install schemathesis` (4.x) and a built binary (cargo test --workspace builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}/debug/oversight"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-20}"
WORK="$(mktemp -d)"
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export OVERSIGHT_DB="$WORK/oversight.duckdb" OVERSIGHT_LOG=warn
unset OVERSIGHT_CONFIG
for pair in populations:populations.csv policy-events:policy_events.csv stops:stops.csv crime-reports:crime_reports.csv detainers:detainers.csv; do
  "$BIN" import --dataset "${pair%%:*}" --profile canonical "fixtures/${pair#*:}" >/dev/null
done
"$BIN" import --dataset complaints --profile canonical fixtures/complaints.csv fixtures/allegations.csv >/dev/null
"$BIN" compute >/dev/null
KEY="$("$BIN" keys create --role admin --name schemathesis 2>/dev/null)"
"$BIN" serve --bind 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
PID=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break
  sleep 0.1
done
BASE="$(sed -n 's/^listening on //p' "$WORK/serve.out" | head -1)"
[ -n "$BASE" ] || { cat "$WORK/serve.err"; echo "the server did not start"; exit 1; }
schemathesis run "$BASE/openapi.json" --max-examples "$EXAMPLES" --seed 1 \
  --checks not_a_server_error,response_schema_conformance \
  -H "Authorization: Bearer $KEY"
