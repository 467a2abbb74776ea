"""Reference fit for tests/lib/softmaxRegression.test.ts: the same objective
(mean cross-entropy + l2/2 * |W|^2 on features standardised with the
training rows' mean and population standard deviation, bias unpenalised)
minimised by SciPy's L-BFGS-B to a tight tolerance, written independently
of convex/lib/softmaxRegression.ts. Reads JSON on stdin, writes JSON."""
import json
import sys

import numpy as np
from scipy import optimize


def main():
    request = json.load(sys.stdin)
    x = np.array(request["features"], dtype=np.float64).reshape(-1, request["dim"])
    y = np.array(request["labels"])
    k = request["classCount"]
    l2 = request["l2"]
    mean = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1
    z = (x - mean) / sd
    n, d = z.shape
    onehot = np.eye(k)[y]

    def objective(theta):
        w = theta[: k * d].reshape(k, d)
        b = theta[k * d :]
        logits = z @ w.T + b
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        p = np.exp(log_p)
        loss = -(onehot * log_p).sum() / n + l2 / 2 * (w * w).sum()
        residual = (p - onehot) / n
        grad = np.concatenate([(residual.T @ z + l2 * w).ravel(), residual.sum(axis=0)])
        return loss, grad

    fit = optimize.minimize(objective, np.zeros(k * d + k), jac=True, method="L-BFGS-B", options={"maxiter": 10000, "gtol": 1e-12, "ftol": 1e-15})
    w = fit.x[: k * d].reshape(k, d)
    b = fit.x[k * d :]
    logits = z @ w.T + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    json.dump({"loss": float(fit.fun), "probabilities": p.ravel().tolist()}, sys.stdout)


main()
