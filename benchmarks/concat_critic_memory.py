"""Peak memory of the Concat critic's forward+backward, with and without chunks.

Each configuration runs in a fresh subprocess and reports the growth of its
peak resident memory (ru_maxrss) over the baseline after start-up, so the
numbers are comparable within one run. The expected activation size of the
unchunked pair MLP is printed beside them.

    python benchmarks/concat_critic_memory.py [--n 1024] [--width 256]
"""

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, os, resource, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, numpy as np, tensorflow as tf
keras.utils.set_random_seed(0)
from keras_infomin import critics
n, width, chunk = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
chunk = None if chunk == "none" else int(chunk)
critic = critics.Concat(hidden_units=(width, width), chunk_size=chunk)
x = tf.constant(np.random.default_rng(0).normal(size=(n, 20)), tf.float32)
y = tf.constant(np.random.default_rng(1).normal(size=(n, 20)), tf.float32)
critic(x[:2], y[:2])

@tf.function
def step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(critic(x, y))
    return loss, tape.gradient(loss, critic.trainable_weights)

step(x[:4], y[:4])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
loss, grads = step(x, y)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_growth_mb": (after - before) / 1024.0,
                  "loss": float(loss)}))
"""


def run(n, width, chunk):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), str(width), str(chunk)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--chunks", default="none,256,64,16")
    args = parser.parse_args()
    act_mb = args.n * args.n * args.width * 4 / 2**20
    print(f"N = M = {args.n}, hidden (width, width) = {args.width}: one pair")
    print(f"activation tensor = {act_mb:.0f} MB unchunked")
    print(f"{'chunk_size':>10} {'peak growth MB':>15} {'per-chunk act MB':>17}")
    losses = []
    for chunk in args.chunks.split(","):
        result = run(args.n, args.width, chunk)
        losses.append(result["loss"])
        per_chunk = act_mb if chunk == "none" else int(chunk) * act_mb / args.n
        print(f"{chunk:>10} {result['peak_growth_mb']:15.0f} {per_chunk:17.1f}")
    spread = max(losses) - min(losses)
    print(f"loss identical across chunkings: spread {spread:.2e}")


if __name__ == "__main__":
    main()
