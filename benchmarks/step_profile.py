"""Where a SimCLR step's time goes, TensorFlow against PyTorch, per kind of op.

Profiles `--steps` steps of the `simclr_step.py` step (library
`ContrastiveModel` with `ResNetCIFAR(18)`, and the PyTorch reference of
`simclr_step_torch.py` with channels_last), each in its own process with
one thread, and sums the kernels' own time per step into a few classes:

  - `conv forward`, `conv backward` (input and kernel gradients; PyTorch
    reports both in one op, TensorFlow in two, also listed apart),
  - `matmul` (the head, the loss, and the library's per-tap kernel
    gradients: see `encoders.Conv2D`),
  - `batch norm` (forward and backward), `other` (elementwise, casts,
    optimizer, everything else).

Both frameworks call oneDNN for convolutions and matrix products: where a
class costs the same on both sides the frameworks run the same kernels,
and a difference in a class points to what one of them does slower.

    PYTHONPATH=. python benchmarks/step_profile.py --precision bfloat16
"""

import argparse
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES = (
    "conv forward",
    "conv backward",
    "  of which input",
    "  of which kernel",
    "matmul",
    "batch norm",
    "other",
)

# Events on TensorFlow's compute threads that enclose kernels.
_EXECUTOR_EVENTS = ("Process", "Record", "StartRegion", "Run")


def _classify(op):
    op = op.lower()
    if "backpropinput" in op:
        return ["conv backward", "  of which input"]
    if "backpropfilter" in op:
        return ["conv backward", "  of which kernel"]
    if "convolution_backward" in op:
        return ["conv backward"]
    if "conv2d" in op or "mkldnn_convolution" in op:
        return ["conv forward"]
    if "matmul" in op or op in ("aten::mm", "aten::addmm", "aten::bmm"):
        return ["matmul"]
    if "batchnorm" in op or "batch_norm" in op:
        return ["batch norm"]
    return ["other"]


def _wall_per_step(step, args):
    """Warms `step` up, then returns its mean wall seconds, unprofiled."""
    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    return (time.perf_counter() - start) / args.steps


def profile_tensorflow(args):
    sys.path.insert(0, HERE)
    import simclr_step
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    step_args = argparse.Namespace(
        intra=1,
        inter=1,
        patch=args.patch,
        precision=args.precision,
        batch=args.batch,
        image_size=32,
        data_format="channels_last",
        variant="model",
        temperature=0.5,
        jit=False,
    )
    step = simclr_step.make_keras_step(step_args)
    wall = _wall_per_step(step, args)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(args.steps):
            step()
        tf.profiler.experimental.stop()
        path = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)[0]
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
    totals = collections.Counter()
    for plane in space.planes:
        names = plane.event_metadata
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = names[event.metadata_id].name
                op_type = name.rsplit(":", 1)[-1]
                if ":" not in name or op_type in _EXECUTOR_EVENTS:
                    continue  # executor bookkeeping, not a kernel
                for cls in _classify(op_type):
                    totals[cls] += event.duration_ps / 1e9 / args.steps
    return wall, totals


def profile_torch(args):
    sys.path.insert(0, HERE)
    import simclr_step_torch
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile

    torch.set_num_threads(1)
    step = simclr_step_torch.make_step(
        simclr_step_torch.parse_args(
            [
                "--precision",
                args.precision,
                "--batch",
                str(args.batch),
                "--channels-last",
                "--threads",
                "1",
            ]
        )
    )
    wall = _wall_per_step(step, args)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    totals = collections.Counter()
    for event in prof.key_averages():
        if not event.key.startswith("aten::"):
            continue
        for cls in _classify(event.key):
            totals[cls] += event.self_cpu_time_total / 1e3 / args.steps
    return wall, totals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--precision", choices=("float32", "bfloat16"), default="float32"
    )
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--patch", default="", help="as simclr_step.py")
    parser.add_argument("--framework", choices=("tensorflow", "torch"))
    args = parser.parse_args(argv)
    if args.framework:
        run = profile_tensorflow if args.framework == "tensorflow" else None
        wall, totals = (run or profile_torch)(args)
        print(json.dumps({"wall": wall, "totals": totals}))
        return
    results = {}
    for framework in ("tensorflow", "torch"):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        out = subprocess.run(
            [sys.executable, __file__, "--framework", framework]
            + (argv if argv is not None else sys.argv[1:]),
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
        results[framework] = json.loads(out.strip().splitlines()[-1])
    tf_res, torch_res = results["tensorflow"], results["torch"]
    print(
        f"ms per step, batch {args.batch} x 2 views, {args.precision}, "
        "one thread"
    )
    print("| class | TensorFlow | PyTorch | TF / PyTorch |")
    print("|---|---:|---:|---:|")
    for cls in CLASSES:
        a = tf_res["totals"].get(cls, 0.0)
        b = torch_res["totals"].get(cls, 0.0)
        ratio = f"{a / b:.2f}" if b else ""
        print(f"| {cls} | {a:.0f} | {b:.0f} | {ratio} |")
    a, b = tf_res["wall"] * 1e3, torch_res["wall"] * 1e3
    print(f"| step (wall, unprofiled) | {a:.0f} | {b:.0f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
