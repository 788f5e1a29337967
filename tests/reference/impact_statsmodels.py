"""Reference results for `oversight analyze its|did|vod` on the committed fixtures (tests/analysis.rs).

Run from the repository root:  python3 tests/reference/impact_statsmodels.py > tests/reference/impact_statsmodels.json
Made with statsmodels 0.15.0, patsy 1.0.3, astral 3.2, pandas (versions recorded in the output).

Everything is rebuilt here from fixtures/*.csv independently of Oversight: monthly counts of crime reports
by victim race, the interrupted time series and difference-in-differences fits, and the veil-of-darkness
sample and fit. Inference is normal-based (use_t=False) for the estimator named `hac` (Newey-West for the
ITS, Driscoll-Kraay for the DiD, as statsmodels computes them).

The default inference, `quasi-ar1`, is computed here from its definition with dense numpy matrices on the
statsmodels fits (Oversight computes it with recursions): dispersion phi = Pearson chi2 / (n - k) (at least 1
for Poisson); rho the root in [0, 0.95] of E[r'Lr]/E[r'r] = observed lag-1 autocorrelation of the Pearson
residuals, with r = (I - H) e, E under AR(1) rho errors (scipy's brentq); covariance
V = B X' D R D X B, D = diag(sqrt(phi v)); Student t on each coefficient's Satterthwaite degrees of freedom,
df_j = 2 / (Var(log phi) + (d log V_jj / d rho)^2 Var(rho)), m = n - k, Var(log phi) = 2(1 + rho^2)/(m(1 - rho^2)),
Var(rho) = (1 - rho^2)/(m E'(rho)^2); the derivatives here analytic (dR/drho = |i-j| rho^(|i-j|-1)), where
Oversight takes central differences.

Sunset and dusk for the veil-of-darkness sample: NOAA's algorithm as Oversight implements it (ported below),
asserted here to agree with astral within 2 minutes on every date. astral itself differs from it by up to
~25 seconds, and a stop recorded in the minute a boundary falls in would flip between light, twilight and
dark (about 17 of 15,519 fixture stops do): the fit comparison is about the statistics, so both sides use
the same sun times; the solar agreement is checked separately (crates/oversight-stats/tests/solar_astral.rs).
"""
import datetime as dt
import json
import math
from zoneinfo import ZoneInfo

import astral
import numpy as np
import pandas as pd
import patsy
import statsmodels
import statsmodels.api as sm
import statsmodels.formula.api as smf
import scipy
from scipy import optimize, stats
from astral import LocationInfo
from astral.sun import sun

EVENT = pd.Timestamp("2019-01-01")


def default_lags(t):
    return int(math.floor(4 * (t / 100.0) ** (2.0 / 9.0)))


def effect(res, name):
    i = list(res.model.exog_names).index(name)
    ci = np.asarray(res.conf_int(alpha=0.05))[i]
    return {"estimate": float(np.asarray(res.params)[i]), "se": float(np.asarray(res.bse)[i]),
            "ci_low": float(ci[0]), "ci_high": float(ci[1]), "p_value": float(np.asarray(res.pvalues)[i])}


