import inspect
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds
from keras_infomin.bounds.common import mean_exp_offdiagonal
from tests.bounds import numpy_reference as ref

# Every bound of the package taking a score matrix: the registry plus the
# stateful MINE and the JS training objective.
ALL_BOUNDS = {
    **bounds.BOUNDS,
    "mine": bounds.mine,
    "js_fgan": bounds.js_fgan,
}


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


@pytest.mark.parametrize("name", sorted(ALL_BOUNDS))
def test_batch_of_one_is_refused(name):
    with pytest.raises(ValueError, match="batch of 1"):
        ALL_BOUNDS[name](np.ones((1, 1), "float32"))


@pytest.mark.parametrize("name", sorted(ALL_BOUNDS))
def test_non_matrix_scores_are_refused(name):
    with pytest.raises(ValueError, match=r"`scores` must have rank 2"):
        ALL_BOUNDS[name](np.ones((4, 4, 2), "float32"))


@pytest.mark.parametrize("name", sorted(ALL_BOUNDS))
def test_fewer_columns_than_rows_is_refused(name):
    with pytest.raises(ValueError, match="M >= N"):
        ALL_BOUNDS[name](np.ones((5, 3), "float32"))


@pytest.mark.parametrize("name", sorted(ALL_BOUNDS))
def test_integer_scores_are_refused(name):
    with pytest.raises(TypeError, match="floating-point"):
        ALL_BOUNDS[name](np.ones((4, 4), "int32"))


def test_mine_refuses_bad_scores_with_a_state_too():
    # Passing a running state does not bypass the score checks.
    with pytest.raises(ValueError, match="batch of 1"):
        bounds.mine(np.ones((1, 1), "float32"), 0.5, momentum=0.5)
    with pytest.raises(TypeError, match="floating-point"):
        bounds.mine(np.ones((3, 3), "int32"), 0.5)


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n, fn in ALL_BOUNDS.items()
        if "positive_mask" in inspect.signature(fn).parameters
    ),
)
def test_mask_must_be_boolean_and_shaped_like_scores(name):
    fn = ALL_BOUNDS[name]
    scores = np.ones((3, 4), "float32")
    with pytest.raises(TypeError, match="positive_mask"):
        fn(scores, positive_mask=np.eye(3, 4, dtype="float32"))
    with pytest.raises(ValueError, match="shape of `scores`"):
        fn(scores, positive_mask=np.eye(3, 3, dtype=bool))


def test_get_rejects_unknown_names():
    with pytest.raises(ValueError, match="Unknown bound 'nce'"):
        bounds.get("nce")
    assert bounds.get("infonce") is bounds.infonce


def test_low_precision_scores_are_promoted():
    scores = np.random.default_rng(2).normal(size=(6, 6))
    value = bounds.infonce(scores.astype("float16"))
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert float(value) == pytest.approx(ref.infonce(scores), abs=5e-3)


def test_mean_exp_offdiagonal_is_exact_where_a_plain_sum_overflows():
    # 30 negatives at 88.5: their float32 sum overflows, their mean does not.
    scores = np.full((6, 6), 88.5, "float32")
    got = float(mean_exp_offdiagonal(scores))
    assert got == pytest.approx(math.exp(88.5), rel=1e-5)
    rng = np.random.default_rng(3)
    scores = rng.normal(scale=3.0, size=(5, 8))
    _, neg, _ = ref._pairs(scores, None)
    got = float(mean_exp_offdiagonal(scores.astype("float32")))
    assert got == pytest.approx(np.mean(np.exp(neg)), rel=1e-5)


def test_mean_exp_offdiagonal_gradient_is_exact_entry_by_entry():
    scores = np.zeros((4, 5), "float32")
    scores[0, 2] = 1e4  # overflows: the mean is +inf
    scores[1, 3] = -1e4
    scores[2, 2] = 1e4  # a positive: no part in the mean
    s = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(s)
        value = mean_exp_offdiagonal(s)
    assert float(value) == math.inf
    negatives = ~np.eye(4, 5, dtype=bool)
    with np.errstate(over="ignore"):
        expected = np.where(negatives, np.exp(scores.astype("float64")), 0.0)
    expected /= negatives.sum()
    np.testing.assert_allclose(
        tape.gradient(value, s).numpy(), expected, rtol=1e-6
    )


