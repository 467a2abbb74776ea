"""Independent reference values for tests/lib/pairedStats.test.ts, from SciPy.

Reads one JSON object on stdin, writes one on stdout. Nothing here shares
code with convex/lib/pairedStats.ts: p-values come from scipy.stats.binom /
binomtest, the bootstrap's quantiles from the exact distribution of the
resampled difference (not a simulation), the sample size is checked by the
exact power of McNemar's asymptotic test at that size, and Tango's
restricted MLE comes from a numerical maximisation of the likelihood.
"""
import json
import sys

import numpy as np
from scipy import optimize, stats


def mcnemar(case):
    b, c = case["n10"], case["n01"]
    d = b + c
    if d == 0:
        return {"pValue": 1.0, "midPValue": 1.0}
    k = min(b, c)
    exact = stats.binomtest(b, d, 0.5, alternative="two-sided").pvalue
    mid = min(1.0, 2 * stats.binom.cdf(k - 1, d, 0.5) + stats.binom.pmf(k, d, 0.5))
    return {"pValue": float(exact), "midPValue": float(mid)}


def bootstrap_quantiles(case, level):
    """Exact quantiles of d* = (n01* - n10*)/n under multinomial resampling."""
    n = case["n11"] + case["n10"] + case["n01"] + case["n00"]
    p10 = case["n10"] / n
    p01 = case["n01"] / n
    a = np.arange(n + 1)
    pa = stats.binom.pmf(a, n, p10)
    keep = pa > 1e-15
    dist = np.zeros(2 * n + 1)  # index = (n01* - n10*) + n
    q = p01 / (1 - p10) if p10 < 1 else 0.0
    for a_value, weight in zip(a[keep], pa[keep]):
        rest = n - a_value
        b = np.arange(rest + 1)
        pb = stats.binom.pmf(b, rest, q)
        dist[b - a_value + n] += weight * pb
    cdf = np.cumsum(dist)
    tail = (1 - level) / 2
    lower = (np.searchsorted(cdf, tail) - n) / n
    upper = (np.searchsorted(cdf, 1 - tail) - n) / n
    mean = float(np.sum(dist * (np.arange(2 * n + 1) - n)) / n)
    sd = float(np.sqrt(np.sum(dist * ((np.arange(2 * n + 1) - n) / n - mean) ** 2)))
    return {"lower": float(lower), "upper": float(upper), "sd": sd}


def items_for_power(case, alpha, power):
    n = case["n11"] + case["n10"] + case["n01"] + case["n00"]
    psi = (case["n10"] + case["n01"]) / n
    delta = (case["n01"] - case["n10"]) / n
    za = stats.norm.ppf(1 - alpha / 2)
    zb = stats.norm.ppf(power)
    size = int(np.ceil((za * np.sqrt(psi) + zb * np.sqrt(psi - delta**2)) ** 2 / delta**2))
    return {"n": size, "exactPower": exact_mcnemar_power(size, case["n10"] / n, case["n01"] / n, alpha)}


def exact_mcnemar_power(n, p10, p01, alpha):
    """Power of the asymptotic McNemar test |n01 - n10| / sqrt(n01 + n10) > z, summed exactly over the trinomial."""
    z = stats.norm.ppf(1 - alpha / 2)
    psi = p10 + p01
    q = p01 / psi
    discordant = np.arange(n + 1)
    pd = stats.binom.pmf(discordant, n, psi)
    total = 0.0
    for d_value, weight in zip(discordant, pd):
        if weight < 1e-15 or d_value == 0:
            continue
        x = np.arange(d_value + 1)
        statistic = np.abs(2 * x - d_value) / np.sqrt(d_value)
        total += weight * float(np.sum(stats.binom.pmf(x, d_value, q)[statistic > z]))
    return total


def tango(case, margin):
    n = case["n11"] + case["n10"] + case["n01"] + case["n00"]
    b, c = case["n10"], case["n01"]
    rest = n - b - c

    def negative_log_likelihood(p10):
        p01 = p10 - margin
        value = -(c * np.log(p01) if c > 0 else 0.0) - (b * np.log(p10) if b > 0 else 0.0)
        return value - (rest * np.log(1 - p10 - p01) if rest > 0 else 0.0)

    low, high = margin + 1e-13, (1 + margin) / 2 - 1e-13
    fit = optimize.minimize_scalar(negative_log_likelihood, bounds=(low, high), method="bounded", options={"xatol": 1e-14})
    p10 = fit.x
    z = (c - b + n * margin) / np.sqrt(n * (2 * p10 - margin - margin**2))
    return {"restrictedP10": float(p10), "z": float(z), "pValue": float(stats.norm.sf(z))}


def main():
    request = json.load(sys.stdin)
    out = {
        "mcnemar": [mcnemar(case) for case in request["mcnemar"]],
        "bootstrap": [bootstrap_quantiles(case, request["level"]) for case in request["bootstrap"]],
        "power": [items_for_power(case, 0.05, 0.8) for case in request["power"]],
        "tango": [tango(case["counts"], case["margin"]) for case in request["tango"]],
        "normalCdf": [float(stats.norm.cdf(x)) for x in request["normalCdf"]],
        "normalQuantile": [float(stats.norm.ppf(p)) for p in request["normalQuantile"]],
        "binomialPmf": [float(v) for v in stats.binom.pmf(np.arange(request["binomial"]["n"] + 1), request["binomial"]["n"], request["binomial"]["p"])],
    }
    json.dump(out, sys.stdout)


main()
