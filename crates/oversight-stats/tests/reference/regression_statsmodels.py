"""Reference fits for oversight-stats' regression, HAC and spline code (tests/regression_statsmodels.rs).

Run from this directory:  python3 regression_statsmodels.py > regression_statsmodels.json
Made with statsmodels 0.15.0, patsy 1.0.3, numpy (versions recorded in the output).

Data are synthetic and seeded, written into the JSON so the Rust test fits exactly the same numbers.
Inference is normal-based (use_t=False), as Oversight reports it.
"""
import json
import math

import numpy as np
import pandas as pd
import patsy
import statsmodels
import statsmodels.api as sm
import statsmodels.formula.api as smf

rng = np.random.default_rng(20261122)


def coefs(res):
    ci = res.conf_int(alpha=0.05)
    ci = np.asarray(ci)
    return {
        "names": list(res.model.exog_names),
        "params": [float(v) for v in np.asarray(res.params)],
        "bse": [float(v) for v in np.asarray(res.bse)],
        "pvalues": [float(v) for v in np.asarray(res.pvalues)],
        "ci_low": [float(v) for v in ci[:, 0]],
        "ci_high": [float(v) for v in ci[:, 1]],
    }


def default_lags(t):
    return int(math.floor(4 * (t / 100.0) ** (2.0 / 9.0)))


out = {
    "versions": {"statsmodels": statsmodels.__version__, "patsy": patsy.__version__, "numpy": np.__version__},
    "cases": [],
}

# 1. Interrupted time series, 60 months, event at t0 = 36, on log counts (OLS) and counts (Poisson, offset).
T, t0 = 60, 36
t = np.arange(T, dtype=float)
month = t % 12
post = (t >= t0).astype(float)
since = (t - t0) * post
sin12 = np.sin(2 * np.pi * month / 12)
cos12 = np.cos(2 * np.pi * month / 12)
exposure = 1000 + 5 * t + rng.integers(0, 50, T)
mu = exposure * 0.1 * np.exp(0.004 * t - 0.25 * post + 0.01 * since + 0.15 * sin12 + 0.1 * cos12)
# AR(1) multiplicative noise so HAC matters
e = np.zeros(T)
for i in range(1, T):
    e[i] = 0.5 * e[i - 1] + rng.normal(0, 0.05)
y = rng.poisson(mu * np.exp(e)).astype(float)
X = np.column_stack([np.ones(T), t, post, since, sin12, cos12])
names = ["const", "t", "post", "t_since", "sin12", "cos12"]
lags = default_lags(T)
ols = sm.OLS(np.log(y / exposure), X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=False)
ols_nr = sm.OLS(np.log(y / exposure), X).fit(use_t=False)
pois = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(exposure)).fit(
    cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=False)
pois_nr = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(exposure)).fit(use_t=False)
pois_l5 = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(exposure)).fit(
    cov_type="HAC", cov_kwds={"maxlags": 5, "use_correction": False}, use_t=False)
its = {"X": X.tolist(), "names": names, "y": y.tolist(), "exposure": exposure.tolist(), "default_lags": lags}
out["cases"].append({"kind": "ols_hac", "data": its, "maxlags": lags, "correction": True, "fit": coefs(ols)})
out["cases"].append({"kind": "ols_nonrobust", "data": its, "fit": coefs(ols_nr)})
out["cases"].append({"kind": "poisson_hac", "data": its, "maxlags": lags, "correction": True, "fit": coefs(pois)})
out["cases"].append({"kind": "poisson_nonrobust", "data": its, "fit": coefs(pois_nr)})
out["cases"].append({"kind": "poisson_hac", "data": its, "maxlags": 5, "correction": False, "fit": coefs(pois_l5)})

# 2. Difference in differences: two groups × 48 periods, Poisson with period fixed effects, Driscoll–Kraay.
P, p0 = 48, 30
rows = []
for g in (0, 1):
    for p in range(P):
        base = 80 if g == 0 else 50
        season = 1 + 0.15 * math.sin(2 * math.pi * (p % 12) / 12)
        eff = 0.7 if (g == 1 and p >= p0) else 1.0
        rows.append({"count": rng.poisson(base * season * eff), "group": g, "period": p, "post": int(p >= p0)})
df = pd.DataFrame(rows)
df["group_post"] = df["group"] * df["post"]
dmat = pd.get_dummies(df["period"], prefix="period", drop_first=True).astype(float)
Xd = pd.concat([pd.Series(1.0, index=df.index, name="const"), df[["group"]].astype(float), dmat,
                df[["group_post"]].astype(float)], axis=1)
g_lags = default_lags(P)
did = sm.GLM(df["count"].astype(float), Xd, family=sm.families.Poisson()).fit(
    cov_type="hac-groupsum", cov_kwds={"time": df["period"].values, "maxlags": g_lags}, use_t=False)
did_hac = sm.GLM(df["count"].astype(float), Xd, family=sm.families.Poisson()).fit(
    cov_type="hac-groupsum", cov_kwds={"time": df["period"].values, "maxlags": g_lags, "use_correction": "hac"},
    use_t=False)
dd = {"X": Xd.values.tolist(), "names": list(Xd.columns), "y": df["count"].astype(float).tolist(),
      "time": df["period"].tolist()}
out["cases"].append({"kind": "poisson_groupsum", "data": dd, "maxlags": g_lags, "correction": "cluster",
                     "fit": coefs(did)})
out["cases"].append({"kind": "poisson_groupsum", "data": dd, "maxlags": g_lags, "correction": "hac",
                     "fit": coefs(did_hac)})

# 3. Logistic regression with a centred natural cubic spline (patsy cr) and fixed effects.
n = 3000
minute = rng.integers(17 * 60, 21 * 60, n).astype(float)
dark = (minute + rng.normal(0, 40, n) > 19 * 60).astype(float)
district = rng.choice(["north", "south", "east"], n)
eta = -0.3 - 0.4 * dark + 0.3 * np.sin(minute / 90) + np.where(district == "south", 0.2, 0.0)
yb = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
lg = pd.DataFrame({"y": yb, "dark": dark, "minute": minute, "district": district})
for dfree in range(1, 7):
    # patsy's cr() cannot build df=1 (two knots); the centred natural spline with two knots is the centred
    # linear term, so df=1 is checked against a plain linear term: same fit, same dark and district rows.
    term = "minute" if dfree == 1 else f"cr(minute, df={dfree}, constraints='center')"
    res = smf.glm(f"y ~ dark + {term} + C(district)", lg, family=sm.families.Binomial()).fit(use_t=False)
    case = {"kind": "logit_spline", "df": dfree, "fit": coefs(res)}
    if dfree > 1:
        basis = patsy.dmatrix(f"{term} - 1", lg)
        probe = [float(v) for v in (lg["minute"].min(), 1030.5, 1111.0, 1180.25, 1200.0, lg["minute"].max())]
        probe_basis = patsy.build_design_matrices([basis.design_info], {"minute": np.array(probe)})[0]
        case["probe"] = probe
        case["probe_basis"] = np.asarray(probe_basis).tolist()
    out["cases"].append(case)
out["logit_data"] = {"y": yb.tolist(), "dark": dark.tolist(), "minute": minute.tolist(), "district": district.tolist()}

print(json.dumps(out))
