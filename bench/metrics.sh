#!/usr/bin/env bash
# Metrics benchmark: a full recompute of every indicator over 5 million stops and 1 million crime reports (all
# grains), against the same computation in pandas (bench/metrics_pandas.py) in the same run; then an
# incremental recompute after importing one more month of stops. "oversight full" / "incremental" lines give the
# whole command (process start, opening the database, commit); the "metric run" lines the compute alone.
#   bench/metrics.sh [STOPS] [REPORTS] [RUNS]      (defaults: 5000000 1000000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
STOPS=${1:-5000000}
REPORTS=${2:-1000000}
RUNS=${3:-3}
OUT=${BENCH_OUT:-/tmp/oversight-bench}
cargo build -q --bin oversight
BIN="$CARGO_TARGET_DIR/debug/oversight"
mkdir -p "$OUT"
DB="$OUT/metrics.duckdb"
BASE="$OUT/metrics-base.duckdb"
if [ ! -f "$BASE" ]; then
  "$BIN" bench gen-stops --rows "$STOPS" --out "$OUT/m-stops.csv" --start 2013-01-01 --days 1095
  "$BIN" bench gen-crime --rows "$REPORTS" --out "$OUT/m-crime.csv" --start 2013-01-01 --days 1095
  "$BIN" bench gen-stops --rows $((STOPS / 36)) --out "$OUT/m-stops-next-month.csv.tmp" --seed 9 --start 2016-01-01 --days 31
  # Its own record keys: a key another batch holds is a repeat the importer rejects (raw_row_number is 1, 2, …
  # in every generated file).
  awk 'BEGIN { FS = OFS = "," } NR > 1 { $1 = "next-" $1 } { print }' "$OUT/m-stops-next-month.csv.tmp" > "$OUT/m-stops-next-month.csv"
  rm -f "$OUT/m-stops-next-month.csv.tmp"
  printf 'jurisdiction_id,year,group,population\nbench,2014,all,1000000\nbench,2014,white,500000\nbench,2014,black,250000\nbench,2014,hispanic,150000\nbench,2014,asian/pacific islander,60000\nbench,2014,other,40000\n' > "$OUT/m-pop.csv"
  rm -f "$BASE"*
  "$BIN" --db "$BASE" import --dataset stops --profile opp --jurisdiction bench "$OUT/m-stops.csv" > /dev/null
  "$BIN" --db "$BASE" import --dataset crime-reports --profile canonical "$OUT/m-crime.csv" > /dev/null
  "$BIN" --db "$BASE" import --dataset populations --profile canonical "$OUT/m-pop.csv" > /dev/null
  "$BIN" --db "$BASE" bench export-parquet --table stops --out "$OUT/m-stops.parquet" > /dev/null
  "$BIN" --db "$BASE" bench export-parquet --table crime_reports --out "$OUT/m-crime.parquet" > /dev/null
  "$BIN" --db "$BASE" bench export-parquet --table populations --out "$OUT/m-pop.parquet" > /dev/null
fi
echo "$STOPS stops, $REPORTS crime reports; $(nproc) cores"
# Warm-up (untimed): every contender reads its inputs once, so all of them start with them in the page cache.
cp "$BASE" "$DB"; rm -f "$DB.wal"
"$BIN" --db "$DB" compute --full > /dev/null
python3 bench/metrics_pandas.py "$OUT/m-stops.parquet" "$OUT/m-crime.parquet" "$OUT/m-pop.parquet" "$OUT" > /dev/null
for run in $(seq "$RUNS"); do
  echo "-- run $run"
  cp "$BASE" "$DB"; rm -f "$DB.wal"
  /usr/bin/time -f "oversight full:        %e s wall, %U s user, %M KiB peak" "$BIN" --db "$DB" compute --full | sed -n 1p
  /usr/bin/time -f "pandas full:           %e s wall, %U s user, %M KiB peak" python3 bench/metrics_pandas.py \
    "$OUT/m-stops.parquet" "$OUT/m-crime.parquet" "$OUT/m-pop.parquet" "$OUT"
  "$BIN" --db "$DB" import --dataset stops --profile opp --jurisdiction bench "$OUT/m-stops-next-month.csv" > /dev/null
  /usr/bin/time -f "oversight incremental: %e s wall, %U s user, %M KiB peak" "$BIN" --db "$DB" compute | sed -n 1p
done