def quasi_ar1(X, y, mu, var, poisson, series, params, level=0.95):
    """Estimate, SE, interval and p of every column under the quasi-likelihood AR(1) covariance."""
    X = np.asarray(X, dtype=float)
    n, k = X.shape
    r = (y - mu) / np.sqrt(var)
    phi = (r ** 2).sum() / (n - k)
    if poisson:
        phi = max(phi, 1.0)
    labels = np.zeros(n, dtype=int) if series is None else np.asarray(series)
    pos = np.zeros(n, dtype=int)
    seen, prev = {}, [None] * n
    for i, l in enumerate(labels):
        pos[i] = seen.get(l, 0)
        seen[l] = pos[i] + 1
        for j in range(i - 1, -1, -1):
            if labels[j] == l:
                prev[i] = j
                break
    same = labels[:, None] == labels[None, :]
    lag = np.abs(pos[:, None] - pos[None, :])
    L = np.zeros((n, n))
    for i, p in enumerate(prev):
        if p is not None:
            L[i, p] = L[p, i] = 0.5
    W = np.diag(var)
    bread = np.linalg.inv(X.T @ W @ X)
    Wh = np.diag(np.sqrt(var))
    M = np.eye(n) - Wh @ X @ bread @ X.T @ Wh

    def R(rho):
        return np.where(same, rho ** lag, 0.0)

    def dR(rho):
        return np.where(same & (lag > 0), lag * rho ** np.maximum(lag - 1, 0), 0.0)

    def expected(rho):
        return np.trace(M @ L @ M @ R(rho)) / np.trace(M @ R(rho))

    observed = sum(r[i] * r[p] for i, p in enumerate(prev) if p is not None) / (r ** 2).sum()
    if expected(0.0) >= observed:
        rho = 0.0
    elif expected(0.95) <= observed:
        rho = 0.95
    else:
        rho = optimize.brentq(lambda q: expected(q) - observed, 0.0, 0.95, xtol=1e-14)
    D = np.diag(np.sqrt(phi * var))
    cov = bread @ X.T @ D @ R(rho) @ D @ X @ bread
    dcov = bread @ X.T @ D @ dR(rho) @ D @ X @ bread
    m = n - k
    var_log_phi = 2 * (1 + rho ** 2) / (m * (1 - rho ** 2))
    mr, mdr = np.trace(M @ R(rho)), np.trace(M @ dR(rho))
    slope = (np.trace(M @ L @ M @ dR(rho)) * mr - np.trace(M @ L @ M @ R(rho)) * mdr) / mr ** 2
    var_rho = (1 - rho ** 2) / (m * slope ** 2)
    out = {}
    for i, name in enumerate(params.index):
        df = max(1.0, 2 / (var_log_phi + (dcov[i, i] / cov[i, i]) ** 2 * var_rho))
        crit = stats.t.ppf(0.5 + level / 2, df)
        est, se = float(params.iloc[i]), float(math.sqrt(cov[i, i]))
        out[name] = {"estimate": est, "se": se, "ci_low": est - crit * se, "ci_high": est + crit * se,
                     "p_value": float(2 * stats.t.sf(abs(est / se), df)), "df": float(df)}
    return out, {"dispersion": float(phi), "ar1": float(rho)}


reports = pd.read_csv("fixtures/crime_reports.csv", parse_dates=["reported_date"])
reports = reports[reports.jurisdiction_id == "demo-city"]
reports["month"] = reports.reported_date.dt.to_period("M").dt.to_timestamp()
months = pd.date_range("2016-01-01", "2020-12-01", freq="MS")
by_race = reports.groupby(["month", "victim_race"]).size().unstack(fill_value=0).reindex(months, fill_value=0)
total = by_race.sum(axis=1)

out = {"versions": {"statsmodels": statsmodels.__version__, "patsy": patsy.__version__, "astral": astral.__version__,
                    "pandas": pd.__version__, "numpy": np.__version__, "scipy": scipy.__version__}, "its": [], "did": []}

# Interrupted time series.
T = len(months)
t = np.arange(T, dtype=float)
post = (months >= EVENT).astype(float)
t0 = int(np.argmax(post))
since = (t - t0) * post
phase = 2 * np.pi * (months.month - 1) / 12
X = pd.DataFrame({"const": 1.0, "t": t, "post": post, "t_since_event": since, "season_sin": np.sin(phase),
                  "season_cos": np.cos(phase)})
