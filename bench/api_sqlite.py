"""Builds the SQLite files Datasette serves in bench/api.sh, from the same rows Oversight serves.

  python3 bench/api_sqlite.py points BASE_URL OUT.db      every series point of demo-city (all indicators, grains)
  python3 bench/api_sqlite.py csv FILE.csv OUT.db          a CSV extract (the stops table)
Made with Python 3 and its sqlite3 module; Datasette (pip install datasette) serves the result.
"""
import csv
import json
import sqlite3
import sys
import urllib.request

mode, src, out = sys.argv[1:4]
db = sqlite3.connect(out)
if mode == "points":
    db.execute("DROP TABLE IF EXISTS metric_points")
    db.execute("""CREATE TABLE metric_points (indicator TEXT, jurisdiction_id TEXT, grain TEXT, period_start TEXT,
        "group" TEXT, numerator REAL, denominator REAL, value REAL, ci_low REAL, ci_high REAL, ci_method TEXT,
        suppressed INTEGER, low_reliability INTEGER, note TEXT)""")
    cat = json.load(urllib.request.urlopen(f"{src}/v1/indicators"))
    n = 0
    for ind in cat:
        for grain in ["month", "quarter", "year", "all"]:
            url = f"{src}/v1/indicators/{ind['id']}/series?jurisdiction=demo-city&grain={grain}"
            rows = json.load(urllib.request.urlopen(url))
            db.executemany("INSERT INTO metric_points VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           [(ind["id"], "demo-city", grain, r["period_start"], r["group"], r["numerator"], r["denominator"],
                             r["value"], r["ci_low"], r["ci_high"], r["ci_method"], r["suppressed"], r["low_reliability"], r["note"])
                            for r in rows])
            n += len(rows)
    db.execute('CREATE INDEX points_key ON metric_points (indicator, jurisdiction_id, grain, "group", period_start)')
    print(f"{n} points")
else:
    with open(src, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        db.execute("DROP TABLE IF EXISTS stops")
        db.execute("CREATE TABLE stops (" + ", ".join(f'"{c}"' for c in header) + ")")
        q = "INSERT INTO stops VALUES (" + ",".join("?" * len(header)) + ")"
        batch = []
        n = 0
        for row in r:
            batch.append(row)
            if len(batch) == 50000:
                db.executemany(q, batch)
                n += len(batch)
                batch = []
        db.executemany(q, batch)
        n += len(batch)
    print(f"{n} rows")
db.commit()
