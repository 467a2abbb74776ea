"""Reference values for tests/lib/embeddingProjection.test.ts from NumPy and
SciPy: the leading principal components of a float32 matrix (by
numpy.linalg.eigh of np.cov and by numpy.linalg.svd of the centred data) and
the Mann-Whitney U statistic. Reads JSON on stdin, writes JSON."""
import json
import sys

import numpy as np
from scipy import stats


def main():
    request = json.load(sys.stdin)
    x = np.fromfile(request["featuresFile"], dtype="<f4").astype(np.float64).reshape(-1, request["dim"])
    k = request["components"]
    covariance = np.cov(x, rowvar=False, ddof=1)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:k]
    centred = x - x.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    auc = []
    for case in request["auc"]:
        scores = np.array(case["scores"])
        positive = np.array(case["positive"], dtype=bool)
        u = stats.mannwhitneyu(scores[positive], scores[~positive], alternative="two-sided").statistic
        auc.append(float(u) / (positive.sum() * (~positive).sum()))
    json.dump(
        {
            "mean": x.mean(axis=0).tolist(),
            "eigenvalues": values[order].tolist(),
            "eigenvectors": vectors[:, order].T.tolist(),
            "svdVectors": vt[:k].tolist(),
            "svdVariances": (singular[:k] ** 2 / (x.shape[0] - 1)).tolist(),
            "trace": float(np.trace(covariance)),
            "auc": auc,
        },
        sys.stdout,
    )


main()
