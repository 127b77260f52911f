import math

import keras
import numpy as np
import pytest

from keras_infomin import bounds
from tests.bounds import numpy_reference as ref


def test_to_bits_divides_by_log_two():
    assert float(bounds.to_bits(math.log(8.0))) == pytest.approx(3.0)


def test_log_mean_exp_offdiagonal_matches_numpy_with_extra_columns():
    scores = np.random.default_rng(0).normal(size=(5, 9)).astype("float32")
    _, neg, _ = ref._pairs(scores.astype("float64"), None)
    expected = math.log(np.mean(np.exp(neg)))
    got = float(bounds.log_mean_exp_offdiagonal(scores))
    assert got == pytest.approx(expected, abs=1e-5)


def test_log_mean_exp_offdiagonal_ignores_positive_values_entirely():
    # Huge positives must not leak into the negatives' mean (no 0 * e^x).
    scores = np.zeros((4, 4), "float32")
    np.fill_diagonal(scores, 1e4)
    assert float(bounds.log_mean_exp_offdiagonal(scores)) == pytest.approx(0.0)


def test_log_mean_exp_offdiagonal_with_mask():
    scores = np.random.default_rng(1).normal(size=(4, 6)).astype("float32")
    mask = np.zeros((4, 6), bool)
    mask[:, 0] = True
    _, neg, _ = ref._pairs(scores.astype("float64"), mask)
    got = float(bounds.log_mean_exp_offdiagonal(scores, mask))
    assert got == pytest.approx(math.log(np.mean(np.exp(neg))), abs=1e-5)


@pytest.mark.parametrize("name", sorted(bounds.BOUNDS))
def test_batch_of_one_is_refused(name):
    with pytest.raises(ValueError, match="batch of 1"):
        bounds.get(name)(np.ones((1, 1), "float32"))


@pytest.mark.parametrize("name", sorted(bounds.BOUNDS))
def test_non_matrix_scores_are_refused(name):
    with pytest.raises(ValueError, match=r"`scores` must have rank 2"):
        bounds.get(name)(np.ones((4, 4, 2), "float32"))


@pytest.mark.parametrize("name", sorted(bounds.BOUNDS))
def test_fewer_columns_than_rows_is_refused(name):
    with pytest.raises(ValueError, match="M >= N"):
        bounds.get(name)(np.ones((5, 3), "float32"))


@pytest.mark.parametrize("name", sorted(bounds.BOUNDS))
def test_integer_scores_are_refused(name):
    with pytest.raises(TypeError, match="floating-point"):
        bounds.get(name)(np.ones((4, 4), "int32"))


def test_mask_must_be_boolean_and_shaped_like_scores():
    scores = np.ones((3, 4), "float32")
    with pytest.raises(TypeError, match="positive_mask"):
        bounds.infonce(scores, np.eye(3, 4, dtype="float32"))
    with pytest.raises(ValueError, match="shape of `scores`"):
        bounds.nwj(scores, np.eye(3, 3, dtype=bool))


def test_get_rejects_unknown_names():
    with pytest.raises(ValueError, match="Unknown bound 'nce'"):
        bounds.get("nce")
    assert bounds.get("infonce") is bounds.infonce


def test_low_precision_scores_are_promoted():
    scores = np.random.default_rng(2).normal(size=(6, 6))
    value = bounds.infonce(scores.astype("float16"))
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert float(value) == pytest.approx(ref.infonce(scores), abs=5e-3)
