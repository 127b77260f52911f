"""Accuracy parity: SimCLR and MoCo v2 trained by the library and by PyTorch.

The same recipe, the same image subset and the same number of epochs in
both frameworks, several seeds each; one evaluator scores both: the kNN
classifier of the MoCo CIFAR-10 demo (`evaluation.knn_accuracy`, k = 200,
cosine, weights `exp(s / 0.1)`) on the encoder's features (before the
head), the training subset as the memory bank and the test subset as the
queries. Only training differs between the frameworks.

Data: CIFAR-10 (JPEG copy, `--archive`), read through `data.load`: a
random training subset and a random test subset, drawn once per run and
written as uint8 arrays to a temporary `.npz` that both frameworks read.

Recipe (library side: `ContrastiveModel` and `MomentumContrast` with the
view layer inside the model, `model.fit`; PyTorch side:
`accuracy_parity_torch.py`, written from the papers and torchvision):

- views: `views.SimCLRAugment(32, jitter_strength=0.5)`, i.e. resized
  crop to 32 (scale (0.08, 1)), horizontal flip, colour jitter (0.4, 0.4,
  0.4, 0.1) with p 0.8, grayscale p 0.2, no blur below 64 pixels: the
  MoCo CIFAR-10 demo's augmentation, for both methods; torchvision's
  `RandomResizedCrop(32)`, `RandomHorizontalFlip`, `RandomApply(
  ColorJitter(0.4, 0.4, 0.4, 0.1), p=0.8)`, `RandomGrayscale(0.2)` on the
  PyTorch side; images in [0, 1], no mean/std normalisation on either;
- encoder: `encoders.ResNetCIFAR(18, width=--width)` (He-normal
  convolutions, batch norm momentum 0.9 = PyTorch's 0.1, epsilon 1e-5);
  the same network and initialisation in PyTorch;
- head: `ProjectionHead((8 * width,), 128)`, an MLP without batch norm;
- SimCLR: `ContrastiveModel(temperature=--simclr-temperature)` (cosine
  critic, symmetric InfoNCE over the other view's batch, the two views as
  two encoder passes);
- MoCo v2: `MomentumContrast(queue_size=--queue, momentum=--momentum,
  temperature=--moco-temperature, symmetric=True)` (the demo's 4096,
  0.99, 0.1 and symmetric loss);
- optimiser: SGD, momentum 0.9, weight decay `--weight-decay` added to the
  gradient of every trainable variable (`optimizers.LARS` without layer
  adaptation, i.e. PyTorch's `SGD(weight_decay=...)`; Keras' own
  `SGD(weight_decay=...)` decays the weights directly, which with
  momentum 0.9 is about ten times weaker), learning rate `--lr`, cosine
  decay to 0 over all steps (`optimizers.WarmupCosine`, no warm-up);
- batches of `--batch` (the training subset is cut to a multiple of it,
  so no partial batch on either side), reshuffled every epoch.

Differences left between the two sides (none is in the recipe):

- the random streams: crops, jitter, initial weights, queue and batch
  order are drawn by each framework's own generators;
- augmentation arithmetic: the library crops and resizes on float
  tensors without antialiasing, torchvision on PIL uint8 images (PIL's
  bilinear resize antialiases when shrinking; PIL's colour adjustments
  round to uint8 at every step);
- SGD momentum: PyTorch keeps `v = m v + g`, `w -= lr v`; Keras' form
  keeps `v = m v + lr g`, `w -= v`: the same under a constant learning
  rate, slightly different while the cosine schedule moves it;
- batch norm's running variance: PyTorch averages the unbiased batch
  variance, the library the biased one (as Keras): a factor
  `n / (n - 1)` with `n` >= 2,048 values per channel here;
- the library's fused InfoNCE and batch-norm kernels against PyTorch's
  plain cross-entropy and batch norm (same values to rounding).

Differences from the MoCo CIFAR-10 demo, on both sides: no shuffled or
split batch norm (the library has neither; the key encoder uses the key
batch's statistics), an MLP head instead of a linear one, the mean of
the two symmetric losses instead of their sum, a narrow ResNet and a
subset of the data for a few epochs.

Pass/fail per method: the library's mean kNN accuracy over the seeds must
lie within the seeds' spread of the PyTorch one, `|mean_lib - mean_torch|
<= max(sd_lib, sd_torch)` (sample standard deviations); Welch's t-test
p-value is printed beside it.

Every training run is its own process, one at a time (frameworks
alternate within each seed). Threads: `--threads` for both (TensorFlow's
intra- and inter-op pools, PyTorch's OpenMP pool with passive waiting).
Seconds per epoch: the median over epochs after the first (the first
includes tracing on the library side), wall and CPU (all threads of the
process); on a machine shared with other jobs the CPU seconds are the
figure to compare.

    PYTHONPATH=. python benchmarks/accuracy_parity.py     # the study
    PYTHONPATH=. python benchmarks/accuracy_parity.py --quick
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ARCHIVE = os.path.join(ROOT, "..", "shared", "data", "cifar10-jpeg.tar.gz")
FRAMEWORKS = ("keras", "torch")
METHODS = ("simclr", "moco")


# ------------------------------------------------------------------ data
def prepare_data(args, path):
    """Random train/test subsets through `data.load`, saved as uint8."""
    from keras_infomin import data

    arrays = {}
    for split, size, seed in (
        ("train", args.train_size, 0),
        ("test", args.test_size, 1),
    ):
        ds = data.load(
            args.archive,
            split,
            batch_size=size,
            shuffle=True,
            seed=seed,
            shuffle_buffer=size,
        )
        x, y = next(iter(ds))
        arrays[f"x_{split}"] = np.round(x.numpy() * 255).astype(np.uint8)
        arrays[f"y_{split}"] = y.numpy().astype(np.int64)
    np.savez(path, **arrays)
    return arrays


# ------------------------------------------------------ library training
def build_model(args):
    """The library's model for `args.method`, built as a user would."""
    from keras_infomin import encoders
    from keras_infomin import models
    from keras_infomin import views

    encoder = encoders.ResNetCIFAR(18, width=args.width)
    head = models.ProjectionHead((8 * args.width,), 128)
    two_views = views.Views(
        views.SimCLRAugment(32, jitter_strength=0.5), num_views=2
    )
    if args.method == "simclr":
        model = models.ContrastiveModel(
            encoder=encoder,
            projector=head,
            temperature=args.simclr_temperature,
            view_layer=two_views,
        )
    else:
        model = models.MomentumContrast(
            encoder=encoder,
            projector=head,
            queue_size=args.queue,
            momentum=args.momentum,
            temperature=args.moco_temperature,
            symmetric=True,
            view_layer=two_views,
        )
    return model


