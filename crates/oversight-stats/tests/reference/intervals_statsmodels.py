"""Reference values for oversight-stats' interval tests.

Produced with statsmodels 0.15.0 and scipy 1.17.1 under Python 3.11:
    pip install statsmodels==0.15.0 scipy==1.17.1
    python3 intervals_statsmodels.py > intervals_statsmodels.json
"""
import json

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.rates import confint_poisson, confint_poisson_2indep

out = {"statsmodels_version": statsmodels.__version__, "scipy_version": scipy.__version__, "cases": []}


def add(kind, args, value, low, high):
    out["cases"].append({"kind": kind, "args": args, "value": float(value), "low": float(low), "high": float(high)})


# Poisson rate ratio, log-Wald (the worked example and others).
for a, t1, c, t2 in [(1200, 50000, 3000, 250000), (15, 1000, 40, 9000), (3, 10.5, 7, 30.25)]:
    low, high = confint_poisson_2indep(a, t1, c, t2, method="wald-log", compare="ratio")
    add("poisson_rate_ratio", [a, t1, c, t2], (a / t1) / (c / t2), low, high)

# Ratio of proportions, Katz log.
for a, n1, c, n2 in [(30, 100, 20, 200), (5188, 18439, 1000, 9000), (1, 50, 2, 60)]:
    low, high = confint_proportions_2indep(a, n1, c, n2, compare="ratio", method="log")
    add("katz_ratio", [a, n1, c, n2], (a / n1) / (c / n2), low, high)

# Wilson.
for x, n in [(7, 40), (0, 25), (25, 25), (81, 5188), (5188, 18439)]:
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    add("wilson", [x, n], x / n, low, high)

# Exact Poisson rate (Garwood), per 1000 exposure units.
for x, t in [(0, 2000.0), (7, 2000.0), (1200, 50000.0)]:
    low, high = confint_poisson(x, t, method="exact-c")
    add("poisson_rate", [x, t, 1000.0], x / t * 1000, low * 1000, high * 1000)

# Difference of proportions, Wald.
for x1, n1, x2, n2 in [(25, 100, 30, 120), (81, 5188, 40, 1500)]:
    low, high = confint_proportions_2indep(x1, n1, x2, n2, compare="diff", method="wald")
    add("wald_difference", [x1, n1, x2, n2], x1 / n1 - x2 / n2, low, high)

# Quantile with an order-statistic interval (ranks from the binomial quantiles, Conover 1999).
rng = np.random.default_rng(7)
sample = np.sort(np.round(rng.lognormal(np.log(120), 0.6, 301), 1))
for q in (0.5, 0.9):
    n = len(sample)
    lo_rank = int(stats.binom.ppf(0.025, n, q))
    hi_rank = int(stats.binom.ppf(0.975, n, q)) + 1
    add("quantile", {"q": q, "sample": sample.tolist()}, np.quantile(sample, q), sample[max(lo_rank - 1, 0)], sample[min(hi_rank - 1, n - 1)])

# Mean with a Student-t interval (scipy's t.interval on the sample's standard error).
for size in (12, 301):
    sample = np.round(rng.lognormal(np.log(40), 0.9, size), 1)
    lo, hi = stats.t.interval(0.95, len(sample) - 1, loc=sample.mean(), scale=stats.sem(sample))
    add("mean", {"sample": sample.tolist()}, sample.mean(), lo, hi)

print(json.dumps(out, indent=1))
