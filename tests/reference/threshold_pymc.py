"""Reference results for `oversight analyze threshold` (tests/threshold.rs): the threshold test fitted with PyMC.

Run from the repository root, with ../shared/data beside it:
    python3 tests/reference/threshold_pymc.py > tests/reference/threshold_pymc.json
Made with PyMC 5.28.5, PyTensor 2.38.3, ArviZ 0.23.4 (versions recorded in the output). A dev tool: CI reads
the committed JSON and never needs PyMC.

The model is the one Oversight fits (crates/oversight-threshold/src/model.rs), written out independently:
the Stanford Open Policing Project's threshold_test.stan (Pierson et al. 2018, discriminant distribution,
hierarchical over districts). For each race r and district d: phi = logistic(phi_r + phi_d),
delta = exp(delta_r + delta_d), the cell's signal threshold t = t_r + sigma_t z, z ~ N(0, 1); search rate
phi Q(t - delta) + (1 - phi) Q(t), hit rate phi Q(t - delta) / search rate; searches ~ Binomial(stops,
search rate), hits ~ Binomial(searches, hit rate), written as the equal multinomial
h ln A + (s - h) ln B + (n - s) ln C with normal log CDFs for stability (binomial coefficients dropped).
Priors: sigma_t ~ HalfNormal(1); t_r, mu_phi, mu_delta ~ N(0, 1); phi_r ~ N(mu_phi, 0.1);
delta_r ~ N(mu_delta, 0.1); phi_d, delta_d ~ N(0, 0.1) except the first district's, pinned at 0.
Reported threshold of a race: the probability of contraband at the signal threshold,
logistic(logit phi + delta t - delta^2 / 2), averaged over districts weighted by each district's stops of
the races in the test. Monte Carlo standard errors of the means by ArviZ (method "mean").

Counting rules, as Oversight's: stops with a date (the importer rejects the others) of the races tested, with a district and a recorded search decision;
a searched stop whose contraband result is missing is left out (the count is recorded).

Data sets: the committed fixture's demo-city (fixtures/stops.csv: 5 districts, black drivers searched twice
as often as white at equal hit rates), and the Hartford, CT stops of the Open Policing Project
(../shared/data/opp_hartford_ct, 17 districts).
"""
import json
import sys

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt

RACES = ["black", "hispanic", "white"]
DRAWS, TUNE, CHAINS = 3000, 1000, 4


def counts(stops: pd.DataFrame):
    # Rows with no date never reach the database (the importer rejects them: 4 in Hartford's file).
    stops = stops[stops.date.notna()]
    s = stops[stops.subject_race.isin(RACES) & stops.district.notna() & stops.search_conducted.notna()]
    searched = s.search_conducted.astype(str).str.upper() == "TRUE"
    missing = searched & s.contraband_found.isna()
    s = s[~missing].copy()
    s["searched"] = (s.search_conducted.astype(str).str.upper() == "TRUE").astype(int)
    s["hit"] = (s.searched == 1) & (s.contraband_found.astype(str).str.upper() == "TRUE")
    g = s.groupby(["district", "subject_race"]).agg(stops=("searched", "size"), searches=("searched", "sum"),
                                                   hits=("hit", "sum")).reset_index()
    return g, int(missing.sum())


