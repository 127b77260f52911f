"""Hand-written PyTorch SimCLR training step: the reference for simclr_step.py.

The same network and loss as the Keras benchmark: ResNet-18 with the CIFAR
stem (3x3 convolution, stride 1, no max-pool), global average pooling, a
512-512-128 projection head (Dense with bias, ReLU, Dense), cosine critic
at temperature 0.5 and InfoNCE on 2 x 128 views, SGD with momentum 0.9.
The two views go through the encoder as two passes of the batch (batch
norm statistics per view, as `keras_infomin.models.ContrastiveModel` does).

Loss (`--loss`):
  - `symmetric` (default, what ContrastiveModel computes): with
    `S = za zb^T / t` on unit vectors, the mean of the row-wise and
    column-wise cross-entropies with the diagonal as the target
    (each view classifies its partner among the other view's 128 rows);
  - `ntxent`: SimCLR's NT-Xent over the 256 x 256 matrix of both views,
    self-similarities masked (254 negatives per row).
The loss is a few `256 x 256 x 128` products: under 0.1% of the step.

Precision: `float32`, or `bfloat16` through `torch.autocast("cpu")` (the
weights and the optimizer stay float32).

PyTorch at its best on a CPU: `--channels-last` (NHWC convolutions,
oneDNN's preferred layout), `--compile` (`torch.compile`, inductor: fused
batch norm / ReLU / elementwise kernels; compiling takes a minute or two),
`--threads N` (default: one per core) and passive OpenMP waiting (set
below unless `OMP_WAIT_POLICY` is in the environment). On a GPU:
`--device cuda` (`--tf32` for TensorFlow's default float32 matmul
precision on Ampere and later). Steps end with `float(loss)`, which waits
for the device.

    python benchmarks/simclr_step_torch.py [--precision bfloat16] [--quick]
    python benchmarks/simclr_step_torch.py --serve   # driven by simclr_step.py

With `--serve` the script builds and warms up the step, prints `ready`,
then for each line `K` read from stdin runs K steps and prints one JSON
line with their wall times; an empty line or EOF ends it.
"""

import argparse
import json
import os
import statistics
import sys
import time

# OpenMP threads that spin at barriers while the step waits for them lose
# the cores they share with any other process (another worker of the
# driver, other jobs): on the 2-core test machine a step took twice as
# long with libgomp's default (spinning) as with passive waiting. It must
# be set before torch starts OpenMP; an explicit setting is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm; 1x1 projection shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False),
                nn.BatchNorm2d(cout),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        short = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + short)


class ResNet18CIFAR(nn.Module):
    """ResNet-18, CIFAR stem, 64-128-256-512 filters, pooled 512 features."""

    def __init__(self, width=64):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(width)
        blocks = []
        cin = width
        for stage in range(4):
            cout = width * 2**stage
            for i in range(2):
                stride = 2 if (i == 0 and stage > 0) else 1
                blocks.append(BasicBlock(cin, cout, stride))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.output_dim = cin

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        x = self.blocks(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


class SimCLR(nn.Module):
    def __init__(self, hidden=512, out=128):
        super().__init__()
        self.encoder = ResNet18CIFAR()
        self.head = nn.Sequential(
            nn.Linear(self.encoder.output_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out),
        )

    def forward(self, x):
        return self.head(self.encoder(x))


def symmetric_infonce(za, zb, temperature):
    za = F.normalize(za.float(), dim=1)
    zb = F.normalize(zb.float(), dim=1)
    logits = za @ zb.t() / temperature
    labels = torch.arange(za.shape[0], device=za.device)
    return 0.5 * (
        F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)
    )


def nt_xent(za, zb, temperature):
    n = za.shape[0]
    z = F.normalize(torch.cat([za, zb]).float(), dim=1)
    logits = z @ z.t() / temperature
    logits = logits.masked_fill(
        torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf")
    )
    labels = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    labels = labels.to(z.device)
    return F.cross_entropy(logits, labels)


LOSSES = {"symmetric": symmetric_infonce, "ntxent": nt_xent}


def make_step(args):
    """Returns `step()` running one training step on fixed random views."""
    torch.manual_seed(0)
    device = torch.device(args.device)
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model = SimCLR().to(device)
    memory_format = (
        torch.channels_last if args.channels_last else torch.contiguous_format
    )
    model = model.to(memory_format=memory_format)
    forward = torch.compile(model) if args.compile else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    gen = torch.Generator().manual_seed(1)
    shape = (args.batch, 3, args.image_size, args.image_size)
    views = [
        torch.rand(shape, generator=gen)
        .to(device)
        .contiguous(memory_format=memory_format)
        for _ in range(2)
    ]
    loss_fn = LOSSES[args.loss]
    bf16 = args.precision == "bfloat16"

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            za = forward(views[0])
            zb = forward(views[1])
        loss = loss_fn(za, zb, args.temperature)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def timed(step, count):
    """Wall seconds and process CPU seconds (all threads) of each step."""
    times, cpu = [], []
    for _ in range(count):
        start, start_cpu = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return times, cpu


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--precision", choices=("float32", "bfloat16"), default="float32"
    )
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--loss", choices=sorted(LOSSES), default="symmetric")
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--tf32",
        action="store_true",
        help="TF32 matmuls and convolutions on CUDA (TensorFlow's default)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the model (inductor; needs a C++ compiler)",
    )
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument(
        "--quick", action="store_true", help="batch 16, 1 warm-up, 2 steps"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.warmup, args.steps = 16, 1, 2
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    step = make_step(args)
    timed(step, args.warmup)
    if args.serve:
        print("ready", flush=True)
        for line in sys.stdin:
            if not line.strip():
                break
            times, cpu = timed(step, int(line))
            print(json.dumps({"times": times, "cpu": cpu}), flush=True)
        return
    times, cpu = timed(step, args.steps)
    med = statistics.median(times)
    print(
        f"torch {torch.__version__} {args.precision} batch {args.batch}: "
        f"median step {med:.3f} s, {args.batch / med:.1f} images/s "
        f"({torch.get_num_threads()} threads, "
        f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']})"
    )


if __name__ == "__main__":
    main()
