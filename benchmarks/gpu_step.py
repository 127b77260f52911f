"""The SimCLR step on one GPU: Keras against PyTorch, in one run.

`simclr_step.py`'s driver with the GPU settings: batch 512 x 2 views,
float32 (TF32 on both sides: TensorFlow's default on Ampere and later,
`--tf32` for PyTorch) and bfloat16 (`mixed_bfloat16`, PyTorch autocast),
interleaved rounds, the same GPU for every worker (TensorFlow grows its
memory instead of taking it all). Configurations per precision:

  - `torch --device cuda --channels-last --tf32` (eager),
  - `torch --device cuda --channels-last --tf32 --compile` (if PyTorch
    was built with CUDA and triton is present),
  - `model` (ContrastiveModel, `train_on_batch`), `model --jit` (XLA),
  - `gemm`: a 2048 x 2048 product, for the "of peak" column (a GEMM of
    that size does not reach a large GPU's peak: read the column as a
    lower bound of the fraction).

The table's `s/epoch` is 50,000 images over the step's images/s: a
CIFAR-10 epoch of the step alone (views ready on the device). The
`cpu img/s` columns mean nothing on a GPU.

    python benchmarks/gpu_step.py            # about 6-8 minutes
    python benchmarks/gpu_step.py --quick    # batch 64, 2 rounds

Needs a GPU visible to both TensorFlow and PyTorch; it says so and stops
otherwise.
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _visible():
    """`(tensorflow GPUs, torch sees CUDA, torch can compile)`."""
    probe = (
        "import tensorflow as tf, importlib.util\n"
        "print(len(tf.config.list_physical_devices('GPU')))\n"
        "try:\n"
        "    import torch\n"
        "    print(int(torch.cuda.is_available()))\n"
        "except ImportError:\n"
        "    print(0)\n"
        "print(int(importlib.util.find_spec('triton') is not None))\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    return int(out[0]), bool(int(out[1])), bool(int(out[2]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps-per-round", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.rounds, args.steps_per_round = 64, 2, 2
    tf_gpus, torch_cuda, triton = _visible()
    if not tf_gpus or not torch_cuda:
        print(
            f"No GPU for both frameworks (TensorFlow sees {tf_gpus}, "
            f"PyTorch CUDA: {torch_cuda}); nothing measured."
        )
        return 1
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    torch_base = "torch --device cuda --channels-last --tf32"
    configs = [torch_base]
    if triton and not args.quick:
        configs.append(torch_base + " --compile")
    configs += ["model", "model --jit", "gemm"]
    sys.path.insert(0, HERE)
    import simclr_step

    simclr_step.main(
        [
            "--compare-torch",
            "--precisions",
            "float32,bfloat16",
            "--batch",
            str(args.batch),
            "--rounds",
            str(args.rounds),
            "--steps-per-round",
            str(args.steps_per_round),
            "--warmup",
            "3",
            "--configs",
            "; ".join(configs),
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
