#!/usr/bin/env bash
# Import benchmark: Oversight's importer against DuckDB loading the same OPP-format file by itself.
#   bench/import.sh [ROWS] [RUNS]      (defaults: 5000000 rows, 3 runs)
# Prints wall time (s), rows/s, CPU time (user + system, s) and peak RSS (MiB) of each run, then the ratios;
# BENCHMARKS.md records the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
ROWS=${1:-5000000}
RUNS=${2:-3}
OUT=${BENCH_OUT:-/tmp/oversight-bench}
cargo build -q --bin oversight
BIN="$CARGO_TARGET_DIR/debug/oversight"
mkdir -p "$OUT"
CSV="$OUT/stops-$ROWS.csv"
[ -f "$CSV" ] || "$BIN" bench gen-stops --rows "$ROWS" --out "$CSV"
echo "file: $CSV ($(du -h "$CSV" | cut -f1)), $ROWS rows; $(nproc) cores"
cat "$CSV" > /dev/null   # warm the page cache for every contender alike

measure() {   # name, command...  (each contender starts from a freshly created and migrated database)
  local name=$1; shift
  rm -f "$OUT/db.duckdb" "$OUT/db.duckdb.wal"
  "$BIN" --db "$OUT/db.duckdb" batches > /dev/null   # create and migrate outside the timing
  /usr/bin/time -f "%e %M %U %S" -o "$OUT/time.txt" "$@" > "$OUT/out.txt"
  read -r secs kb user sys < "$OUT/time.txt"
  printf "%-18s %8.2f s  %10.0f rows/s  %6.2f CPU-s  %7.0f MiB peak\n" "$name" "$secs" \
    "$(echo "$ROWS / $secs" | bc -l)" "$(echo "$user + $sys" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
  eval "T_${name//-/_}=$secs"
}

for run in $(seq "$RUNS"); do
  echo "-- run $run"
  measure duckdb-copy "$BIN" --db "$OUT/db.duckdb" bench duckdb-copy "$CSV"
  measure duckdb-copy-stops "$BIN" --db "$OUT/db.duckdb" bench duckdb-copy-stops "$CSV"
  measure duckdb-insert "$BIN" --db "$OUT/db.duckdb" bench duckdb-insert "$CSV"
  measure oversight "$BIN" --db "$OUT/db.duckdb" import --dataset stops --profile opp --jurisdiction bench "$CSV"
  # The storage floor: DuckDB inserting the rows the import just produced, from memory (no reading or
  # mapping); timed inside the process, on the database the import left.
  "$BIN" --db "$OUT/db.duckdb" bench duckdb-reinsert | sed 's/^/storage floor      /'
  printf "ratio (contender's time / oversight's): %.2fx duckdb-copy-stops, %.2fx duckdb-copy, %.2fx duckdb-insert\n" \
    "$(echo "$T_duckdb_copy_stops / $T_oversight" | bc -l)" "$(echo "$T_duckdb_copy / $T_oversight" | bc -l)" \
    "$(echo "$T_duckdb_insert / $T_oversight" | bc -l)"
done
