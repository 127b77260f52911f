"""Concatenation critic: an MLP on every `[x_i, y_j]` pair."""

import keras
from keras import ops

from keras_infomin.critics.base import Critic
from keras_infomin.critics.base import apply_stack
from keras_infomin.critics.base import dense_stack
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive


@register
class Concat(Critic):
    """`f(x, y) = MLP([x, y])` evaluated on all `N x M` pairs.

    The most expressive critic (Tschannen et al. 2020: the tightest I_NWJ,
    yet not the best representations). The first layer is split,
    `W [x; y] + b = W_x x + W_y y + b`, so the two inputs are projected once
    and only the hidden activations are formed for every pair: memory
    `N * M * width` floats per layer. `chunk_size` evaluates `chunk_size`
    rows at a time and recomputes each chunk in the backward pass, so peak
    memory is `chunk_size * M * width` however large `N` is
    (`benchmarks/concat_critic_memory.py` measures it).

    Defaults follow Tschannen et al.: one hidden layer of 200 units. The
    Gaussian-benchmark setting of Poole et al. is `hidden_units=(256, 256)`.

    Args:
        hidden_units: widths of the hidden layers (at least one).
        activation: hidden activation.
        chunk_size: rows of `x` per chunk, or `None` for all at once.
        kernel_initializer: initialiser of the Dense kernels.

    Example:

    >>> import numpy as np
    >>> critic = Concat(hidden_units=(16,), chunk_size=2)
    >>> critic(np.ones((5, 3), "float32"), np.ones((6, 4), "float32")).shape
    TensorShape([5, 6])
    """

    def __init__(
        self,
        hidden_units=(200,),
        activation="relu",
        chunk_size=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not hidden_units:
            raise ValueError("`hidden_units` must name at least one layer.")
        self.hidden_units = tuple(
            check_positive("hidden_units", int(u)) for u in hidden_units
        )
        self.activation = activation
        self.chunk_size = chunk_size
        if chunk_size is not None:
            if not isinstance(chunk_size, int) or chunk_size < 1:
                raise ValueError(
                    "`chunk_size` must be a positive integer or None; "
                    f"received {chunk_size!r}."
                )
        self.kernel_initializer = kernel_initializer
        first = self.hidden_units[0]
        self.x_proj = keras.layers.Dense(
            first, kernel_initializer=kernel_initializer, name="x_proj"
        )
        self.y_proj = keras.layers.Dense(
            first,
            use_bias=False,
            kernel_initializer=kernel_initializer,
            name="y_proj",
        )
        self.act = keras.activations.get(activation)
        self.pair_layers = dense_stack(
            self.hidden_units[1:] + (1,), activation, "pair", kernel_initializer
        )

    def build(self, x_shape, y_shape):
        self.x_proj.build(x_shape)
        self.y_proj.build(y_shape)
        shape = (None, None, self.hidden_units[0])
        for layer in self.pair_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def _pair_scores(self, a, b):
        """Scores for projected rows `a` [n, h] against all `b` [M, h]."""
        hidden = self.act(ops.expand_dims(a, 1) + ops.expand_dims(b, 0))
        return ops.squeeze(apply_stack(self.pair_layers, hidden), -1)

    def score(self, x, y):
        a = self.x_proj(x)
        b = self.y_proj(y)
        if self.chunk_size is None:
            return self._pair_scores(a, b)
        if keras.backend.backend() == "tensorflow":
            return _chunked_tensorflow(self._pair_scores, a, b, self.chunk_size)
        return _chunked_remat(self._pair_scores, a, b, self.chunk_size)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_units=list(self.hidden_units),
            activation=keras.activations.serialize(self.act),
            chunk_size=self.chunk_size,
            kernel_initializer=keras.initializers.serialize(
                keras.initializers.get(self.kernel_initializer)
            ),
        )
        return config


def _split_rows(a, chunk_size):
    """Pads `a` [n, h] to whole chunks: returns `[chunks, chunk_size, h]`."""
    n = ops.shape(a)[0]
    num_chunks = (n + chunk_size - 1) // chunk_size
    padded = ops.pad(a, [[0, num_chunks * chunk_size - n], [0, 0]])
    return ops.reshape(padded, (num_chunks, chunk_size, ops.shape(a)[1]))


def _chunked_remat(pair_scores, a, b, chunk_size):
    """Any backend: map over row chunks, rematerialised in the backward."""
    n = ops.shape(a)[0]
    chunk_fn = keras.remat(pair_scores)
    scores = ops.map(
        lambda chunk: chunk_fn(chunk, b), _split_rows(a, chunk_size)
    )
    return ops.reshape(scores, (-1, ops.shape(b)[0]))[:n]


def _chunked_tensorflow(pair_scores, a, b, chunk_size):
    """TensorFlow: a custom gradient that recomputes one chunk at a time.

    The forward pass keeps only the `[N, M]` scores; the backward pass
    re-evaluates each chunk under a tape and accumulates the gradients of
    `b` and of the layer variables, so at most one chunk's activations are
    alive at any time.
    """
    import tensorflow as tf

    @tf.custom_gradient
    def run(a, b):
        n = tf.shape(a)[0]
        m = tf.shape(b)[0]
        chunks = _split_rows(a, chunk_size)
        scores = tf.map_fn(
            lambda chunk: pair_scores(chunk, b),
            chunks,
            fn_output_signature=a.dtype,
            parallel_iterations=1,
        )
        out = tf.reshape(scores, (-1, m))[:n]

        def grad(upstream, variables=None):
            variables = list(variables or [])
            pad = tf.shape(chunks)[0] * chunk_size - n
            up = tf.reshape(
                tf.pad(upstream, [[0, pad], [0, 0]]), (-1, chunk_size, m)
            )

            def body(i, grad_b, grad_vars, grad_chunks):
                chunk = chunks[i]
                with tf.GradientTape() as tape:
                    tape.watch([chunk, b])
                    local = pair_scores(chunk, b)
                grads = tape.gradient(
                    local, [chunk, b] + variables, output_gradients=up[i]
                )
                grads = [
                    tf.zeros_like(v) if g is None else g
                    for g, v in zip(grads, [chunk, b] + variables)
                ]
                new_vars = [acc + g for acc, g in zip(grad_vars, grads[2:])]
                return (
                    i + 1,
                    grad_b + grads[1],
                    new_vars,
                    grad_chunks.write(i, grads[0]),
                )

            num_chunks = tf.shape(chunks)[0]
            _, grad_b, grad_vars, grad_chunks = tf.while_loop(
                lambda i, *_: i < num_chunks,
                body,
                (
                    tf.constant(0),
                    tf.zeros_like(b),
                    [tf.zeros_like(v) for v in variables],
                    tf.TensorArray(a.dtype, size=num_chunks),
                ),
                parallel_iterations=1,
            )
            grad_a = tf.reshape(grad_chunks.stack(), (-1, tf.shape(a)[1]))[:n]
            return (grad_a, grad_b), grad_vars

        return out, grad

    return run(a, b)
