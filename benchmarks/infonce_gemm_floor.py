"""InfoNCE forward+backward against its matrix-product floor.

InfoNCE on `N x d` embeddings cannot cost less than three `N x N x d`
matrix products: the scores `S = x y^T` and the two gradients `dS y`,
`dS^T x`. This benchmark times, in one interleaved run:

- `floor`: exactly those three products (plus a tiny reduction each);
- `library`: `keras_infomin.losses.InfoNCE()` on the embedding pair, value
  and gradients (the fused `bounds.infonce_dot` path);
- `scores`: the same loss on a score matrix the caller computes,
  `InfoNCE()(None, x @ y.T)` (the drop-in path), gradients to `x` and `y`;
- `autodiff`: the plain hand-written form, softmax cross-entropy on
  `x y^T` differentiated by TensorFlow.

and prints median milliseconds and ratios to the floor.

    python benchmarks/infonce_gemm_floor.py [--sizes 1024,4096] [--dim 128]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_infomin import losses  # noqa: E402


def make_variants():
    loss = losses.InfoNCE()

    @tf.function
    def floor(x, y, g):
        s = tf.matmul(x, y, transpose_b=True)
        dx = tf.matmul(g, y)
        dy = tf.matmul(g, x, transpose_a=True)
        return (
            tf.reduce_sum(s[:1]) + tf.reduce_sum(dx[:1]) + tf.reduce_sum(dy[:1])
        )

    @tf.function
    def library(x, y, g):
        del g
        with tf.GradientTape() as tape:
            tape.watch([x, y])
            value = loss(None, (x, y))
        return tape.gradient(value, [x, y])

    @tf.function
    def scores(x, y, g):
        del g
        with tf.GradientTape() as tape:
            tape.watch([x, y])
            value = loss(None, tf.matmul(x, y, transpose_b=True))
        return tape.gradient(value, [x, y])

    @tf.function
    def autodiff(x, y, g):
        del g
        with tf.GradientTape() as tape:
            tape.watch([x, y])
            s = tf.matmul(x, y, transpose_b=True)
            labels = tf.range(tf.shape(x)[0])
            value = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, s)
            )
        return tape.gradient(value, [x, y])

    return {
        "floor": floor,
        "library": library,
        "scores": scores,
        "autodiff": autodiff,
    }


def measure(n, dim, rounds, variants):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(n, dim)).astype("float32") / 4)
    y = tf.constant(rng.normal(size=(n, dim)).astype("float32") / 4)
    g = tf.constant(rng.normal(size=(n, n)).astype("float32"))
    times = {name: [] for name in variants}
    for fn in variants.values():  # trace and warm up
        for _ in range(2):
            tf.nest.map_structure(lambda t: t.numpy(), fn(x, y, g))
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            tf.nest.map_structure(lambda t: t.numpy(), fn(x, y, g))
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1024,4096")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    variants = make_variants()
    print(f"d = {args.dim}; median of {args.rounds} interleaved rounds")
    others = [name for name in variants if name != "floor"]
    print(
        f"{'N':>6} {'floor ms':>9} "
        + " ".join(f"{name + ' ms':>12}" for name in others)
        + " "
        + " ".join(f"{name + '/floor':>15}" for name in others)
        + f" {'GFLOP/s':>8} {'load':>5}"
    )
    for n in [int(v) for v in args.sizes.split(",")]:
        t = measure(n, args.dim, args.rounds, variants)
        gflops = 3 * 2 * n * n * args.dim / t["floor"] / 1e9
        print(
            f"{n:>6} {t['floor'] * 1e3:9.1f} "
            + " ".join(f"{t[name] * 1e3:12.1f}" for name in others)
            + " "
            + " ".join(f"{t[name] / t['floor']:15.2f}" for name in others)
            + f" {gflops:8.0f} {os.getloadavg()[0]:5.1f}"
        )


if __name__ == "__main__":
    main()
