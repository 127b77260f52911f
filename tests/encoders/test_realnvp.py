import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.encoders import RealNVP
from keras_infomin.testing import run_layer_test


def _numerical_log_det(flow, x):
    """log|det J| of the map flattened over all non-batch axes, per example."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = flow(x)
    batch, size = x.shape[0], x.shape.num_elements() // x.shape[0]
    jac = tape.jacobian(y, x).numpy().reshape(batch, size, batch, size)
    out = []
    for i in range(batch):
        sign, log_abs = np.linalg.slogdet(jac[i, :, i, :])
        assert sign != 0
        out.append(log_abs)
    return np.array(out)


@pytest.mark.parametrize("coupling", ["additive", "affine"])
def test_layer_contract(coupling):
    x = np.random.normal(size=(4, 6)).astype("float32")
    flow = RealNVP(3, [8], coupling=coupling, init_std=0.1, seed=3)
    run_layer_test(flow, (x,))


@pytest.mark.parametrize("coupling", ["additive", "affine"])
@pytest.mark.parametrize("shape", [(4, 7), (2, 5, 5, 3)])
def test_inverse_of_forward_is_identity(coupling, shape):
    x = np.random.normal(size=shape).astype("float32")
    flow = RealNVP(12, [16, 16], coupling=coupling, init_std=0.08, seed=0)
    y = np.asarray(flow(x))
    assert np.abs(y - x).max() > 0.1  # a non-trivial map
    np.testing.assert_allclose(np.asarray(flow.inverse(y)), x, atol=1e-4)
    np.testing.assert_allclose(np.asarray(flow(flow.inverse(x))), x, atol=1e-4)


@pytest.mark.parametrize("shape", [(3, 5), (2, 2, 3), (2, 2, 2, 3)])
def test_affine_log_det_matches_numerical_jacobian(shape):
    x = np.random.normal(size=shape)
    flow = RealNVP(
        4, [8], coupling="affine", init_std=0.5, seed=1, dtype="float64"
    )
    _, log_det = flow.forward_and_log_det(x)
    log_det = np.asarray(log_det)
    assert log_det.shape == (shape[0],)
    assert np.abs(log_det).max() > 0.1  # a volume-changing map
    np.testing.assert_allclose(
        log_det, _numerical_log_det(flow, x), atol=1e-8, rtol=1e-8
    )


def test_additive_log_det_is_exactly_zero():
    x = np.random.normal(size=(3, 2, 4)).astype("float32")
    flow = RealNVP(4, [8], coupling="additive", init_std=0.5, seed=1)
    y, log_det = flow.forward_and_log_det(x)
    assert np.all(np.asarray(log_det) == 0.0)
    assert np.abs(np.asarray(y) - x).max() > 0.1
    x64 = x.astype("float64")
    flow64 = RealNVP(
        4, [8], coupling="additive", init_std=0.5, seed=1, dtype="float64"
    )
    np.testing.assert_allclose(_numerical_log_det(flow64, x64), 0, atol=1e-10)


@pytest.mark.parametrize("coupling", ["additive", "affine"])
def test_near_identity_at_init(coupling):
    # Tschannen et al. E1/E2: 30 couplings, [512, 512] nets, init std 1e-4.
    x = np.random.uniform(size=(8, 392)).astype("float32")
    flow = RealNVP(30, [512, 512], coupling=coupling, seed=0)
    y, log_det = flow.forward_and_log_det(x)
    assert np.abs(np.asarray(y) - x).max() < 1e-2
    # Summed over 30 x 196 transformed coordinates: per coordinate ~1e-5.
    assert np.abs(np.asarray(log_det)).max() / (30 * 196) < 1e-4


def test_unit_scale_at_zero_raw_output():
    flow = RealNVP(1, [4], coupling="affine", seed=0)
    flow.build((None, 2))
    last = flow._nets[0][-1]
    last.kernel.assign(np.zeros(last.kernel.shape, "float32"))
    x = np.random.normal(size=(5, 2)).astype("float32")
    y, log_det = flow.forward_and_log_det(x)
    np.testing.assert_allclose(np.asarray(y), x, atol=1e-6)
    np.testing.assert_allclose(np.asarray(log_det), 0.0, atol=1e-6)


def test_three_channel_splits_alternate_and_cover_all():
    flow = RealNVP(4, [4], seed=5)
    flow.build((None, 8, 8, 3))
    assert list(flow._splits) == [(1, 2), (2, 1), (1, 2), (2, 1)]
    touched = set()
    for perm, (d_cond, _) in zip(flow._perms, flow._splits):
        assert sorted(perm) == [0, 1, 2]
        touched.update(int(i) for i in perm[d_cond:])
    assert touched == {0, 1, 2}


def test_permutations_come_from_the_seed():
    a = RealNVP(5, [4], seed=7)
    b = RealNVP.from_config(a.get_config())
    c = RealNVP(5, [4], seed=8)
    for flow in (a, b, c):
        flow.build((None, 6))
    assert all(np.array_equal(p, q) for p, q in zip(a._perms, b._perms))
    assert not all(np.array_equal(p, q) for p, q in zip(a._perms, c._perms))
    assert RealNVP(5, [4]).get_config()["seed"] is not None


def test_reverse_permutation():
    flow = RealNVP(2, [4], permutation="reverse")
    flow.build((None, 4))
    np.testing.assert_array_equal(flow._perms[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(flow._perms[1], [3, 2, 1, 0])


def test_argument_errors():
    with pytest.raises(ValueError, match="coupling"):
        RealNVP(coupling="spline")
    with pytest.raises(ValueError, match="permutation"):
        RealNVP(permutation="learned")
    with pytest.raises(ValueError, match="size >= 2"):
        RealNVP(2, [4])(np.zeros((2, 1), "float32"))
    with pytest.raises(ValueError, match="scale_epsilon"):
        RealNVP(scale_epsilon=1.5)
