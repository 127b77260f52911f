"""Independent float64 numpy versions of the bounds, written from the maths.

Loops over rows and explicit pair lists, no shared code with the package.
"""

import math

import numpy as np


def _pairs(scores, mask):
    n, m = scores.shape
    if mask is None:
        mask = np.eye(n, m, dtype=bool)
    pos = [scores[i, j] for i in range(n) for j in range(m) if mask[i, j]]
    neg = [scores[i, j] for i in range(n) for j in range(m) if not mask[i, j]]
    return np.array(pos), np.array(neg), mask


def _lme(values):
    values = np.asarray(values, dtype=np.float64)
    top = values.max()
    return top + math.log(np.mean(np.exp(values - top)))


def infonce(scores, mask=None):
    scores = np.asarray(scores, np.float64)
    n, m = scores.shape
    if mask is None:
        total = 0.0
        for i in range(n):
            row = scores[i]
            top = row.max()
            total += row[i] - (top + math.log(np.sum(np.exp(row - top))))
        return total / n + math.log(m)
    terms = []
    for i in range(n):
        negatives = [scores[i, k] for k in range(m) if not mask[i, k]]
        for j in range(m):
            if mask[i, j]:
                cands = np.array([scores[i, j]] + negatives)
                top = cands.max()
                lse = top + math.log(np.sum(np.exp(cands - top)))
                terms.append(scores[i, j] - lse + math.log(len(cands)))
    return float(np.mean(terms))


def tuba(scores, log_baseline=0.0, mask=None):
    scores = (
        np.asarray(scores, np.float64)
        - np.broadcast_to(
            np.asarray(log_baseline, np.float64), (scores.shape[1],)
        )[None, :]
    )
    pos, neg, _ = _pairs(scores, mask)
    return 1.0 + pos.mean() - math.exp(_lme(neg))


def nwj(scores, mask=None):
    pos, neg, _ = _pairs(np.asarray(scores, np.float64), mask)
    return pos.mean() - math.exp(-1.0) * math.exp(_lme(neg))


def dv(scores, mask=None):
    pos, neg, _ = _pairs(np.asarray(scores, np.float64), mask)
    return pos.mean() - _lme(neg)


def js_fgan(scores, mask=None):
    pos, neg, _ = _pairs(np.asarray(scores, np.float64), mask)
    return np.mean(-np.logaddexp(0.0, -pos)) - np.mean(np.logaddexp(0.0, neg))


def smile(scores, tau, mask=None):
    scores = np.asarray(scores, np.float64)
    pos, _, _ = _pairs(scores, mask)
    clipped = scores if tau is None else np.clip(scores, -tau, tau)
    _, neg, _ = _pairs(clipped, mask)
    return pos.mean() - _lme(neg)


def interpolated(scores, alpha, log_q=0.0):
    """Direct triple loop over (e, j) leave-one-out sets."""
    scores = np.asarray(scores, np.float64)
    n = scores.shape[0]
    log_q = np.broadcast_to(np.asarray(log_q, np.float64), (n,))

    def log_a(j, excluded):
        rows = [k for k in range(n) if k != excluded]
        m = np.mean(np.exp(scores[rows, j]))
        return math.log(alpha * m + (1.0 - alpha) * math.exp(log_q[j]))

    joint = np.mean(
        [
            scores[j, j] - log_a(j, e)
            for j in range(n)
            for e in range(n)
            if e != j
        ]
    )
    marginal = np.mean(
        [
            math.exp(scores[i, j] - log_a(j, j))
            for i in range(n)
            for j in range(n)
            if i != j
        ]
    )
    return 1.0 + joint - marginal


def club(log_q, mask=None):
    pos, neg, _ = _pairs(np.asarray(log_q, np.float64), mask)
    return pos.mean() - neg.mean()


def l1out(log_q):
    """mean_i [L_ii - log mean_{j != i} exp L_ji], column by column."""
    log_q = np.asarray(log_q, np.float64)
    n = log_q.shape[0]
    terms = []
    for i in range(n):
        others = [log_q[j, i] for j in range(n) if j != i]
        terms.append(log_q[i, i] - _lme(others))
    return float(np.mean(terms))