def train_library(args):
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from keras_infomin import optimizers

    arrays = np.load(args.data)
    import keras

    keras.utils.set_random_seed(args.seed)  # before any layer draws seeds
    model = build_model(args)
    x_train = arrays["x_train"].astype("float32") / 255.0
    steps = args.epochs * (len(x_train) // args.batch)
    optimizer = optimizers.LARS(
        optimizers.WarmupCosine(args.lr, total_steps=steps),
        momentum=0.9,
        weight_decay=args.weight_decay,
        exclude_from_layer_adaptation=".",  # every variable: plain SGD
    )
    model.compile(optimizer=optimizer)

    class EpochTimer(keras.callbacks.Callback):
        seconds, cpu_seconds = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start[0])
            self.cpu_seconds.append(time.process_time() - self.start[1])

    timer = EpochTimer()
    history = model.fit(
        x_train,
        batch_size=args.batch,
        epochs=args.epochs,
        shuffle=True,
        callbacks=[timer],
        verbose=0,
    )

    def features(images):
        x = images.astype("float32") / 255.0
        return model.predict(x, batch_size=500, verbose=0)

    return dict(
        train_features=features(arrays["x_train"]),
        test_features=features(arrays["x_test"]),
        epoch_seconds=np.asarray(timer.seconds),
        epoch_cpu_seconds=np.asarray(timer.cpu_seconds),
        mi=np.asarray(history.history["mi"]),
        steps=steps,
    )


def worker(args):
    result = train_library(args)
    result["data_digest"] = data_digest(args.data)
    np.savez(args.out, **result)
    import keras

    print(
        json.dumps(
            {
                "framework": f"keras {keras.__version__}",
                "epoch_seconds": result["epoch_seconds"].tolist(),
                "epoch_cpu_seconds": result["epoch_cpu_seconds"].tolist(),
                "mi": result["mi"].tolist(),
            }
        ),
        flush=True,
    )


def data_digest(path):
    """SHA-256 of the subset's arrays: both frameworks must train on it."""
    import hashlib

    arrays = np.load(path)
    digest = hashlib.sha256()
    for name in sorted(arrays.files):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- driver
