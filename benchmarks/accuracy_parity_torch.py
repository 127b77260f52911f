"""PyTorch reference of the accuracy-parity study (`accuracy_parity.py`).

Trains SimCLR or MoCo v2 on the image subset the driver wrote (a `.npz`
with uint8 `x_train [N, 32, 32, 3]`, `x_test`), then writes the encoder's
features (before the head, eval mode, no augmentation) of both subsets
and the wall seconds of every epoch. The driver scores the features with
the library's kNN evaluator, the same for both frameworks.

The recipe, written here from the papers and torchvision, not from the
library:

- augmentation (torchvision, on PIL images, one draw per image and view):
  `RandomResizedCrop(32)` (scale (0.08, 1)), `RandomHorizontalFlip()`,
  `RandomApply([ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8)`,
  `RandomGrayscale(p=0.2)`, `ToTensor()` (values in [0, 1], no mean/std
  normalisation);
- encoder: ResNet-18 with the CIFAR stem (`simclr_step_torch.py`'s
  network) at `--width`, convolutions initialised He-normal (truncated at
  two standard deviations, fan-in), linear layers Glorot-uniform with zero
  bias, batch norm momentum 0.1 and epsilon 1e-5, channels_last;
- head: Linear(8 w, 8 w) - ReLU - Linear(8 w, 128);
- SimCLR: two views through the encoder as two passes (batch norm
  statistics per view), cosine similarity / `--temperature`, symmetric
  InfoNCE (mean of the row- and column-wise cross-entropies, the other
  view's batch as candidates);
- MoCo v2: a key encoder and head copied from the query ones, updated
  before every step as `k <- m k + (1 - m) q` over the parameters
  (`--momentum`), keys from the key encoder in training mode (batch
  statistics of the key batch, no shuffled batch norm), a queue of
  `--queue` unit keys (random at the start), logits `[q.k, q.queue] / t`,
  symmetric (both views serve as query and key; the mean of the two
  losses; both keys enqueued);
- SGD, momentum 0.9, weight decay (added to the gradient, every
  parameter, batch norm and biases included), learning rate `--lr` with a
  per-step cosine decay to 0 (`LambdaLR`, stepped after every update);
- batches of `--batch`, reshuffled each epoch, the last partial batch
  dropped.

    python benchmarks/accuracy_parity_torch.py --data subset.npz \\
        --method moco --out features.npz
"""

import argparse
import copy
import json
import math
import os
import sys
import time

# As in simclr_step_torch.py: passive OpenMP waiting, set before torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from accuracy_parity import data_digest  # noqa: E402
from simclr_step_torch import ResNet18CIFAR  # noqa: E402


def import_transforms():
    """`torchvision.transforms`, also from a CUDA wheel on a CPU torch.

    torchvision's CUDA wheels (the default on PyPI) ship compiled ops that
    do not load beside a CPU-only torch; its import then fails where it
    registers shape functions for `torchvision::nms` and `::qnms`, the two
    registrations it does not guard. The transforms used here are plain
    Python: declaring those two schemas (without kernels) lets the import
    finish. A matching CPU wheel imports on the first try.
    """
    try:
        from torchvision import transforms
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[name]
        global _STUB_OPS
        _STUB_OPS = torch.library.Library("torchvision", "DEF")
        for op in ("nms", "qnms"):
            _STUB_OPS.define(
                f"{op}(Tensor dets, Tensor scores, float iou_threshold) "
                "-> Tensor"
            )
        from torchvision import transforms
    return transforms


_STUB_OPS = None


def augmentation():
    transforms = import_transforms()
    return transforms.Compose(
        [
            transforms.RandomResizedCrop(32),
            transforms.RandomHorizontalFlip(),
            transforms.RandomApply(
                [transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8
            ),
            transforms.RandomGrayscale(p=0.2),
            transforms.ToTensor(),
        ]
    )


class TwoViews(torch.utils.data.Dataset):
    def __init__(self, images):
        from PIL import Image

        self.images = [Image.fromarray(x) for x in images]
        self.transform = augmentation()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = self.images[i]
        return self.transform(image), self.transform(image)


def init_like_keras(module):
    """He-normal convolutions and Glorot-uniform linear layers."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            # Keras' truncated normal: cut at 2 sd, rescaled so that the
            # truncated distribution has the standard deviation asked for.
            std = math.sqrt(2.0 / fan_in) / 0.87962566103423978
            nn.init.trunc_normal_(m.weight, 0.0, std, -2 * std, 2 * std)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


class Embedder(nn.Module):
    """Encoder then head; `features` is the encoder's output."""

    def __init__(self, width, out_dim=128):
        super().__init__()
        self.encoder = ResNet18CIFAR(width)
        dim = self.encoder.output_dim
        self.head = nn.Sequential(
            nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, out_dim)
        )
        init_like_keras(self)

    def forward(self, x):
        return self.head(self.encoder(x))


