"""Every view layer and preset on every batch size, in every execution mode,
under float32 and mixed_bfloat16, with kernels that misbehave on empty
batches patched in (see `tests/views/sweep.py`), and on the real kernels
with oneDNN off and on.

The cross product is cut to keep the suite fast (tracing dominates), so
that every layer meets every batch size, every mode and both policies:

- `tf.function`: every layer, all batch sizes in one trace, float32;
- `tf.data` map (a graph too): every layer, mixed_bfloat16, batches of 64
  and 3;
- eager: every layer, both policies, 1, 3 and 257 samples, and one image;
- inside `fit`: the presets, batches of 16 and 3, both policies;
- oneDNN off and on: a subset on the real kernels, in subprocesses.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import views
from tests.views import sweep

POLICIES = ("float32", "mixed_bfloat16")


@pytest.fixture
def policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def strict_kernels(monkeypatch):
    sweep.misbehaving_kernels(monkeypatch)


def images(n, seed=0, channels=3):
    rng = np.random.default_rng(seed)
    shape = (n, sweep.SIZE, sweep.SIZE, channels)
    return rng.uniform(size=shape).astype("float32")


def check_outputs(layer, out, batch, what):
    """Batch size, dtype (the layer's compute dtype for floats), finite
    values, and [0, 1] for the images of the view layers."""
    for t in sweep.flat_outputs(out):
        assert t.shape[0] == batch, (what, t.shape)
        dtype = tf.as_dtype(t.dtype)
        if dtype.is_floating:
            assert dtype.name == layer.compute_dtype, (what, dtype)
            values = tf.cast(t, tf.float32).numpy()
            assert np.all(np.isfinite(values)), what
            if isinstance(layer, views.ViewLayer):
                assert values.min() >= 0.0 and values.max() <= 1.0, what


@pytest.mark.parametrize("name", sorted(sweep.LAYERS))
def test_every_batch_size_in_one_graph(name, strict_kernels):
    layer = sweep.LAYERS[name]()
    spec = tf.TensorSpec([None, sweep.SIZE, sweep.SIZE, 3], tf.float32)
    traced = tf.function(lambda x: layer(x, training=True), [spec])
    data = images(max(sweep.BATCH_SIZES))
    for batch in sweep.BATCH_SIZES:
        check_outputs(layer, traced(data[:batch]), batch, (name, batch))


@pytest.mark.parametrize("policy", POLICIES, indirect=True)
@pytest.mark.parametrize("name", sorted(sweep.LAYERS))
def test_eager(name, policy, strict_kernels):
    layer = sweep.LAYERS[name]()
    data = images(257, seed=1)
    for batch in (1, 3, 257):
        out = layer(data[:batch], training=True)
        check_outputs(layer, out, batch, (name, batch))
    if not isinstance(layer, views.ViewLayer):
        return  # the colour conversions and the flow take batches only
    single = layer(data[0], training=True)
    for one, many in zip(
        sweep.flat_outputs(single), sweep.flat_outputs(layer(data[:2]))
    ):
        assert tuple(one.shape) == tuple(many.shape[1:])


@pytest.mark.parametrize("policy", ["mixed_bfloat16"], indirect=True)
@pytest.mark.parametrize("name", sorted(sweep.LAYERS))
def test_tf_data_map(name, policy, strict_kernels):
    layer = sweep.LAYERS[name]()
    dataset = tf.data.Dataset.from_tensor_slices(images(67, seed=2))
    batches = list(dataset.batch(64).map(layer))
    assert len(batches) == 2
    for out, batch in zip(batches, (64, 3)):
        check_outputs(layer, out, batch, (name, batch))


class ViewGap(keras.Model):
    """Makes its views inside `train_step` and pulls them together."""

    def __init__(self, view_layer):
        super().__init__()
        self.view_layer = view_layer
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.dense = keras.layers.Dense(4)

    def call(self, x):
        return self.dense(self.pool(x))

    def train_step(self, data):
        views_ = self.view_layer(data, training=True)
        with tf.GradientTape() as tape:
            codes = [self(v, training=True) for v in views_]
            gaps = [tf.square(codes[0] - c) for c in codes[1:]]
            loss = tf.reduce_mean(tf.cast(tf.add_n(gaps), tf.float32))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"gap": loss}


@pytest.mark.parametrize(
    "policy,presets",
    [
        ("float32", ["InfoMinAugment"]),
        (
            "mixed_bfloat16",
            ["SimCLRAugment", "MoCoV2Augment", "InfoMinAugment"],
        ),
    ],
    indirect=["policy"],
)
def test_presets_inside_fit(policy, presets, strict_kernels):
    # SimCLR and MoCo v2 also run inside fit in float32 in tests/models.
    layers = [sweep.LAYERS[name]() for name in presets]
    model = ViewGap(views.Views(layers if len(layers) > 1 else layers[0]))
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    # Batches of 16 and a last one of 3, traced once (unknown batch size).
    dataset = tf.data.Dataset.from_tensor_slices(images(67, seed=3))
    history = model.fit(dataset.batch(16), shuffle=False, verbose=0)
    gap = history.history["gap"][0]
    assert np.isfinite(gap) and gap > 0


# The ops whose kernels misbehave on empty batches with oneDNN (the
# sharpness smoothing, the blur), through the per-sample switch.
SUBPROCESS = """
import numpy as np, tensorflow as tf, keras
from keras_infomin import views
x = np.random.default_rng(0).uniform(size=(16, 16, 16, 3)).astype("float32")
spec = [tf.TensorSpec([None, 16, 16, 3])]
for policy in ("float32", "mixed_bfloat16"):
    keras.mixed_precision.set_global_policy(policy)
    layer = views.Compose([
        views.RandAugment(ops=["sharpness", "rotate"], seed=1),
        views.RandomApply(views.GaussianBlur(kernel_size=3, seed=2), 0.5),
    ])
    traced = tf.function(lambda t: layer(t), input_signature=spec)
    for batch in (1, 2, 3, 16):
        for out in (layer(x[:batch]), traced(x[:batch])):
            assert out.shape[0] == batch and out.dtype == layer.compute_dtype
print("views ok")
"""


def test_real_kernels_with_onednn_off_and_on():
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    runs = {}
    for flag in ("0", "1"):
        env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=flag)
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        runs[flag] = subprocess.Popen(
            [sys.executable, "-c", SUBPROCESS],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for flag, run in runs.items():
        output, _ = run.communicate(timeout=300)
        assert run.returncode == 0, f"TF_ENABLE_ONEDNN_OPTS={flag}:\n{output}"
        assert "views ok" in output
