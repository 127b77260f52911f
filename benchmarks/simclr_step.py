"""Images per second of a SimCLR training step, Keras against PyTorch.

The step: ResNet-18 with the CIFAR stem on 32x32 images, batch 128 with two
views per image (256 encoder passes, two passes of 128), a 512-512-128
projection head, the cosine critic at temperature 0.5, symmetric InfoNCE,
SGD with momentum 0.9. Views are pre-made random tensors: augmentation is
not timed. Arithmetic: ResNet-18 (CIFAR) needs 0.557 GMAC per 32x32 image
forward; forward + backward is about 3x, so one image (two views) costs
about 6.7 GFLOP and a machine with peak `P` GFLOP/s cannot exceed
`P / 6.7` images/s.

Variants (`--variant`, each in its own worker process):
  - `model`: `keras_infomin.models.ContrastiveModel(encoder=ResNetCIFAR(18),
    projector=ProjectionHead((512,), 128), critic=InnerProduct(cosine=True,
    temperature=0.5))`, timed through `train_on_batch`;
  - `hand`: a hand-written Keras 3 functional ResNet-18 and a
    `tf.function` step with `GradientTape` (`--data-format channels_first`
    for NCHW);
  - `torch`: `benchmarks/simclr_step_torch.py`, the PyTorch reference
    (`--channels-last`, `--compile`, `--threads N`, `--device cuda`; see
    its docstring);
  - `gemm`: one 2048 x 2048 matrix product per step, the peak.

Levers, per worker: `--precision bfloat16` (`mixed_bfloat16` policy for
Keras, CPU autocast for PyTorch), `--jit` (XLA: `compile(jit_compile=True)`,
or `tf.function(jit_compile=True)` for `hand`), `--onednn 0/1`
(`TF_ENABLE_ONEDNN_OPTS`), `--intra/--inter` thread pools, and prototypes
of library changes patched into this process only (`--patch`, comma list):
  - `keras-bn`: the ResNet's batch norms as Keras' own layer (moments +
    `tf.nn.batch_normalization`, float32 casts under mixed precision)
    instead of the library's fused `encoders.BatchNormalization`;
  - `keras-conv`: the ResNet's convolutions as Keras' own layer instead
    of `encoders.Conv2D` (TensorFlow's kernel gradient everywhere);
  - `concat-views`: both views through the encoder as one batch of 256
    (batch-norm statistics over both views, as in SimCLR's own code);
  - `unfused-loss`: the plain critic + bound path instead of
    `bounds.infonce_dot` (to measure what the fused loss buys).

Driver: `--compare-torch` starts one worker per configuration (grouped by
precision, so each group's ratios come from one run), then runs
interleaved rounds (each worker in turn runs `--steps-per-round` steps,
the order rotating every round) and prints median images/s, the ratio to
PyTorch in the same precision, the fraction of the peak and the seconds a
CIFAR-10 epoch (50,000 images) of the step alone would take. The peak is
measured, not assumed: a `gemm` worker (a 2048 x 2048 matrix product in
the precision, TensorFlow, in the same rounds and thread setting as the
others, e.g. `gemm --intra 1`) gives the GFLOP per CPU-second the CPU
attains; the column compares the step's GFLOP per CPU-second with it
(both insensitive to other processes' load). Without a `gemm` worker it
is left empty.

    python benchmarks/simclr_step.py --quick                 # smoke run
    python benchmarks/simclr_step.py --variant model --precision bfloat16
    python benchmarks/simclr_step.py --compare-torch --rounds 7
    python benchmarks/simclr_step.py --compare-torch --configs \
        "torch;model;model --patch keras-bn"
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GMAC_PER_VIEW = 0.557  # ResNet-18, CIFAR stem, 32x32, forward
GFLOP_PER_IMAGE = 2 * 3 * 2 * GMAC_PER_VIEW  # 2 views, fwd+bwd ~ 3x fwd
EPOCH_IMAGES = 50_000  # CIFAR-10's training set
GEMM_SIZE = 2048  # the `gemm` worker's square matrix product
GEMM_GFLOP = 2 * GEMM_SIZE**3 / 1e9
PATCHES = (
    "keras-bn",
    "keras-conv",
    "concat-views",
    "unfused-loss",
    "conv-grad",
)


# --------------------------------------------------------------- patches
def patch_keras_bn():
    """The ResNet's batch norms as Keras' own layer (moments + affine ops).

    The library's `encoders.BatchNormalization` runs TensorFlow's fused
    kernel in training; this puts Keras' graph back, to measure it.
    """
    import keras

    from keras_infomin.encoders import resnet

    resnet.BatchNormalization = keras.layers.BatchNormalization


def patch_keras_conv():
    """The ResNet's convolutions as Keras' own layer.

    The library's `encoders.Conv2D` computes the kernel gradient of small
    stride-1 convolutions as per-tap matrix products in bfloat16 on CPUs
    with native bfloat16; this puts TensorFlow's gradient back.
    """
    import keras

    from keras_infomin.encoders import resnet

    resnet.Conv2D = keras.layers.Conv2D


def patch_concat_views():
    """One encoder pass over the concatenated views (shared encoder)."""
    from keras import ops

    from keras_infomin.models import base
    from keras_infomin.models import contrastive

    model_cls = contrastive.ContrastiveModel
    original = model_cls._step

    def _step(self, data, training):
        if not (self.shared_encoder and self.shared_projector):
            return original(self, data, training)
        if not self.built:
            self.build(
                base.call_input_shape(data, self.view_layer, self.num_views)
            )
        views, _ = base.split_batch(
            data, self.view_layer, self.num_views, training=True
        )
        base.check_views(views, self.num_views)
        z = self.embed(ops.concatenate(views, axis=0), 0, training=training)
        embeddings = ops.split(z, self.num_views, axis=0)
        loss, mi = self.contrastive_terms(embeddings)
        return loss, mi, ops.shape(embeddings[0])[0]

    model_cls._step = _step


def patch_unfused_loss():
    from keras_infomin.models import contrastive

    contrastive.ContrastiveModel._fused = lambda self: False


def patch_conv_grad():
    """Stride-1 convolutions whose input gradient is a forward convolution.

    For a stride-1 convolution `y = x * W` the input gradient is the "full"
    correlation of `dy` with `W` flipped in space and with its channel axes
    swapped. TensorFlow's `Conv2DBackpropInput` kernel for it runs 1.5-4x
    slower on this CPU than a forward `Conv2D` of the same size; this patch
    computes it as that forward convolution.
    """
    import keras
    import tensorflow as tf

    original = keras.layers.Conv2D.call

    def conv(x, kernel, padding):
        @tf.custom_gradient
        def run(x, kernel):
            y = tf.nn.conv2d(x, kernel, 1, padding)

            def grad(dy):
                flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
                kh, kw = kernel.shape[0], kernel.shape[1]
                if padding == "VALID":
                    dy_full = tf.pad(
                        dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]
                    )
                    dx = tf.nn.conv2d(dy_full, flipped, 1, "VALID")
                else:
                    dx = tf.nn.conv2d(dy, flipped, 1, "SAME")
                dw = tf.raw_ops.Conv2DBackpropFilter(
                    input=x,
                    filter_sizes=tf.shape(kernel),
                    out_backprop=dy,
                    strides=[1, 1, 1, 1],
                    padding=padding,
                )
                return dx, dw

            return y, grad

        return run(x, kernel)

    def call(self, inputs):
        simple = (
            self.strides == (1, 1)
            and self.dilation_rate == (1, 1)
            and self.groups == 1
            and self.data_format == "channels_last"
            and self.kernel_size[0] % 2 == 1
        )
        if not simple:
            return original(self, inputs)
        padding = "SAME" if self.padding == "same" else "VALID"
        kernel = tf.cast(self.kernel, self.compute_dtype)
        y = conv(inputs, kernel, padding)
        if self.use_bias:
            y = y + tf.cast(self.bias, self.compute_dtype)
        if self.activation is not None:
            y = self.activation(y)
        return y

    keras.layers.Conv2D.call = call


PATCH_FUNCTIONS = {
    "conv-grad": patch_conv_grad,
    "keras-bn": patch_keras_bn,
    "keras-conv": patch_keras_conv,
    "concat-views": patch_concat_views,
    "unfused-loss": patch_unfused_loss,
}


# ------------------------------------------------------------------ steps
def symmetric_infonce(za, zb, temperature):
    """Mean of row- and column-wise cross-entropy of cosine scores / t."""
    import tensorflow as tf

    za = tf.math.l2_normalize(tf.cast(za, tf.float32), axis=1)
    zb = tf.math.l2_normalize(tf.cast(zb, tf.float32), axis=1)
    logits = tf.matmul(za, zb, transpose_b=True) / temperature
    labels = tf.range(tf.shape(za)[0])
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits
    row = tf.reduce_mean(ce(labels, logits))
    col = tf.reduce_mean(ce(labels, tf.transpose(logits)))
    return 0.5 * (row + col)


def hand_resnet18(data_format):
    """Functional Keras ResNet-18 (CIFAR stem) + 512-512-128 head."""
    import keras
    from keras import layers

    channels_first = data_format == "channels_first"
    axis = 1 if channels_first else -1
    shape = (3, 32, 32) if channels_first else (32, 32, 3)

    def conv(x, filters, kernel, stride):
        if stride > 1 and kernel > 1:
            x = layers.ZeroPadding2D(kernel // 2, data_format=data_format)(x)
            padding = "valid"
        else:
            padding = "same"
        return layers.Conv2D(
            filters,
            kernel,
            strides=stride,
            padding=padding,
            use_bias=False,
            kernel_initializer="he_normal",
            data_format=data_format,
        )(x)

    def bn(x):
        return layers.BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-5)(
            x
        )

    inputs = keras.Input(shape)
    x = layers.ReLU()(bn(conv(inputs, 64, 3, 1)))
    cin = 64
    for stage in range(4):
        cout = 64 * 2**stage
        for i in range(2):
            stride = 2 if (i == 0 and stage > 0) else 1
            y = layers.ReLU()(bn(conv(x, cout, 3, stride)))
            y = bn(conv(y, cout, 3, 1))
            if stride != 1 or cin != cout:
                x = bn(conv(x, cout, 1, stride))
            x = layers.ReLU()(layers.Add()([x, y]))
            cin = cout
    x = layers.GlobalAveragePooling2D(data_format=data_format)(x)
    x = layers.Dense(512, activation="relu")(x)
    outputs = layers.Dense(128)(x)
    return keras.Model(inputs, outputs)


def make_keras_step(args):
    """Builds the Keras step; returns a callable running one step."""
    import keras
    import numpy as np
    import tensorflow as tf

    if args.intra:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    if args.inter:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    for name in filter(None, args.patch.split(",")):
        PATCH_FUNCTIONS[name]()
    keras.utils.set_random_seed(0)
    if args.precision == "bfloat16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    rng = np.random.default_rng(1)
    shape = (args.batch, args.image_size, args.image_size, 3)
    if args.data_format == "channels_first":
        shape = (args.batch, 3, args.image_size, args.image_size)
    views = tuple(
        tf.constant(rng.random(shape, dtype=np.float32)) for _ in range(2)
    )
    optimizer = keras.optimizers.SGD(0.03, momentum=0.9)

    if args.variant == "gemm":
        # The precision's attainable peak: one large matrix product.
        dtype = tf.bfloat16 if args.precision == "bfloat16" else tf.float32
        a = tf.cast(tf.constant(rng.random((GEMM_SIZE,) * 2)), dtype)
        product = tf.function(lambda a: tf.reduce_sum(tf.matmul(a, a)[:1]))

        def step():
            return float(product(a))

        return step

    if args.variant == "model":
        from keras_infomin import critics
        from keras_infomin import encoders
        from keras_infomin import models

        model = models.ContrastiveModel(
            encoder=encoders.ResNetCIFAR(18),
            projector=models.ProjectionHead((512,), 128),
            critic=critics.InnerProduct(
                cosine=True, temperature=args.temperature
            ),
        )
        model.compile(optimizer=optimizer, jit_compile=args.jit)

        def step():
            return model.train_on_batch(x=views, return_dict=True)["loss"]

        return step

    network = hand_resnet18(args.data_format)
    weights = network.trainable_variables

    @tf.function(jit_compile=args.jit)
    def train(v1, v2):
        with tf.GradientTape() as tape:
            za = network(v1, training=True)
            zb = network(v2, training=True)
            loss = symmetric_infonce(za, zb, args.temperature)
        grads = tape.gradient(loss, weights)
        optimizer.apply(grads, weights)
        return loss

    def step():
        return float(train(*views))

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


def serve_or_time(step, args, label):
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
        f"{label}: median step {med:.3f} s over {len(times)}, "
        f"{args.batch / med:.1f} images/s, "
        f"{statistics.median(cpu):.1f} CPU-s per step"
    )


# ----------------------------------------------------------------- driver
def worker_command(spec, common):
    """`(argv, env)` of a worker from a config string like `model --jit`."""
    words = shlex.split(spec)
    variant, rest = words[0], words[1:]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # Workers import the library of this checkout, not an installed copy.
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [os.path.dirname(HERE), env.get("PYTHONPATH")])
    )
    if variant == "torch":
        script = os.path.join(HERE, "simclr_step_torch.py")
        extra = []
        for word in rest:
            if word.startswith("OMP_"):
                key, value = word.split("=", 1)
                env[key] = value
            else:
                extra.append(word)
        argv = [sys.executable, script, "--serve", *common, *extra]
        return argv, env
    argv = [sys.executable, os.path.abspath(__file__), "--serve"]
    return argv + ["--variant", variant, *common, *rest], env


class Worker:
    def __init__(self, spec, common):
        self.spec = spec
        argv, env = worker_command(spec, common)
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.times = []
        self.cpu = []

    def wait_ready(self):
        for line in self.proc.stdout:
            if line.strip() == "ready":
                return
        raise RuntimeError(f"worker {self.spec!r} exited before ready")

    def run(self, count):
        self.proc.stdin.write(f"{count}\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith("{"):
                record = json.loads(line)
                self.times.extend(record["times"])
                self.cpu.extend(record["cpu"])
                return record["times"]
        raise RuntimeError(f"worker {self.spec!r} died")

    def close(self):
        try:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        self.proc.wait(timeout=60)


def compare(args):
    precisions = args.precisions.split(",")
    specs = [s.strip() for s in args.configs.split(";") if s.strip()]
    results = []
    all_loads = []
    cores = os.cpu_count()
    for precision in precisions:
        common = [
            "--precision",
            precision,
            "--batch",
            str(args.batch),
            "--warmup",
            str(args.warmup),
        ]
        print(f"== {precision}: starting {len(specs)} workers", flush=True)
        workers = []
        for spec in specs:
            worker = Worker(spec, common)
            worker.wait_ready()  # one at a time: warm-ups do not overlap
            workers.append(worker)
        loads = []
        for r in range(args.rounds):
            order = workers[r % len(workers) :] + workers[: r % len(workers)]
            for worker in order:
                worker.run(args.steps_per_round)
            loads.append(os.getloadavg()[0])
            done = ", ".join(
                f"{w.spec}: {args.batch / w.times[-1]:.1f} "
                f"({w.cpu[-1]:.0f} CPU-s)"
                for w in workers
            )
            print(
                f"  round {r + 1}/{args.rounds} load {loads[-1]:.1f}: {done}",
                flush=True,
            )
        for worker in workers:
            worker.close()
        base = base_cpu = None
        peak = None
        for worker in workers:
            if worker.spec.split()[0] == "gemm":
                # Per CPU-second, as the step's own column below: a
                # shared machine slows the wall clock, not the kernels.
                peak = GEMM_GFLOP / statistics.median(worker.cpu)
                continue
            ips = args.batch / statistics.median(worker.times)
            # Images per second if the step's CPU seconds ran on all cores
            # without waiting: less sensitive to other processes' load.
            cpu_ips = args.batch * cores / statistics.median(worker.cpu)
            if worker.spec.split()[0] == "torch" and base is None:
                base, base_cpu = ips, cpu_ips
            results.append(
                [precision, worker.spec, ips, base, cpu_ips, base_cpu, None]
            )
        for row in results:
            if row[0] == precision:
                row[6] = peak
        if peak:
            print(
                f"  {precision} GEMM peak: {peak:.0f} GFLOP per CPU-second",
                flush=True,
            )
        all_loads.extend(loads)
    width = max(len(r[1]) for r in results)
    print()
    print(
        f"{'precision':9} {'config':{width}} {'img/s':>6} {'vs torch':>8} "
        f"{'of peak':>7} {'s/epoch':>8} | {'cpu img/s':>9} {'vs torch':>8}"
    )
    for precision, spec, ips, base, cpu_ips, base_cpu, peak in results:
        ratio = f"{ips / base:.2f}x" if base else "-"
        cpu_ratio = f"{cpu_ips / base_cpu:.2f}x" if base_cpu else "-"
        cpu_gflops = cpu_ips / cores * GFLOP_PER_IMAGE  # per CPU-second
        of_peak = f"{cpu_gflops / peak:.0%}" if peak else "-"
        print(
            f"{precision:9} {spec:{width}} {ips:6.1f} {ratio:>8} "
            f"{of_peak:>7} {EPOCH_IMAGES / ips:8.0f} | "
            f"{cpu_ips:9.1f} {cpu_ratio:>8}"
        )
    print(
        f"1-min load average during rounds: median "
        f"{statistics.median(all_loads):.1f}, max {max(all_loads):.1f} "
        f"({cores} CPUs); of peak = the step's GFLOP per CPU-second "
        f"({GFLOP_PER_IMAGE:.2f} GFLOP per image) / the `gemm` worker's in "
        f"the same rounds; "
        f"s/epoch = {EPOCH_IMAGES} images / img/s (step only); cpu img/s "
        f"= batch x {cores} / median CPU-seconds of a step"
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--variant", choices=("model", "hand", "gemm"), default="model"
    )
    parser.add_argument(
        "--precision", choices=("float32", "bfloat16"), default="float32"
    )
    parser.add_argument("--jit", action="store_true", help="XLA")
    parser.add_argument("--patch", default="", help=", ".join(PATCHES))
    parser.add_argument(
        "--data-format",
        choices=("channels_last", "channels_first"),
        default="channels_last",
        help="hand variant only",
    )
    parser.add_argument("--onednn", choices=("0", "1"), default=None)
    parser.add_argument("--intra", type=int, default=0)
    parser.add_argument("--inter", type=int, default=0)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--compare-torch", action="store_true")
    parser.add_argument(
        "--configs",
        default="torch --channels-last --compile; torch; model; model --jit",
        help="driver: ';'-separated worker configs (first word: torch, "
        "model or hand; the rest are this script's or the torch script's "
        "options, OMP_*=value sets a torch worker's environment)",
    )
    parser.add_argument("--precisions", default="float32,bfloat16")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps-per-round", type=int, default=1)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: batch 8, 1 warm-up, 2 rounds/steps",
    )
    args = parser.parse_args(argv)
    if args.patch:
        unknown = set(args.patch.split(",")) - set(PATCHES)
        if unknown:
            parser.error(f"unknown --patch {sorted(unknown)}; use {PATCHES}")
    if args.quick:
        args.batch, args.warmup, args.steps, args.rounds = 8, 1, 2, 2
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.compare_torch or (args.quick and not args.serve):
        if args.quick and not args.compare_torch:
            args.configs = "torch; model; hand"
        compare(args)
        return
    if args.onednn is not None:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = args.onednn
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    step = make_keras_step(args)
    label = f"keras {args.variant} {args.precision} batch {args.batch}"
    serve_or_time(step, args, label)


if __name__ == "__main__":
    main()
