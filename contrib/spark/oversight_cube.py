#!/usr/bin/env python3
"""The daily cube on Spark: reads the records of an Oversight lake and writes the cube in the lake's layout,
for `oversight compute --cube DIR`.

The cube (per jurisdiction, day and group: sums of the stop, search, hit, arrest ... measures) is where the
heavy reading happens; everything after it is small. This job runs the cube's definition, `cube.sql` beside
it, which `oversight lake cube-sql` generates from the same definitions `oversight compute` uses (a test
keeps the committed file equal to them, and `compute --cube` refuses a cube whose SQL digest is not its own).

    oversight lake export --full --to /data/lake
    spark-submit contrib/spark/oversight_cube.py --lake /data/lake --out /data/cube   # or: python3 ... (local)
    oversight compute --cube /data/cube

Input: a *full* lake (the allegations' cube joins allegations to their complaints by complaint_id, which a
public lake leaves out). Every record file is checked against the lake's manifest (sha256) first, unless
--trust-lake. Output: DIR/cube/jurisdiction=…/year=…/*.parquet (dataset, jurisdiction_id, day, dim, grp,
measure, value) and DIR/cube.json (format, the SQL's sha256, the lake's batches, rows, each file's sha256).
Needs pyspark (PyPI) and a Java runtime; tested with Spark 4.0 on OpenJDK 17 in local mode.
"""

import argparse
import hashlib
import json
import os
import re
import sys

LAKE_FORMAT = "oversight-lake/1"
CUBE_FORMAT = "oversight-cube/1"
# The lake's record tables the cube definitions read, by table name (the views the SQL names).
TABLES = ["stops", "detainers", "crime_reports", "complaints", "allegations"]


def sha256_file(path):
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def fail(msg):
    print(f"oversight_cube: {msg}", file=sys.stderr)
    sys.exit(2)


def read_lake_manifest(lake, trust):
    path = os.path.join(lake, "manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: not a readable lake manifest ({e})")
    if m.get("format") != LAKE_FORMAT:
        fail(f"{lake}: format {m.get('format')!r}, this job reads {LAKE_FORMAT}")
    if not m.get("full"):
        fail(f"{lake} is a public lake: the allegations' cube needs complaint_id; export it with --full")
    if not trust:
        for f in m["files"]:
            if not f["name"].startswith("records/"):
                continue
            size, digest = sha256_file(os.path.join(lake, f["name"]))
            if size != f["bytes"] or digest != f["sha256"]:
                fail(f"{f['name']} does not match the lake's manifest: refused")
    return m


def statements(sql):
    """The SQL's queries (one per cube), each with the tables it reads."""
    out = []
    for stmt in sql.split(";\n"):
        body = "\n".join(line for line in stmt.splitlines() if not line.lstrip().startswith("--")).strip()
        if not body:
            continue
        reads = sorted(set(re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", body)) & set(TABLES))
        out.append((body, reads))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", required=True, help="a full lake (oversight lake export --full)")
    ap.add_argument("--out", required=True, help="a new directory for the cube")
    ap.add_argument("--sql", default=os.path.join(here, "cube.sql"), help="the cube definition (default: beside me)")
    ap.add_argument("--master", default=None, help="Spark master (default: spark-submit's; local[*] if none)")
    ap.add_argument("--trust-lake", action="store_true", help="skip the sha256 check of the lake's record files")
    args = ap.parse_args()

    if os.path.exists(args.out) and os.listdir(args.out):
        fail(f"{args.out} is not empty: the cube goes to a new directory")
    manifest = read_lake_manifest(args.lake, args.trust_lake)
    with open(args.sql, "rb") as f:
        sql_bytes = f.read()

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    builder = SparkSession.builder.appName("oversight-cube")
    if args.master:
        builder = builder.master(args.master)  # else spark-submit's, which is local[*] when none is given
    spark = (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    present = set()
    for t in TABLES:
        path = os.path.join(args.lake, "records", f"dataset={t}")
        if os.path.isdir(path):
            df = spark.read.option("basePath", path).parquet(path)
            # The partition columns are copies of columns in the files (jurisdiction_id, the year of the date).
            df.drop("jurisdiction", "year").createOrReplaceTempView(t)
            present.add(t)

    parts = []
    for body, reads in statements(sql_bytes.decode("utf-8")):
        missing = [t for t in reads if t not in present]
        if missing:
            # The lake has no records of these tables: the cube has no rows for them.
            print(f"oversight_cube: no records of {', '.join(missing)}: that cube is empty", file=sys.stderr)
            continue
        parts.append(spark.sql(body))
    if not parts:
        fail(f"{args.lake} has no records any cube reads")
    cube = parts[0]
    for p in parts[1:]:
        cube = cube.unionByName(p)

    out_cube = os.path.join(args.out, "cube")
    (
        cube.withColumn("jurisdiction", F.col("jurisdiction_id"))
        .withColumn("year", F.year("day"))
        .write.partitionBy("jurisdiction", "year")
        .option("compression", "zstd")
        .parquet(out_cube)
    )
    rows = spark.read.parquet(out_cube).count()
    version = spark.version
    spark.stop()

    files = []
    for root, _dirs, names in os.walk(out_cube):
        for n in names:
            if n.endswith(".parquet"):
                p = os.path.join(root, n)
                size, digest = sha256_file(p)
                files.append({"name": os.path.relpath(p, args.out), "bytes": size, "sha256": digest})
    files.sort(key=lambda f: f["name"])
    m = {
        "format": CUBE_FORMAT,
        "definition_sha256": hashlib.sha256(sql_bytes).hexdigest(),
        "batches": manifest["batches"],
        "built_by": f"spark {version}",
        "rows": rows,
        "files": files,
    }
    with open(os.path.join(args.out, "cube.json"), "w", encoding="utf-8") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
    print(f"wrote the cube of {args.lake} to {out_cube}: {rows} rows in {len(files)} files; manifest {args.out}/cube.json")


if __name__ == "__main__":
    main()