lags = default_lags(T)
for race in ["hispanic", "white"]:
    y = by_race[race].values.astype(float)
    for model in ["poisson", "ols"]:
        if model == "poisson":
            res = sm.GLM(y, X, family=sm.families.Poisson()).fit(
                cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=False)
        else:
            res = sm.OLS(np.log(y), X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True},
                                           use_t=False)
        if model == "poisson":
            q, qinfo = quasi_ar1(X, y, np.asarray(res.mu), np.asarray(res.mu), True, None, res.params)
        else:
            fitted = np.asarray(res.fittedvalues)
            q, qinfo = quasi_ar1(X, np.log(y), fitted, np.ones(T), False, None, res.params)
        out["its"].append({"group": f"race:{race}", "model": model, "n": T, "maxlags": lags,
                           "level_change": effect(res, "post"), "slope_change": effect(res, "t_since_event"),
                           "pre_trend": effect(res, "t"),
                           "quasi_ar1": {"level_change": q["post"], "slope_change": q["t_since_event"],
                                         "pre_trend": q["t"], **qinfo}})

# Difference in differences: hispanic vs everyone else, and vs white.
for ref in [None, "white"]:
    g = by_race["hispanic"].values.astype(float)
    r = (total - by_race["hispanic"]).values.astype(float) if ref is None else by_race[ref].values.astype(float)
    a_pre, a_post = g[post == 0].sum(), g[post == 1].sum()
    c_pre, c_post = r[post == 0].sum(), r[post == 1].sum()
    ror = (a_post / a_pre) / (c_post / c_pre)
    se = math.sqrt(1 / a_pre + 1 / a_post + 1 / c_pre + 1 / c_post)
    rows = []
    for i in range(T):
        rows.append({"count": g[i], "group": 1.0, "period": i, "post": post[i]})
        rows.append({"count": r[i], "group": 0.0, "period": i, "post": post[i]})
    panel = pd.DataFrame(rows)
    dm = pd.get_dummies(panel["period"], prefix="period", drop_first=True).astype(float)
    Xd = pd.concat([pd.Series(1.0, index=panel.index, name="const"), panel[["group"]], dm,
                    (panel["group"] * panel["post"]).rename("group:post")], axis=1)
    res = sm.GLM(panel["count"], Xd, family=sm.families.Poisson()).fit(
        cov_type="hac-groupsum", cov_kwds={"time": panel["period"].values, "maxlags": lags}, use_t=False)
    mu = np.asarray(res.mu)
    q, qinfo = quasi_ar1(Xd, panel["count"].values.astype(float), mu, mu, True, panel["group"].values.astype(int),
                         res.params)
    qi = q["group:post"]
    crit = (qi["ci_high"] - qi["estimate"]) / qi["se"]
    out["did"].append({"group": "race:hispanic", "reference": None if ref is None else f"race:{ref}",
                       "counts": [a_pre, a_post, c_pre, c_post], "ratio_of_ratios": ror, "se_log": se,
                       "ci_low": math.exp(math.log(ror) - 1.959963984540054 * se),
                       "ci_high": math.exp(math.log(ror) + 1.959963984540054 * se),
                       "regression": effect(res, "group:post"),
                       "quasi_ar1": {"regression": qi, "se_log": qi["se"],
                                     "ci_low": math.exp(math.log(ror) - crit * qi["se"]),
                                     "ci_high": math.exp(math.log(ror) + crit * qi["se"]), **qinfo}})

def noaa_setting_minutes_utc(date, lat, lng, zenith):
    """Minutes after UTC midnight of `date` when the setting sun reaches `zenith` (oversight-stats solar.rs)."""
    jd = (date - dt.date(2000, 1, 1)).days + 2451544.5

    def pass_(t):
        l0 = (280.46646 + t * (36000.76983 + 0.0003032 * t)) % 360.0
        m = 357.52911 + t * (35999.05029 - 0.0001537 * t)
        e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
        mr = math.radians(m)
        c = (math.sin(mr) * (1.914602 - t * (0.004817 + 0.000014 * t)) + math.sin(2 * mr) * (0.019993 - 0.000101 * t)
             + math.sin(3 * mr) * 0.000289)
        omega = 125.04 - 1934.136 * t
        lam = l0 + c - 0.00569 - 0.00478 * math.sin(math.radians(omega))
        seconds = 21.448 - t * (46.8150 + t * (0.00059 - t * 0.001813))
        eps = 23.0 + (26.0 + seconds / 60.0) / 60.0 + 0.00256 * math.cos(math.radians(omega))
        decl = math.degrees(math.asin(math.sin(math.radians(eps)) * math.sin(math.radians(lam))))
        y = math.tan(math.radians(eps) / 2) ** 2
        l0r = math.radians(l0)
        eot = 4 * math.degrees(y * math.sin(2 * l0r) - 2 * e * math.sin(mr) + 4 * e * y * math.sin(mr) * math.cos(2 * l0r)
                                - 0.5 * y * y * math.sin(4 * l0r) - 1.25 * e * e * math.sin(2 * mr))
        la, de = math.radians(lat), math.radians(decl)
        cos_h = (math.cos(math.radians(zenith)) - math.sin(la) * math.sin(de)) / (math.cos(la) * math.cos(de))
        h = -math.acos(cos_h)
        return 720.0 + 4.0 * (-lng - math.degrees(h)) - eot

    first = pass_((jd - 2451545.0) / 36525.0)
    return pass_((jd + first / 1440.0 - 2451545.0) / 36525.0)


