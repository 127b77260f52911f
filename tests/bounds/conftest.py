import numpy as np
import pytest

from keras_infomin.data import correlated_gaussians
from keras_infomin.data import gaussian_log_density_ratio


@pytest.fixture
def analytic_scores():
    """Batches of optimal-critic scores log p(y|x)/p(y) for Gaussians."""

    def make(mi, batch_size, num_batches=1, dim=20, seed=0, cubic=False):
        rng = np.random.default_rng(seed)
        batches = []
        for _ in range(num_batches):
            x, y, _ = correlated_gaussians(
                batch_size, dim=dim, mi=mi, cubic=cubic, seed=rng
            )
            scores = gaussian_log_density_ratio(x, y, mi, cubic=cubic)
            batches.append(scores.astype("float32"))
        return batches

    return make
