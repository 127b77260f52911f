"""Kernel gradient of a convolution: TensorFlow's kernel against per-tap GEMMs.

For each 3x3 stride-1 "same" convolution shape of ResNet-18 with the CIFAR
stem on 32x32 images (one per stage), times the kernel gradient two ways,
in float32 and bfloat16, one thread, median of `--repeats`:

  - `tf`: `Conv2DBackpropFilter`, what TensorFlow's gradient of `Conv2D`
    runs (oneDNN);
  - `taps`: `encoders.conv.conv2d_tap_gradient`'s form, one
    `[C_in, N H W] x [N H W, C_out]` matrix product per kernel tap.

`encoders.Conv2D` uses the taps in bfloat16 where the output has at most
64 positions on CPUs with native bfloat16 (see its docstring); this script
shows where that pays on the machine at hand.

    PYTHONPATH=. python benchmarks/conv_kernel_grad.py [--batch 128]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_infomin.encoders.conv import conv2d_tap_gradient  # noqa: E402

# (spatial size, channels) of each ResNet-18 stage on 32x32 inputs.
STAGES = ((32, 64), (16, 128), (8, 256), (4, 512))


def kernel_gradient(form, x, kernel):
    """The kernel gradient of `sum(conv(x, kernel) * dy)` for a fixed dy."""
    if form == "tf":

        def run(x, kernel, dy):
            return tf.raw_ops.Conv2DBackpropFilter(
                input=x,
                filter_sizes=tf.shape(kernel),
                out_backprop=dy,
                strides=[1, 1, 1, 1],
                padding="SAME",
            )

    else:

        def run(x, kernel, dy):
            with tf.GradientTape() as tape:
                tape.watch(kernel)
                y = conv2d_tap_gradient(x, kernel)
            return tape.gradient(y, kernel, output_gradients=dy)

    return tf.function(run)


def median_ms(fn, args, repeats):
    fn(*args).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args).numpy()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    rng = np.random.default_rng(0)
    print("| size | channels | dtype | tf ms | taps ms | tf / taps | diff |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for size, channels in STAGES:
        shape = (args.batch, size, size, channels)
        for dtype in ("float32", "bfloat16"):
            x = tf.cast(rng.normal(size=shape), dtype)
            dy = tf.cast(rng.normal(size=shape), dtype)
            kernel = tf.cast(rng.normal(size=(3, 3, channels, channels)), dtype)
            tf_fn = kernel_gradient("tf", x, kernel)
            taps_fn = kernel_gradient("taps", x, kernel)
            a = tf.cast(tf_fn(x, kernel, dy), "float32").numpy()
            b = tf.cast(taps_fn(x, kernel, dy), "float32").numpy()
            diff = np.abs(a - b).max() / np.abs(a).max()
            t_tf = median_ms(tf_fn, (x, kernel, dy), args.repeats)
            t_taps = median_ms(taps_fn, (x, kernel, dy), args.repeats)
            print(
                f"| {size} | {channels} | {dtype} | {t_tf:.1f} | "
                f"{t_taps:.1f} | {t_tf / t_taps:.2f} | {diff:.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