def cpu_description():
    model, flags = "unknown CPU", set()
    try:
        out = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True
        ).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "Flags":
                flags = set(value.split())
    except (OSError, subprocess.CalledProcessError):
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_tile")
    have = [f for f in wanted if f in flags]
    return f"{model}, {os.cpu_count()} cores, flags: {' '.join(have)}"


def run_one(framework, method, seed, args, data_path, out_path):
    common = [
        f"--data={data_path}",
        f"--out={out_path}",
        f"--method={method}",
        f"--seed={seed}",
        f"--epochs={args.epochs}",
        f"--batch={args.batch}",
        f"--width={args.width}",
        f"--lr={args.lr}",
        f"--weight-decay={args.weight_decay}",
        f"--queue={args.queue}",
        f"--momentum={args.momentum}",
        f"--threads={args.threads}",
    ]
    temperature = (
        args.simclr_temperature if method == "simclr" else args.moco_temperature
    )
    if framework == "torch":
        script = os.path.join(HERE, "accuracy_parity_torch.py")
        command = [sys.executable, script, *common]
        command.append(f"--temperature={temperature}")
    else:
        command = [sys.executable, os.path.abspath(__file__), "--worker"]
        command += common
        command += [
            f"--simclr-temperature={args.simclr_temperature}",
            f"--moco-temperature={args.moco_temperature}",
        ]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONPATH"] = os.pathsep.join(
        [ROOT] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    start = time.perf_counter()
    load_before = os.getloadavg()[0]
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{framework} {method} seed {seed} failed:\n{proc.stderr[-3000:]}"
        )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["wall"] = time.perf_counter() - start
    report["load"] = (load_before, os.getloadavg()[0])
    return report


def steady_epoch_seconds(seconds):
    seconds = list(seconds)
    return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)


def score(arrays, data_path, out_path, k):
    from keras_infomin import evaluation

    feats = np.load(out_path)
    if str(feats["data_digest"]) != data_digest(data_path):
        raise RuntimeError(f"{out_path} was trained on other data")
    for name in ("train_features", "test_features"):
        if not np.all(np.isfinite(feats[name])):
            raise FloatingPointError(f"{out_path}: {name} are not finite")
    return evaluation.knn_accuracy(
        feats["train_features"],
        arrays["y_train"],
        feats["test_features"],
        arrays["y_test"],
        k=k,
        temperature=0.1,
        num_classes=10,
    )


def welch_p(a, b):
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return float("nan")
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def summarise(results, methods, frameworks):
    """Per method x framework: kNN mean/sd, epoch seconds, verdicts."""
    rows = {}
    for method in methods:
        for fw in frameworks:
            runs = [
                r for r in results if (r["method"], r["fw"]) == (method, fw)
            ]
            acc = [r["knn"] for r in runs]
            sec = [r["epoch_seconds"] for r in runs]
            cpu = [r["epoch_cpu_seconds"] for r in runs]
            rows[(method, fw)] = {
                "knn_mean": statistics.mean(acc),
                "knn_sd": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                "knn": acc,
                "epoch_s": statistics.median(sec),
                "epoch_cpu_s": statistics.median(cpu),
            }
    verdicts = {}
    if set(frameworks) == set(FRAMEWORKS):
        for method in methods:
            lib, ref = rows[(method, "keras")], rows[(method, "torch")]
            diff = lib["knn_mean"] - ref["knn_mean"]
            spread = max(lib["knn_sd"], ref["knn_sd"])
            verdicts[method] = {
                "difference": diff,
                "spread": spread,
                "pass": abs(diff) <= spread,
                "welch_p": welch_p(lib["knn"], ref["knn"]),
                "time_ratio": lib["epoch_s"] / ref["epoch_s"],
                "cpu_time_ratio": lib["epoch_cpu_s"] / ref["epoch_cpu_s"],
            }
    return rows, verdicts


