"""Cost of the per-sample switch's guard against empty parts.

`views.switch_per_sample` runs a branch only when its part of the batch is
not empty (a `tf.cond` per branch), so no kernel ever sees an empty batch.
The baseline runs every branch on its part, empty or not: what the switch
did before, correct only where every kernel handles empty tensors (so
this script turns oneDNN off, under which the baseline does not crash on
AVX-512 CPUs). Both run the same preset in the same process, traced once
each, called on a fixed batch in interleaved rounds; the median time per
batch and the trace time are reported, with the ratio guarded / baseline.

Run:

    .venv/bin/python benchmarks/switch_guard.py            # ~1 minute
    .venv/bin/python benchmarks/switch_guard.py --quick
"""

import argparse
import os
import statistics
import time

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"  # the baseline needs it
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_infomin import views  # noqa: E402
from keras_infomin.views import base  # noqa: E402

GUARDED = base.switch_per_sample


def unguarded(branch_index, inputs, branches, output_shape=None):
    """The switch without its guard: every branch runs on its part."""
    num = len(branches)
    flat = tf.nest.flatten(inputs)
    batch = tf.shape(flat[0])[0]
    index = tf.cast(branch_index, tf.int32)
    positions = tf.dynamic_partition(tf.range(batch), index, num)
    parts = [tf.dynamic_partition(t, index, num) for t in flat]
    outputs = []
    for k, branch in enumerate(branches):
        sub = tf.nest.pack_sequence_as(inputs, [p[k] for p in parts])
        out = parts[0][k] if branch is None else branch(sub)
        outputs.append(tf.cast(out, flat[0].dtype))
    return tf.dynamic_stitch(positions, outputs)


def use_switch(switch):
    """Points every view module that uses the switch at `switch`."""
    for module in (
        views.rand_augment,
        views.color_jitter,
        views.random_apply,
        views.random_choice,
    ):
        module.switch_per_sample = switch


def traced(name, size, switch):
    use_switch(switch)
    layer = getattr(views, name)(size, seed=1)
    spec = [tf.TensorSpec([None, size, size, 3])]
    return tf.function(lambda x: layer(x), input_signature=spec)


def measure(name, batch, size, rounds):
    x = tf.constant(
        np.random.default_rng(0).uniform(size=(batch, size, size, 3)),
        tf.float32,
    )
    traced(name, size, GUARDED)(x).numpy()  # warm-up, not timed
    fns, traces = {}, {}
    for tag, switch in (("guarded", GUARDED), ("baseline", unguarded)):
        fn = traced(name, size, switch)
        start = time.perf_counter()
        fn(x).numpy()
        traces[tag] = time.perf_counter() - start
        for _ in range(3):
            fn(x).numpy()
        fns[tag] = fn
    times = {tag: [] for tag in fns}
    for _ in range(rounds):
        for tag, fn in fns.items():
            start = time.perf_counter()
            fn(x).numpy()
            times[tag].append(time.perf_counter() - start)
    use_switch(GUARDED)
    return {tag: statistics.median(t) for tag, t in times.items()}, traces


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    args = parser.parse_args()
    rounds = 5 if args.quick else 15
    settings = (
        [(32, 32), (256, 32)]
        if args.quick
        else [(32, 32), (256, 32), (32, 224)]
    )
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, oneDNN "
        f"off, median of {rounds} interleaved rounds"
    )
    print(
        f"{'preset':15s} {'batch':>5s} {'size':>4s} {'guarded ms':>10s} "
        f"{'baseline ms':>11s} {'ratio':>6s} {'trace s':>15s}"
    )
    for batch, size in settings:
        for name in ("SimCLRAugment", "InfoMinAugment"):
            t, tr = measure(name, batch, size, rounds)
            ratio = t["guarded"] / t["baseline"]
            print(
                f"{name:15s} {batch:5d} {size:4d} {1e3 * t['guarded']:10.1f} "
                f"{1e3 * t['baseline']:11.1f} {ratio:6.2f} "
                f"{tr['guarded']:6.1f} / {tr['baseline']:5.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
