import keras
import numpy as np
import pytest
from scipy.stats import ortho_group

from keras_infomin.evaluation import RankMe
from keras_infomin.evaluation import extract_features
from keras_infomin.evaluation import rankme
from tests.evaluation._data import digits_split


def matrix_with_singular_values(sigma, rows, cols, seed=0):
    """`U diag(sigma) V^T` with random orthonormal U, V: known spectrum."""
    u = ortho_group.rvs(rows, random_state=seed)[:, : len(sigma)]
    v = ortho_group.rvs(cols, random_state=seed + 1)[:, : len(sigma)]
    return u @ np.diag(sigma) @ v.T


def reference(sigma, zeros, eps=1e-7):
    """RankMe from the spectrum itself (no SVD): Garrido et al.'s formula."""
    p = np.concatenate([sigma / np.sum(sigma), np.zeros(zeros)]) + eps
    return float(np.exp(-np.sum(p * np.log(p))))


@pytest.mark.parametrize("rank", [1, 3, 8])
def test_equal_singular_values_read_the_rank(rank):
    sigma = np.full(rank, 2.5)
    z = matrix_with_singular_values(sigma, 40, 16)
    assert np.linalg.matrix_rank(z) == rank
    assert rankme(z) == pytest.approx(rank, abs=1e-3)  # eps shifts it a bit
    assert rankme(z) == pytest.approx(reference(sigma, 16 - rank), 1e-6)


def test_matches_the_formula_on_a_known_spectrum():
    sigma = np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    z = matrix_with_singular_values(sigma, 30, 12, seed=3)
    assert rankme(z) == pytest.approx(reference(sigma, zeros=12 - 5), 1e-9)
    assert 1.0 < rankme(z) < 5.0
    # eps=0 reads exp(entropy of sigma / sum) exactly.
    p = sigma / sigma.sum()
    assert rankme(z, eps=1e-300) == pytest.approx(
        np.exp(-np.sum(p * np.log(p))), 1e-9
    )


def test_invariant_to_scale_and_rotation_capped_by_rows():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 10))
    rotation = ortho_group.rvs(10, random_state=1)
    assert rankme(3.0 * z @ rotation) == pytest.approx(rankme(z), 1e-9)
    assert rankme(rng.normal(size=(4, 64))) <= 4.0 + 1e-6
    # Trailing axes are flattened, tensors accepted.
    assert rankme(keras.ops.convert_to_tensor(z.reshape(50, 2, 5))) == (
        pytest.approx(rankme(z), 1e-6)
    )


def test_degenerate_inputs():
    assert rankme(np.zeros((5, 3))) == 0.0
    with pytest.raises(ValueError, match="two rows"):
        rankme(np.ones((1, 4)))
    with pytest.raises(ValueError, match="NaN"):
        rankme(np.array([[1.0, np.nan], [0.0, 1.0]]))


def test_callback_logs_rankme_and_sees_collapse():
    (x, _), _ = digits_split()
    healthy = keras.Sequential([keras.Input((64,)), keras.layers.Dense(8)])
    # A rank-one kernel and no bias: every embedding on one line.
    collapsed = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(8, use_bias=False)]
    )
    rank_one = np.outer(np.linspace(1, 2, 64), np.linspace(-1, 1, 8))
    collapsed.layers[0].kernel.assign(rank_one.astype("float32"))
    monitors = {
        name: RankMe(x[:512], encoder=encoder, log_key=f"rankme_{name}")
        for name, encoder in (("healthy", healthy), ("collapsed", collapsed))
    }
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(
        x, x, epochs=2, verbose=0, callbacks=list(monitors.values())
    )
    logged = history.history
    assert len(logged["rankme_healthy"]) == 2
    features, _ = extract_features(healthy, x[:512])
    assert logged["rankme_healthy"][-1] == pytest.approx(rankme(features))
    assert logged["rankme_healthy"][-1] > 4.0
    assert logged["rankme_collapsed"][-1] == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="eps"):
        RankMe(x, eps=0.0)