def print_table(rows, verdicts, methods, frameworks, seeds):
    print(
        f"\n| method | framework | kNN % (mean +- sd, {seeds} seeds) | "
        "s / epoch | library / torch | CPU-s / epoch | library / torch |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for method in methods:
        for fw in frameworks:
            row = rows[(method, fw)]
            ratio = cpu_ratio = ""
            if fw == "keras" and method in verdicts:
                ratio = f"{verdicts[method]['time_ratio']:.2f}x"
                cpu_ratio = f"{verdicts[method]['cpu_time_ratio']:.2f}x"
            name = "library" if fw == "keras" else "PyTorch"
            print(
                f"| {method} | {name} | {100 * row['knn_mean']:.1f} +- "
                f"{100 * row['knn_sd']:.1f} | {row['epoch_s']:.1f} | {ratio} | "
                f"{row['epoch_cpu_s']:.1f} | {cpu_ratio} |"
            )
    for method, v in verdicts.items():
        print(
            f"{method}: library - torch = {100 * v['difference']:+.2f} points, "
            f"spread {100 * v['spread']:.2f}, Welch p = {v['welch_p']:.2f}: "
            f"{'PASS' if v['pass'] else 'FAIL'}"
        )


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    frameworks = [f for f in args.frameworks.split(",") if f]
    methods = [m for m in args.methods.split(",") if m]
    for name, got, allowed in (
        ("frameworks", frameworks, FRAMEWORKS),
        ("methods", methods, METHODS),
    ):
        bad = [g for g in got if g not in allowed]
        if bad or not got:
            raise SystemExit(f"--{name} must list some of {allowed}; got {got}")
    print(f"CPU: {cpu_description()}")
    print(f"load average at start: {os.getloadavg()}")
    start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "subset.npz")
        arrays = prepare_data(args, data_path)
        print(
            f"subset: {len(arrays['x_train'])} train, "
            f"{len(arrays['x_test'])} test images; classes "
            f"{np.bincount(arrays['y_train'], minlength=10).tolist()}",
            flush=True,
        )
        for seed in range(args.seeds):
            for method in methods:
                # Alternate which framework goes first, so that a trend in
                # the machine's load does not favour one of them.
                order = frameworks if seed % 2 == 0 else frameworks[::-1]
                for fw in order:
                    out_path = os.path.join(tmp, f"{fw}-{method}-{seed}.npz")
                    report = run_one(
                        fw, method, seed, args, data_path, out_path
                    )
                    knn = score(arrays, data_path, out_path, args.k)
                    epoch_s = steady_epoch_seconds(report["epoch_seconds"])
                    cpu_s = steady_epoch_seconds(report["epoch_cpu_seconds"])
                    results.append(
                        {
                            "fw": fw,
                            "method": method,
                            "seed": seed,
                            "knn": knn,
                            "epoch_seconds": epoch_s,
                            "epoch_cpu_seconds": cpu_s,
                            "mi": report["mi"],
                            "load": report["load"],
                            "wall": report["wall"],
                        }
                    )
                    print(
                        f"seed {seed} {method} {fw}: kNN {100 * knn:.1f}%, "
                        f"{epoch_s:.1f} s/epoch ({cpu_s:.1f} CPU-s), "
                        "InfoNCE per epoch "
                        f"{' '.join(f'{v:.2f}' for v in report['mi'])}, "
                        f"load {report['load'][0]:.1f}-"
                        f"{report['load'][1]:.1f}, {report['wall']:.0f} s",
                        flush=True,
                    )
    rows, verdicts = summarise(results, methods, frameworks)
    print_table(rows, verdicts, methods, frameworks, args.seeds)
    loads = [v for r in results for v in r["load"]]
    print(
        f"\nCPU: {cpu_description()}; 1-minute load average "
        f"{min(loads):.1f}-{max(loads):.1f}; "
        f"total {time.perf_counter() - start:.0f} s"
    )
    summary = {
        "results": results,
        "rows": {f"{m}/{f}": v for (m, f), v in rows.items()},
        "verdicts": verdicts,
        "cpu": cpu_description(),
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    return summary


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--archive", default=ARCHIVE)
    parser.add_argument("--train-size", type=int, default=5120)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", default="simclr,moco")
    parser.add_argument(
        "--frameworks", default="keras,torch", help="keras, torch or both"
    )
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.06)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--simclr-temperature", type=float, default=0.5)
    parser.add_argument("--moco-temperature", type=float, default=0.1)
    parser.add_argument("--queue", type=int, default=4096)
    parser.add_argument("--momentum", type=float, default=0.99)
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="64 train / 32 test images, width 4, batch 16, 1 epoch, 1 seed",
    )
    # Worker mode (one library training run), started by the driver.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.train_size, args.test_size, args.seeds = 64, 32, 1
        args.width, args.batch, args.epochs, args.queue = 4, 16, 1, 64
    args.train_size -= args.train_size % args.batch
    if args.train_size < args.batch:
        parser.error("--train-size must hold at least one --batch")
    if math.isnan(args.lr) or args.lr <= 0:
        parser.error("--lr must be positive")
    return args


if __name__ == "__main__":
    main()