def fit(g: pd.DataFrame, seed: int):
    districts = sorted(g.district.unique())
    race = np.array([RACES.index(r) for r in g.subject_race])
    dist = np.array([districts.index(d) for d in g.district])
    n, s, h = (g[c].to_numpy().astype(float) for c in ("stops", "searches", "hits"))
    R, D = len(RACES), len(districts)
    std = pm.Normal.dist(0.0, 1.0)
    with pm.Model():
        sigma_t = pm.HalfNormal("sigma_t", 1.0)
        t_r = pm.Normal("t_r", 0.0, 1.0, shape=R)
        # Non-centred, as OPP writes it and as Oversight samples data sets with fewer than 20 cells per race
        # (the posterior is the same either way).
        t = pm.Deterministic("t", t_r[race] + sigma_t * pm.Normal("t_raw", 0.0, 1.0, shape=len(g)))
        mu_phi = pm.Normal("mu_phi", 0.0, 1.0)
        mu_delta = pm.Normal("mu_delta", 0.0, 1.0)
        phi_r = pm.Normal("phi_r", mu_phi, 0.1, shape=R)
        delta_r = pm.Normal("delta_r", mu_delta, 0.1, shape=R)
        phi_d = pt.concatenate([pt.zeros(1), pm.Normal("phi_d_raw", 0.0, 0.1, shape=D - 1)])
        delta_d = pt.concatenate([pt.zeros(1), pm.Normal("delta_d_raw", 0.0, 0.1, shape=D - 1)])
        a = phi_r[race] + phi_d[dist]
        delta = pt.exp(delta_r[race] + delta_d[dist])
        lphi, l1phi = -pt.softplus(-a), -pt.softplus(a)
        la = lphi + pm.logcdf(std, delta - t)
        lb = l1phi + pm.logcdf(std, -t)
        lc = pt.logaddexp(lphi + pm.logcdf(std, t - delta), l1phi + pm.logcdf(std, t))
        pm.Potential("searches_and_hits", (h * la + (s - h) * lb + (n - s) * lc).sum())
        pm.Deterministic("cell_threshold", pm.math.sigmoid(a + delta * t - delta ** 2 / 2))
        idata = pm.sample(draws=DRAWS, tune=TUNE, chains=CHAINS, cores=2, target_accept=0.8, random_seed=seed,
                          progressbar=False)
    cell = idata.posterior["cell_threshold"].values  # chain, draw, cell
    w = np.array([g[g.district == d].stops.sum() for d in g.district], dtype=float)
    by_race = {}
    for r, name in enumerate(RACES):
        m = race == r
        by_race[name] = (cell[:, :, m] * w[m]).sum(axis=2) / w[m].sum()
    out = {}
    for name, x in by_race.items():
        e = {"mean": float(x.mean()), "sd": float(x.std()),
             "mcse": float(np.ravel(az.mcse(x, method="mean"))[0]),
             "ci_low": float(np.quantile(x, 0.025)), "ci_high": float(np.quantile(x, 0.975))}
        if name != "white":
            d = x - by_race["white"]
            e["difference"] = {"mean": float(d.mean()), "mcse": float(np.ravel(az.mcse(d, method="mean"))[0]),
                               "ci_low": float(np.quantile(d, 0.025)), "ci_high": float(np.quantile(d, 0.975))}
        out[name] = e
    summary = az.summary(idata, var_names=["~cell_threshold", "~t"], round_to="none")
    return {
        "districts": D, "cells": len(g),
        "cells_counts": g.to_dict(orient="records"),
        "races": out,
        "max_r_hat": float(summary["r_hat"].max()), "min_ess_bulk": float(summary["ess_bulk"].min()),
        "divergences": int(idata.sample_stats["diverging"].sum()),
    }


def main():
    fixture = pd.read_csv("fixtures/stops.csv", low_memory=False)
    demo, demo_missing = counts(fixture[fixture.jurisdiction_id == "demo-city"])
    hartford_raw = pd.read_csv("../shared/data/opp_hartford_ct/ct_hartford_2020_04_01.csv", low_memory=False)
    hartford, hartford_missing = counts(hartford_raw)
    print("fitting demo-city", file=sys.stderr)
    a = fit(demo, 1)
    print("fitting hartford", file=sys.stderr)
    b = fit(hartford, 2)
    a["searched_without_result"] = demo_missing
    b["searched_without_result"] = hartford_missing
    json.dump({
        "versions": {"pymc": pm.__version__, "pytensor": pytensor.__version__, "arviz": az.__version__,
                     "numpy": np.__version__, "pandas": pd.__version__},
        "settings": {"draws": DRAWS, "tune": TUNE, "chains": CHAINS, "target_accept": 0.8, "races": RACES,
                     "reference": "white"},
        "demo-city": a,
        "hartford": b,
    }, sys.stdout, indent=1, default=int)
    print()


if __name__ == "__main__":
    main()
