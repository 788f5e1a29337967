"""The peer of the metrics benchmark: Oversight's stop and crime-report indicators written idiomatically in
pandas (groupby/agg, vectorised intervals), on the same records (exported to Parquet), all grains.

    python3 bench/metrics_pandas.py STOPS.parquet CRIME.parquet POPULATIONS.parquet OUT_DIR

It computes what `oversight compute` does for these datasets: counts by race, sex and age band; search,
arrest, citation and hit rates with Wilson intervals; stops per 1,000 residents (exact Poisson); ratios to
the white group (Katz log, Poisson log-Wald); hit-rate differences (Wald); crime-report counts and race
shares; for week, month, quarter, year and all time. Tested with pandas 3.1, numpy 2.4, scipy 1.17, pyarrow 26.
"""
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

Z = stats.norm.ppf(0.975)
GRAINS = {"week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y", "all": None}
AGE_BINS = [-1, 17, 24, 34, 44, 54, 64, 200]
AGE_LABELS = ["under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 and over"]


def wilson(x, n):
    p = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
    d = 1 + Z**2 / n
    c = (p + Z**2 / (2 * n)) / d
    h = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / d
    return p, c - h, c + h


def katz(a, n1, c, n2):
    rr = (a / n1) / (c / n2)
    se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    return rr, np.exp(np.log(rr) - Z * se), np.exp(np.log(rr) + Z * se)


def with_period(df, grain):
    out = df.copy()
    if GRAINS[grain] is None:
        out["period"] = pd.Timestamp("1900-01-01")
    else:
        out["period"] = out["date"].dt.to_period(GRAINS[grain]).dt.start_time
    return out


def stop_indicators(stops, pops):
    stops = stops.assign(
        race=stops["subject_race"].fillna("(missing)"),
        sex=stops["subject_sex"].fillna("(missing)"),
        age=pd.cut(stops["subject_age"], AGE_BINS, labels=AGE_LABELS).astype("object").fillna("(missing)"),
        all="all",
        searched=stops["search_conducted"],
        arrested=stops["arrest_made"].fillna(stops["outcome"].eq("arrest").where(stops["outcome"].notna())),
        cited=stops["citation_issued"].fillna(stops["outcome"].eq("citation").where(stops["outcome"].notna())),
    )
    stops["found_known"] = stops["searched"].fillna(False) & stops["contraband_found"].notna()
    stops["found"] = stops["searched"].fillna(False) & stops["contraband_found"].fillna(False)
    span = stops["date"].min(), stops["date"].max()
    out = []
    for grain in GRAINS:
        s = with_period(stops, grain)
        for dim in ["all", "race", "sex", "age"]:
            g = s.groupby(["jurisdiction_id", "period", dim]).agg(
                stops=("date", "size"),
                searches=("searched", "sum"),
                search_known=("searched", "count"),
                arrests=("arrested", "sum"),
                arrest_known=("arrested", "count"),
                citations=("cited", "sum"),
                citation_known=("cited", "count"),
                found=("found", "sum"),
                found_known=("found_known", "sum"),
            ).reset_index().rename(columns={dim: "group"})
            g["grain"], g["dim"] = grain, dim
            for name, x, n in [("search_rate", "searches", "search_known"), ("arrest_rate", "arrests", "arrest_known"),
                               ("citation_rate", "citations", "citation_known"), ("hit_rate", "found", "found_known")]:
                g[name], g[name + "_lo"], g[name + "_hi"] = wilson(g[x].astype(float), g[n].astype(float))
            if dim in ("all", "race"):
                # Residents: nearest-year population of the group, annualised over the days covered.
                start = g["period"].clip(lower=span[0])
                if GRAINS[grain] is None:
                    end = pd.Series(span[1], index=g.index)
                else:
                    end = g["period"].dt.to_period(GRAINS[grain]).dt.end_time.dt.normalize().clip(upper=span[1])
                days = (end - start).dt.days + 1
                key = g["group"] if dim != "all" else pd.Series("all", index=g.index)
                pop = key.map(pops).astype(float)
                py = pop * days / 365.25
                g["rate_per_1000"] = 1000 * g["stops"] / py
                g["rate_lo"] = 1000 * stats.chi2.ppf(0.025, 2 * g["stops"]) / 2 / py
                g["rate_hi"] = 1000 * stats.chi2.ppf(0.975, 2 * (g["stops"] + 1)) / 2 / py
                g["person_years"] = py
            if dim == "race":
                ref = g[g["group"] == "white"]
                m = g.merge(ref, on=["jurisdiction_id", "period"], how="left", suffixes=("", "_ref"))
                for name, x, n in [("search_rate_ratio", "searches", "search_known"), ("arrest_rate_ratio", "arrests", "arrest_known"),
                                   ("citation_rate_ratio", "citations", "citation_known")]:
                    m[name], m[name + "_lo"], m[name + "_hi"] = katz(m[x], m[n], m[x + "_ref"], m[n + "_ref"])
                rr = (m["stops"] / m["person_years"]) / (m["stops_ref"] / m["person_years_ref"])
                se = np.sqrt(1 / m["stops"] + 1 / m["stops_ref"])
                m["rate_ratio"], m["rate_ratio_lo"], m["rate_ratio_hi"] = rr, rr * np.exp(-Z * se), rr * np.exp(Z * se)
                p1, p2 = m["found"] / m["found_known"], m["found_ref"] / m["found_known_ref"]
                se = np.sqrt(p1 * (1 - p1) / m["found_known"] + p2 * (1 - p2) / m["found_known_ref"])
                m["hit_rate_difference"], m["hit_diff_lo"], m["hit_diff_hi"] = p1 - p2, p1 - p2 - Z * se, p1 - p2 + Z * se
                g = m
            out.append(g)
    return pd.concat(out, ignore_index=True)