# Veil of darkness, demo-city 2016-2020, black vs white.
st = pd.read_csv("fixtures/stops.csv", parse_dates=["date"])
st = st[(st.jurisdiction_id == "demo-city") & st.time.notna()]
tz = ZoneInfo("America/Chicago")
loc = LocationInfo("demo-city", "", "America/Chicago", 41.88, -87.63)
sunset, dusk = {}, {}
utc = dt.timezone.utc
for d in pd.date_range("2016-01-01", "2020-12-31"):
    day = d.date()
    local_midnight = dt.datetime(d.year, d.month, d.day)

    def local_minutes(zenith):
        m = noaa_setting_minutes_utc(day, 41.88, -87.63, zenith)
        when = dt.datetime(d.year, d.month, d.day, tzinfo=utc) + dt.timedelta(minutes=m)
        return (when.astimezone(tz).replace(tzinfo=None) - local_midnight).total_seconds() / 60

    sunset[day], dusk[day] = local_minutes(90.833), local_minutes(96.0)
    a = sun(loc.observer, date=day, tzinfo=tz, dawn_dusk_depression=6)
    aware_midnight = dt.datetime(d.year, d.month, d.day, tzinfo=tz)
    assert abs((a["sunset"] - aware_midnight).total_seconds() / 60 - sunset[day]) < 2, day
    assert abs((a["dusk"] - aware_midnight).total_seconds() / 60 - dusk[day]) < 2, day
window = {}
for d, m in dusk.items():
    lo, hi = window.get(d.year, (1e9, -1e9))
    window[d.year] = (min(lo, m), max(hi, m))
hm = st.time.str.split(":", expand=True).astype(int)
st["minute"] = hm[0] * 60 + hm[1]
st["day"] = st.date.dt.date
st["year"] = st.date.dt.year
st["sunset"] = st.day.map(sunset)
st["dusk"] = st.day.map(dusk)
st["w_lo"] = st.year.map(lambda y: window[y][0])
st["w_hi"] = st.year.map(lambda y: window[y][1])
inside = (st.minute >= st.w_lo) & (st.minute <= st.w_hi)
twilight = (st.minute >= st.sunset) & (st.minute < st.dusk)
v = st[inside & ~twilight & st.subject_race.isin(["black", "white"])].copy()
v["y"] = (v.subject_race == "black").astype(float)
v["dark"] = (v.minute >= v.dusk).astype(float)
v["district"] = v.district.fillna("(unknown)")
v["minute"] = v.minute.astype(float)
vod = {"n": int(len(v)), "twilight_dropped": int((inside & twilight).sum()), "fits": []}
for dfree in range(1, 7):
    term = "minute" if dfree == 1 else f"cr(minute, df={dfree}, constraints='center')"
    res = smf.glm(f"y ~ dark + {term} + C(district) + C(year)", v, family=sm.families.Binomial()).fit(use_t=False)
    vod["fits"].append({"df": dfree, **effect(res, "dark")})
out["vod"] = vod
print(json.dumps(out, indent=1))
