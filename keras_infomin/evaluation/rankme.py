"""RankMe: the effective rank of embeddings, a dimensional-collapse monitor."""

import numpy as np


def rankme(embeddings, eps=1e-7):
    """Effective rank of embeddings, Garrido et al.'s collapse monitor.

    With `sigma_k` the singular values of the `[N, D]` embedding matrix,

        p_k = sigma_k / sum_j sigma_j + eps
        RankMe = exp(-sum_k p_k log p_k)

    the exponential of the entropy of the normalised singular values. It
    lies between 1 (every embedding on one line: complete collapse) and
    `min(N, D)` (all directions used equally); a matrix of rank `r` whose
    non-zero singular values are equal reads `r`. Garrido et al. find it
    tracks downstream accuracy without labels and recommend at least
    25,600 embeddings on ImageNet-sized problems; with fewer rows than
    dimensions the value is capped by `N`.

    The embeddings are not centred (as in the paper): a common offset adds
    one direction. Computed in float64 with NumPy's SVD.

    Args:
        embeddings: array `[N, D]` (or any array whose leading axis is the
            batch: trailing axes are flattened), e.g. an encoder's outputs
            from `extract_features`.
        eps: the small constant added to each `p_k` (1e-7 in the paper)
            so that zero singular values contribute `0 log 0 = 0`.

    Returns:
        A Python float in `[1, min(N, D)]` (up to `eps`); 0.0 when every
        embedding is exactly zero (rank 0, no direction at all).

    Raises:
        ValueError: fewer than two embeddings, or NaN / infinite values.

    References:
        Garrido, Balestriero, Najman, LeCun. RankMe: Assessing the
        Downstream Performance of Pretrained Self-Supervised
        Representations by Their Rank. ICML 2023.

    Example:

    >>> z = np.random.normal(size=(1000, 64)) @ np.diag([1.0] * 8 + [0] * 56)
    >>> round(rankme(z))  # 8 used dimensions out of 64
    8
    """
    z = np.asarray(embeddings, dtype="float64")
    if z.ndim < 2 or len(z) < 2:
        raise ValueError(
            "`embeddings` must hold at least two rows [N, D]; received shape "
            f"{z.shape}."
        )
    z = z.reshape(len(z), -1)
    if not np.all(np.isfinite(z)):
        raise ValueError(
            "`embeddings` contain NaN or infinite values; RankMe is "
            "undefined. Check the training for divergence."
        )
    sigma = np.linalg.svd(z, compute_uv=False)
    total = sigma.sum()
    if total == 0.0:
        return 0.0
    p = sigma / total + eps
    return float(np.exp(-np.sum(p * np.log(p))))