def simclr_loss(za, zb, temperature):
    za, zb = F.normalize(za, dim=1), F.normalize(zb, dim=1)
    logits = za @ zb.t() / temperature
    labels = torch.arange(za.shape[0])
    return 0.5 * (
        F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)
    )


class MoCo:
    """Query/key embedders, the queue and the symmetric MoCo loss."""

    def __init__(self, query, queue_size, momentum, temperature):
        self.query = query
        self.key = copy.deepcopy(query)
        for p in self.key.parameters():
            p.requires_grad = False
        self.momentum = momentum
        self.temperature = temperature
        self.queue = F.normalize(torch.randn(queue_size, 128), dim=1)
        self.pointer = 0

    @torch.no_grad()
    def momentum_update(self):
        m = self.momentum
        for k, q in zip(self.key.parameters(), self.query.parameters()):
            k.mul_(m).add_(q.detach(), alpha=1 - m)

    @torch.no_grad()
    def keys(self, view):
        return F.normalize(self.key(view), dim=1)

    def bound_loss(self, q, k):
        q = F.normalize(q, dim=1)
        positive = (q * k).sum(1, keepdim=True)
        logits = torch.cat([positive, q @ self.queue.t()], 1)
        labels = torch.zeros(q.shape[0], dtype=torch.long)
        return F.cross_entropy(logits / self.temperature, labels)

    def loss(self, v1, v2):
        self.momentum_update()
        k2, k1 = self.keys(v2), self.keys(v1)
        loss = 0.5 * (
            self.bound_loss(self.query(v1), k2)
            + self.bound_loss(self.query(v2), k1)
        )
        self.enqueue(torch.cat([k2, k1]))
        return loss, math.log(1 + len(self.queue))

    @torch.no_grad()
    def enqueue(self, keys):
        slots = (self.pointer + torch.arange(len(keys))) % len(self.queue)
        # A new tensor: the step's graph still holds the old queue.
        self.queue = self.queue.index_put((slots,), keys)
        self.pointer = int((self.pointer + len(keys)) % len(self.queue))


@torch.no_grad()
def features(encoder, images, batch=500):
    encoder.eval()
    out = []
    for start in range(0, len(images), batch):
        x = torch.from_numpy(images[start : start + batch]).float() / 255.0
        x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        out.append(encoder(x).numpy())
    encoder.train()
    return np.concatenate(out)


def train(args):
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    data = np.load(args.data)
    model = Embedder(args.width).to(memory_format=torch.channels_last)
    model.train()
    moco = None
    if args.method == "moco":
        moco = MoCo(model, args.queue, args.momentum, args.temperature)
    loader = torch.utils.data.DataLoader(
        TwoViews(data["x_train"]),
        batch_size=args.batch,
        shuffle=True,
        drop_last=True,
        num_workers=0,
    )
    total = args.epochs * len(loader)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=args.lr,
        momentum=0.9,
        weight_decay=args.weight_decay,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda t: 0.5 * (1 + math.cos(math.pi * min(t, total) / total)),
    )
    epoch_seconds, epoch_cpu_seconds, bounds = [], [], []
    for _ in range(args.epochs):
        start, start_cpu = time.perf_counter(), time.process_time()
        running = []
        for v1, v2 in loader:
            v1 = v1.contiguous(memory_format=torch.channels_last)
            v2 = v2.contiguous(memory_format=torch.channels_last)
            if moco is None:
                loss = simclr_loss(model(v1), model(v2), args.temperature)
                cap = math.log(len(v1))
            else:
                loss, cap = moco.loss(v1, v2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running.append(cap - float(loss.detach()))
        epoch_seconds.append(time.perf_counter() - start)
        epoch_cpu_seconds.append(time.process_time() - start_cpu)
        bounds.append(float(np.mean(running)))
    return dict(
        train_features=features(model.encoder, data["x_train"]),
        test_features=features(model.encoder, data["x_test"]),
        epoch_seconds=np.asarray(epoch_seconds),
        epoch_cpu_seconds=np.asarray(epoch_cpu_seconds),
        mi=np.asarray(bounds),
        steps=total,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", required=True, help="the driver's .npz")
    parser.add_argument("--out", required=True, help="features .npz")
    parser.add_argument("--method", choices=("simclr", "moco"), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.06)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--queue", type=int, default=4096)
    parser.add_argument("--momentum", type=float, default=0.99)
    parser.add_argument("--threads", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = train(args)
    result["data_digest"] = data_digest(args.data)
    np.savez(args.out, **result)
    print(
        json.dumps(
            {
                "framework": f"torch {torch.__version__}",
                "threads": torch.get_num_threads(),
                "epoch_seconds": result["epoch_seconds"].tolist(),
                "epoch_cpu_seconds": result["epoch_cpu_seconds"].tolist(),
                "mi": result["mi"].tolist(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