def crime_indicators(crime):
    crime = crime.assign(race=crime["victim_race"].fillna("(missing)"), offense=crime["offense_category"].fillna("(missing)"),
                         all="all", date=crime["reported_date"])
    out = []
    for grain in GRAINS:
        c = with_period(crime, grain)
        total = c.groupby(["jurisdiction_id", "period"]).size().rename("total")
        for dim in ["all", "race", "offense"]:
            g = c.groupby(["jurisdiction_id", "period", dim]).size().rename("count").reset_index().rename(columns={dim: "group"})
            g = g.join(total, on=["jurisdiction_id", "period"])
            g["grain"], g["dim"] = grain, dim
            if dim == "race":
                g["share"], g["share_lo"], g["share_hi"] = wilson(g["count"].astype(float), g["total"].astype(float))
            out.append(g)
    return pd.concat(out, ignore_index=True)


def main():
    stops_path, crime_path, pops_path, out_dir = sys.argv[1:5]
    t0 = time.perf_counter()
    stops = pd.read_parquet(stops_path)
    stops["date"] = pd.to_datetime(stops["date"])
    crime = pd.read_parquet(crime_path)
    crime["reported_date"] = pd.to_datetime(crime["reported_date"])
    pops_df = pd.read_parquet(pops_path)
    pops = pops_df.set_index("group")["population"].to_dict()
    t1 = time.perf_counter()
    s = stop_indicators(stops, pops)
    c = crime_indicators(crime)
    t2 = time.perf_counter()
    s.to_parquet(f"{out_dir}/pandas_stops.parquet")
    c.to_parquet(f"{out_dir}/pandas_crime.parquet")
    t3 = time.perf_counter()
    print(f"pandas: read {t1 - t0:.2f} s, compute {t2 - t1:.2f} s, write {t3 - t2:.2f} s, total {t3 - t0:.2f} s; "
          f"{len(s) + len(c)} rows of results")


if __name__ == "__main__":
    main()