BIG = 1e4


def _extreme_cases():
    eye = np.eye(5, dtype=bool)
    perfect = np.where(eye, BIG, -BIG)
    mixed = np.array(
        [
            [BIG, BIG, 0.0, -BIG, 0.0],
            [-BIG, -BIG, 0.0, 0.0, BIG],
            [0.0, 0.0, 0.0, -BIG, 0.0],
            [0.0, -BIG, BIG, BIG, 0.0],
            [BIG, 0.0, 0.0, 0.0, -BIG],
        ]
    )
    return {
        "perfect": perfect,
        "inverted": -perfect,
        "mixed": mixed,
        "mixed_no_large_negative_pair": np.where(
            ~eye & (mixed == BIG), -BIG, mixed
        ),
    }


EXTREME_CASES = _extreme_cases()

# Each entry: the bound as a function of the scores alone, and an
# independent float64 reference for its value (None: checked otherwise).
EXTREME_CALLS = {
    "infonce": (bounds.infonce, ref.infonce),
    "nwj": (bounds.nwj, ref.nwj),
    "tuba": (bounds.tuba, ref.tuba),
    "dv": (bounds.dv, ref.dv),
    "js": (bounds.js, ref.tuba),
    "smile": (bounds.smile, lambda s: ref.smile(s, 5.0)),
    "interpolated": (bounds.interpolated, None),
    "js_fgan": (bounds.js_fgan, ref.js_fgan),
    "mine": (lambda s: bounds.mine(s)[0], ref.dv),
    "mine_with_state": (lambda s: bounds.mine(s, math.log(3.0))[0], ref.dv),
    "mine_with_large_state": (lambda s: bounds.mine(s, BIG)[0], ref.dv),
}

# The TUBA-valued bounds read E_q[e^f] itself: a negative pair at +1e4 makes
# their value -inf (not representable). Only nwj and tuba also take their
# gradient from it (-inf in those entries); js trains with the JS gradient.
MINUS_INF_VALUE = {"nwj", "tuba", "js"}
MINUS_INF_GRADIENT = {"nwj", "tuba"}


def test_extreme_calls_cover_every_bound():
    assert set(bounds.BOUNDS) | {"mine", "js_fgan"} <= set(EXTREME_CALLS)


def _check_extreme_case(name, case):
    fn, reference = EXTREME_CALLS[name]
    scores = EXTREME_CASES[case]
    s = tf.constant(scores, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(s)
        value = fn(s)
    value, grad = float(value), tape.gradient(value, s).numpy()
    assert not math.isnan(value), case
    assert not np.any(np.isnan(grad)), case

    large_negative_pair = ~np.eye(5, dtype=bool) & (scores == BIG)
    if name in MINUS_INF_VALUE and large_negative_pair.any():
        assert value == -math.inf, case
    else:
        assert math.isfinite(value), case
        if reference is not None:
            expected = reference(scores)
            assert value == pytest.approx(expected, rel=1e-5, abs=1e-3), case
    if name == "interpolated":
        # joint term <= log(K / alpha), marginal term >= 0 (plus float32
        # rounding of terms near 1e4)
        assert value <= 1.0 + math.log(4 / 0.01) + 2e-3, case

    infinite = large_negative_pair & (name in MINUS_INF_GRADIENT)
    np.testing.assert_array_equal(np.isneginf(grad), infinite, err_msg=case)
    assert np.all(np.isfinite(grad[~infinite])), case


@pytest.mark.parametrize("name", sorted(EXTREME_CALLS))
def test_scores_of_1e4_give_no_nan_values_or_gradients(name):
    for case in sorted(EXTREME_CASES):
        _check_extreme_case(name, case)
