"""Tschannen et al. (ICLR 2020): MI maximisation between digit-image halves.

"On Mutual Information Maximization for Representation Learning" argues
that the success of InfoMax-style methods cannot be put down to the mutual
information itself. Its experiments, on the top half vs the bottom half of
MNIST digits, are reproduced here with the library's pieces:

  e1  invertible RealNVP encoders (I(x; g(x)) fixed), trained with I_NCE
      and I_NWJ and a bilinear critic: the linear probe still improves.
  e2  an invertible encoder trained adversarially against a linear
      classifier (`AdversarialInvertibleEncoder`): MI maximal, probe
      accuracy below the raw pixels.
  e4  bilinear / separable / concatenation critics with MLP encoders,
      trained with I_NWJ: the tightest bound is not the best probe.
  e5  matched bounds (train |I_NCE - t|): ConvNet vs MLP encoders.
  e6  non-i.i.d. negatives (a shared latent per batch): both estimators
      read far above the true MI (0.0204 nats).
  e7  the metric-learning reading: a hinge triplet loss on the same
      scores learns about as well as I_NCE.

Each experiment writes a Markdown and CSV table and a PNG plot into
`--out`. Probes are Tschannen et al.'s protocol (MinMax scaling, saga
logistic regression, C=10, tol=0.1) on the top-half encoder's features,
fit on the training split and measured on the held-out split; bounds are
also reported on held-out batches.

    python examples/mnist_halves.py --quick        # minutes on 2 CPU cores
    python examples/mnist_halves.py --data mnist   # paper settings (GPU)

`--data digits` (the default) uses scikit-learn's 8x8 digits (1,797
images, halves of 32 pixels, random 70/30 split) and needs no download;
`--data mnist` loads MNIST with tensorflow-datasets. Digits has 1,258
training images, so the paper's 21k steps of batch 128 (45 passes over
MNIST, 2,000 over digits) overfit; the reduced runs on digits use 3,000
steps and RealNVPs of 10 couplings [128, 128]:

    python examples/mnist_halves.py --experiments e1 --steps 3000 \
        --eval-every 250 --flow-couplings 10 --flow-hidden 128,128
    python examples/mnist_halves.py --experiments e2 --eval-every 3000 \
        --flow-couplings 10 --flow-hidden 128,128
    python examples/mnist_halves.py --experiments e4,e5,e7 --steps 3000 \
        --eval-every 250
    python examples/mnist_halves.py --experiments e6 --e6-steps 5000
"""

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_infomin as kim  # noqa: E402

try:  # run as a script or imported as `examples.mnist_halves`
    from examples import _mnist_halves_common as common
except ImportError:  # pragma: no cover
    import _mnist_halves_common as common

EXPERIMENTS = ("e1", "e2", "e4", "e5", "e6", "e7")
NOISE_STD = 0.05  # the paper's raw-pixel baseline adds this noise

# Model sizes: the paper's, and tiny ones for --quick.
PAPER_SIZES = {
    "flow_couplings": 30,
    "flow_hidden": (512, 512),
    "mlp_hidden": (300, 300),
    "embedding": 100,
    "separable_hidden": (100,),
    "concat_hidden": (200,),
    "conv_filters": (64, 128),
    "e6_critic": (10, 10, 10, 10, 10),
}
QUICK_SIZES = {
    "flow_couplings": 2,
    "flow_hidden": (32,),
    "mlp_hidden": (64,),
    "embedding": 32,
    "separable_hidden": (32,),
    "concat_hidden": (32,),
    "conv_filters": (8, 16),
    "e6_critic": (10, 10),
}


# -------------------------------------------------------------- helpers


def log(args, message):
    if args.verbose:
        print(message, flush=True)


def flow(args, coupling, seed):
    return kim.encoders.RealNVP(
        num_couplings=args.sizes["flow_couplings"],
        hidden_units=args.sizes["flow_hidden"],
        coupling=coupling,
        init_std=1e-4,
        seed=seed,
    )


def mlp(args):
    return kim.encoders.MLP(
        args.sizes["mlp_hidden"], output_dim=args.sizes["embedding"]
    )


def convnet(args, data):
    return kim.encoders.ConvNet(
        filters=args.sizes["conv_filters"],
        output_dim=args.sizes["embedding"],
        image_shape=data.half_shape,
    )


def make_critic(name, args):
    if name == "bilinear":
        return kim.critics.Bilinear()
    if name == "separable":
        return kim.critics.Separable(
            args.sizes["separable_hidden"], args.sizes["embedding"]
        )
    if name == "concat":
        return kim.critics.Concat(args.sizes["concat_hidden"])
    raise ValueError(f"Unknown critic {name!r}.")


def epochs_for(args, steps=None):
    """(epochs, steps per epoch): one epoch per evaluation.

    About `eval_every` steps per epoch, adjusted so that the run ends
    within `epochs - 1` steps of `steps`.
    """
    steps = args.steps if steps is None else steps
    epochs = max(1, math.ceil(steps / min(args.eval_every, steps)))
    return epochs, math.ceil(steps / epochs)


def train_pairs(model, data, args, label):
    """Trains a two-view model; returns one row per evaluation.

    Before training and after every `eval_every` steps: the training bound
    (mean over the last interval), I_NCE and I_NWJ of the critic on the
    held-out split, and the linear probe of the top-half encoder.
    """
    start = time.time()
    encoders = model.encoders if hasattr(model, "encoders") else None
    encoders = encoders or [model.top_encoder, model.bottom_encoder]
    critic = model.critic
    model((data.top["train"][:2], data.bottom["train"][:2]))
    rows = [
        {
            "run": label,
            "step": 0,
            "train_bound": float("nan"),
            **_test_bounds(encoders, critic, data, args),
            "probe_accuracy": common.probe(encoders[0], data),
        }
    ]
    epochs, per_epoch = epochs_for(args)
    probe = kim.evaluation.LinearProbe(
        data.probe_data("train"),
        data.probe_data("test"),
        every=1,
        encoder=encoders[0],
        C=10.0,
        tol=0.1,
    )
    monitor = common.bounds_monitor(encoders, critic, data, args.batch_size)
    history = model.fit(
        common.pair_dataset(data, "train", args.batch_size, seed=args.seed),
        epochs=epochs,
        steps_per_epoch=per_epoch,
        callbacks=[monitor, probe],
        shuffle=False,  # the dataset shuffles
        verbose=2 if args.verbose else 0,
    )
    logs = history.history
    train_key = "mi" if "mi" in logs else "loss"
    for i in range(epochs):
        train = logs[train_key][i]
        rows.append(
            {
                "run": label,
                "step": (i + 1) * per_epoch,
                "train_bound": -train if train_key == "loss" else train,
                "test_infonce": logs["test_infonce"][i],
                "test_nwj": logs["test_nwj"][i],
                "probe_accuracy": logs["linear_probe_accuracy"][i],
            }
        )
    log(args, f"    {label}: {time.time() - start:.0f} s, {_last(rows)}")
    return rows


def tail_mean(trace):
    """Mean probe accuracy over the last quarter of the evaluations.

    A single held-out probe is noisy (about 1.7 points of standard error on
    the 539 held-out digits); the tail mean steadies comparisons between
    runs.
    """
    evaluated = [r["probe_accuracy"] for r in trace if r["step"] > 0]
    tail = evaluated[-max(1, len(evaluated) // 4) :]
    return float(np.mean(tail))


def _test_bounds(encoders, critic, data, args):
    values = common.heldout_bounds(encoders, critic, data, args.batch_size)
    return {"test_infonce": values["infonce"], "test_nwj": values["nwj"]}


def _last(rows):
    row = rows[-1]
    return (
        f"I_NCE {row['test_infonce']:.3f}, I_NWJ {row['test_nwj']:.3f}, "
        f"probe {row['probe_accuracy']:.3f} (held out)"
    )


def reconstruction_errors(encoder, data):
    """max |g^-1(g(x)) - x| on the held-out top halves, float32 and float64.

    The float64 figure runs a float64 copy of the trained flow: it checks
    that the map is invertible (so I(x; g(x)) is maximal); the float32
    one shows how much of that survives single precision when the affine
    scales have been pushed towards zero.
    """
    x = data.top["test"]
    back = keras.ops.convert_to_numpy(encoder.inverse(encoder(x)))
    config = encoder.get_config()
    config["dtype"] = "float64"
    twin = type(encoder).from_config(config)
    twin.build((None, x.shape[1]))
    twin.set_weights(encoder.get_weights())
    x64 = x.astype("float64")
    back64 = keras.ops.convert_to_numpy(twin.inverse(twin(x64)))
    return float(np.max(np.abs(back - x))), float(np.max(np.abs(back64 - x64)))


def baseline_rows(data, fields_from):
    rows = []
    for name, accuracy in common.pixel_baselines(data, NOISE_STD).items():
        row = {k: "" for k in fields_from}
        row.update({"run": f"raw {name}", "probe_accuracy": accuracy})
        rows.append(row)
    return rows


def plot_traces(rows, baselines, args, stem, bound_key, title):
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for run in dict.fromkeys(r["run"] for r in rows):
        trace = [r for r in rows if r["run"] == run]
        steps = [r["step"] for r in trace]
        key = bound_key(run)
        axes[0].plot(steps, [r[key] for r in trace], marker="o", label=run)
        axes[1].plot(
            steps, [r["probe_accuracy"] for r in trace], marker="o", label=run
        )
    for (name, accuracy), style in zip(baselines.items(), ("--", ":")):
        axes[1].axhline(accuracy, color="gray", ls=style, label=f"raw {name}")
    axes[0].set_ylabel("held-out bound (nats)")
    axes[1].set_ylabel("probe accuracy (held out)")
    for ax in axes:
        ax.set_xlabel("training step")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return common.save_figure(fig, args.out, stem)


# ------------------------------------------------------------ experiments

TRACE_FIELDS = [
    "run",
    "step",
    "train_bound",
    "test_infonce",
    "test_nwj",
    "probe_accuracy",
]


def run_e1(data, args):
    """Invertible encoders: the probe moves although I(x; g(x)) cannot."""
    rows, errors = [], {}
    for i, bound in enumerate(("infonce", "nwj")):
        keras.utils.set_random_seed(args.seed + i)
        model = kim.models.ContrastiveModel(
            [flow(args, "additive", 2 * i), flow(args, "additive", 2 * i + 1)],
            critic=kim.critics.Bilinear(),
            bound=bound,
            symmetric=False,
        )
        model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
        label = f"I_{bound.upper()}"
        rows += train_pairs(model, data, args, label)
        errors[label] = reconstruction_errors(model.encoders[0], data)
    baselines = common.pixel_baselines(data, NOISE_STD)
    fields = TRACE_FIELDS + ["inverse_error_f32", "inverse_error_f64"]
    for row in rows:
        if row["step"] == rows[-1]["step"]:
            f32, f64 = errors[row["run"]]
            row.update(inverse_error_f32=f32, inverse_error_f64=f64)
    table = common.write_table(
        rows + baseline_rows(data, fields),
        fields,
        args.out,
        "e1_invertible",
        "E1: invertible RealNVP encoders, bilinear critic",
    )
    plot_traces(
        rows,
        baselines,
        args,
        "e1_invertible",
        lambda run: "test_infonce" if "NCE" in run else "test_nwj",
        "E1: invertible encoders (held-out bound of the trained objective)",
    )
    return table, rows


def run_e2(data, args):
    """Adversarial invertible encoder: maximal MI, worse than pixels."""
    keras.utils.set_random_seed(args.seed)
    k = args.classifier_steps
    total = args.adv_warmup + args.adv_rounds * (k + 1)
    model = kim.models.AdversarialInvertibleEncoder(
        flow(args, "affine", 7),
        data.num_classes,
        classifier_steps=k,
        warmup_steps=args.adv_warmup,
    )
    model.compile(
        encoder_optimizer=keras.optimizers.Adam(args.adv_encoder_lr),
        classifier_optimizer=keras.optimizers.Adam(args.adv_classifier_lr),
    )
    import tensorflow as tf

    labelled = (
        tf.data.Dataset.from_tensor_slices(data.probe_data("train"))
        .shuffle(len(data.labels["train"]), seed=args.seed)
        .repeat()
        .batch(args.batch_size, drop_remainder=True)
    )
    test = data.probe_data("test")
    model(test[0][:2])
    epochs, per_epoch = epochs_for(args, total)
    probe = kim.evaluation.LinearProbe(
        data.probe_data("train"),
        test,
        every=1,
        encoder=model.encoder,
        C=10.0,
        tol=0.1,
    )
    rows = [
        {
            "run": "adversarial",
            "step": 0,
            "encoder_steps": 0,
            "classifier_test_accuracy": float("nan"),
            "uniform_kl_test": float("nan"),
            "probe_accuracy": common.probe(model.encoder, data),
        }
    ]
    start = time.time()
    history = model.fit(
        labelled,
        epochs=epochs,
        steps_per_epoch=per_epoch,
        validation_data=test,
        validation_batch_size=args.batch_size,
        callbacks=[probe],
        shuffle=False,  # the dataset shuffles
        verbose=2 if args.verbose else 0,
    )
    logs = history.history
    for i in range(epochs):
        rows.append(
            {
                "run": "adversarial",
                "step": (i + 1) * per_epoch,
                "encoder_steps": int(logs["encoder_steps"][i]),
                "classifier_test_accuracy": logs["val_classifier_accuracy"][i],
                "uniform_kl_test": logs["val_uniform_kl"][i],
                "probe_accuracy": logs["linear_probe_accuracy"][i],
            }
        )
    f32, f64 = reconstruction_errors(model.encoder, data)
    rows[-1].update(inverse_error_f32=f32, inverse_error_f64=f64)
    log(
        args,
        f"    adversarial: {time.time() - start:.0f} s, probe "
        f"{rows[-1]['probe_accuracy']:.3f} (held out)",
    )
    fields = [
        "run",
        "step",
        "encoder_steps",
        "classifier_test_accuracy",
        "uniform_kl_test",
        "probe_accuracy",
        "inverse_error_f32",
        "inverse_error_f64",
    ]
    baselines = common.pixel_baselines(data, NOISE_STD)
    table = common.write_table(
        rows + baseline_rows(data, fields),
        fields,
        args.out,
        "e2_adversarial",
        "E2: invertible encoder trained against a linear classifier",
    )
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["probe_accuracy"] for r in rows], "o-", label="probe")
    ax.plot(
        steps[1:],
        [r["classifier_test_accuracy"] for r in rows[1:]],
        "s-",
        label="adversary's classifier",
    )
    for (name, accuracy), style in zip(baselines.items(), ("--", ":")):
        ax.axhline(accuracy, color="gray", ls=style, label=f"raw {name}")
    ax.axvline(args.adv_warmup, color="k", lw=0.6, label="end of warm-up")
    ax.set_xlabel("training step")
    ax.set_ylabel("held-out accuracy")
    ax.legend(fontsize=7)
    ax.set_title("E2: adversarial invertible encoder", fontsize=10)
    common.save_figure(fig, args.out, "e2_adversarial")
    return table, rows


def run_e4(data, args):
    """Critic families trained with I_NWJ: tightness vs probe accuracy."""
    traces, summary = [], []
    for i, name in enumerate(("bilinear", "separable", "concat")):
        keras.utils.set_random_seed(args.seed + i)
        model = kim.models.ContrastiveModel(
            [mlp(args), mlp(args)],
            critic=make_critic(name, args),
            bound="nwj",
            symmetric=False,
        )
        model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
        trace = train_pairs(model, data, args, name)
        traces += trace
        last = trace[-1]
        summary.append(
            {
                "critic": name,
                "train_nwj": last["train_bound"],
                "test_nwj": last["test_nwj"],
                "test_infonce": last["test_infonce"],
                "probe_accuracy": last["probe_accuracy"],
                "probe_tail_mean": tail_mean(trace),
            }
        )
    baselines = common.pixel_baselines(data, NOISE_STD)
    fields = ["critic", "train_nwj", "test_nwj", "test_infonce"]
    fields += ["probe_accuracy", "probe_tail_mean"]
    for name, accuracy in baselines.items():
        summary.append({"critic": f"raw {name}", "probe_accuracy": accuracy})
    table = common.write_table(
        summary, fields, args.out, "e4_critics", "E4: critics, I_NWJ"
    )
    common.write_table(traces, TRACE_FIELDS, args.out, "e4_critics_trace")
    plot_traces(
        traces,
        baselines,
        args,
        "e4_critics",
        lambda run: "test_nwj",
        "E4: critics trained with I_NWJ (held-out I_NWJ)",
    )
    return table, summary


def run_e5(data, args):
    """Matched bounds |I_NCE - t|: the encoder family decides the probe."""
    traces, summary = [], []
    makers = {"convnet": lambda: convnet(args, data), "mlp": lambda: mlp(args)}
    for i, (name, make) in enumerate(makers.items()):
        for target in args.targets:
            keras.utils.set_random_seed(args.seed + i)
            model = kim.models.ContrastiveModel(
                [make(), make()],
                critic=kim.critics.Bilinear(),
                bound="infonce",
                symmetric=False,
                target=target,
            )
            model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
            trace = train_pairs(model, data, args, f"{name} t={target:g}")
            traces += trace
            last = trace[-1]
            summary.append(
                {
                    "encoder": name,
                    "target": target,
                    "train_infonce": last["train_bound"],
                    "test_infonce": last["test_infonce"],
                    "probe_accuracy": last["probe_accuracy"],
                    "probe_tail_mean": tail_mean(trace),
                }
            )
    fields = [
        "encoder",
        "target",
        "train_infonce",
        "test_infonce",
        "probe_accuracy",
        "probe_tail_mean",
    ]
    table = common.write_table(
        summary, fields, args.out, "e5_matched_bounds", "E5: |I_NCE - t|"
    )
    common.write_table(traces, TRACE_FIELDS, args.out, "e5_trace")
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for name in makers:
        rows = [r for r in summary if r["encoder"] == name]
        axes[0].plot(
            [r["target"] for r in rows],
            [r["train_infonce"] for r in rows],
            "o-",
            label=f"{name} (train)",
        )
        axes[0].plot(
            [r["target"] for r in rows],
            [r["test_infonce"] for r in rows],
            "x--",
            label=f"{name} (held out)",
        )
        axes[1].plot(
            [r["target"] for r in rows],
            [r["probe_accuracy"] for r in rows],
            "o-",
            label=name,
        )
    axes[0].plot(args.targets, args.targets, color="gray", lw=0.6)
    axes[0].set_ylabel("I_NCE (nats)")
    axes[1].set_ylabel("probe accuracy (held out)")
    for ax in axes:
        ax.set_xlabel("target t (nats)")
        ax.legend(fontsize=7)
    fig.suptitle("E5: matched bounds, ConvNet vs MLP", fontsize=10)
    common.save_figure(fig, args.out, "e5_matched_bounds")
    return table, summary


def run_e6(data, args):
    """Non-i.i.d. negatives: a shared latent per batch inflates estimates."""
    del data
    true_mi, conditional = common.e6_true_mi(), common.e6_conditional_mi()
    steps, batch = args.e6_steps, args.e6_batch_size
    summary, traces = [], {}
    for i, bound in enumerate(("infonce", "nwj")):
        for j, kind in enumerate(("dependent", "iid")):
            keras.utils.set_random_seed(args.seed + 2 * i + j)
            model = kim.models.MIEstimator(
                kim.critics.Concat(args.sizes["e6_critic"]), bound=bound
            )
            model.compile(optimizer=keras.optimizers.Adam(args.e6_lr))
            recorder = kim.models.EstimateRecorder()
            dependent = kind == "dependent"
            start = time.time()
            model.fit(
                common.e6_dataset(steps, batch, dependent, seed=args.seed),
                epochs=1,
                callbacks=[recorder],
                shuffle=False,
                verbose=0,
            )
            estimates = np.array(recorder.estimates)
            traces[(bound, kind)] = estimates
            tail = estimates[-max(1, steps // 5) :]
            row = {
                "bound": bound,
                "train_batches": kind,
                "train_estimate": float(tail.mean()),
            }
            for eval_kind in ("dependent", "iid"):
                fresh = common.e6_dataset(
                    args.e6_eval_batches,
                    batch,
                    eval_kind == "dependent",
                    seed=args.seed + 1000,
                )
                logs = model.evaluate(fresh, return_dict=True, verbose=0)
                row[f"test_{eval_kind}"] = float(logs["mi"])
            row["true_mi"] = true_mi
            row["conditional_mi"] = conditional
            summary.append(row)
            log(
                args,
                f"    {bound} on {kind} batches: {time.time() - start:.0f} "
                f"s, estimate {row['train_estimate']:.3f} (true "
                f"{true_mi:.4f})",
            )
    fields = [
        "bound",
        "train_batches",
        "train_estimate",
        "test_dependent",
        "test_iid",
        "true_mi",
        "conditional_mi",
    ]
    table = common.write_table(
        summary,
        fields,
        args.out,
        "e6_non_iid",
        "E6: non-i.i.d. negatives (nats)",
    )
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, bound in zip(axes, ("infonce", "nwj")):
        for kind in ("dependent", "iid"):
            values = traces[(bound, kind)]
            window = max(1, len(values) // 50)
            smooth = np.convolve(values, np.ones(window) / window, "valid")
            ax.plot(smooth, label=f"{kind} batches")
        ax.axhline(true_mi, color="tab:red", lw=1, label="I(X; Y)")
        ax.axhline(conditional, color="gray", ls="--", lw=1, label="I(X;Y|Z)")
        ax.set_title(bound, fontsize=9)
        ax.set_xlabel("training step")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("estimate (nats)")
    fig.suptitle("E6: shared latent per batch", fontsize=10)
    common.save_figure(fig, args.out, "e6_non_iid")
    return table, summary


def run_e7(data, args):
    """Metric learning: hinge triplet loss vs I_NCE on the same scores.

    (In `e7_trace`, `train_bound` is minus the training loss: the bound for
    I_NCE, minus the hinge loss for the triplet run.)
    """
    traces, summary = [], []
    losses = {
        "infonce": kim.losses.InfoNCE(),
        "triplet": kim.losses.Triplet(margin=args.triplet_margin),
    }
    for i, (name, loss) in enumerate(losses.items()):
        keras.utils.set_random_seed(args.seed + i)
        model = ScoreModel(mlp(args), mlp(args), kim.critics.Bilinear())
        model.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate), loss=loss
        )
        trace = train_pairs(model, data, args, name)
        traces += trace
        last = trace[-1]
        summary.append(
            {
                "loss": name,
                "test_infonce": last["test_infonce"],
                "probe_accuracy": last["probe_accuracy"],
                "probe_tail_mean": tail_mean(trace),
            }
        )
    baselines = common.pixel_baselines(data, NOISE_STD)
    for name, accuracy in baselines.items():
        summary.append({"loss": f"raw {name}", "probe_accuracy": accuracy})
    fields = ["loss", "test_infonce", "probe_accuracy", "probe_tail_mean"]
    table = common.write_table(
        summary, fields, args.out, "e7_triplet", "E7: triplet vs I_NCE"
    )
    common.write_table(traces, TRACE_FIELDS, args.out, "e7_trace")
    plot_traces(
        traces,
        baselines,
        args,
        "e7_triplet",
        lambda run: "test_infonce",
        "E7: hinge triplet vs I_NCE, bilinear critic (held-out I_NCE)",
    )
    return table, summary


class ScoreModel(keras.Model):
    """Two encoders and a critic: `((top, bottom),) -> score matrix`.

    Trained with any `keras_infomin.losses` loss through `compile(loss=)`;
    the targets fed by `fit` are ignored by those losses.
    """

    def __init__(self, top_encoder, bottom_encoder, critic, **kwargs):
        super().__init__(**kwargs)
        self.top_encoder = top_encoder
        self.bottom_encoder = bottom_encoder
        self.critic = critic

    def call(self, inputs, training=False):
        top, bottom = inputs
        return self.critic(
            self.top_encoder(top, training=training),
            self.bottom_encoder(bottom, training=training),
        )

    def train_step(self, data):
        (views,) = data
        return super().train_step((views, _dummy_targets(views[0])))

    def test_step(self, data):
        (views,) = data
        return super().test_step((views, _dummy_targets(views[0])))


def _dummy_targets(x):
    return keras.ops.zeros(keras.ops.shape(x)[:1])


RUNNERS = {
    "e1": run_e1,
    "e2": run_e2,
    "e4": run_e4,
    "e5": run_e5,
    "e6": run_e6,
    "e7": run_e7,
}


# ---------------------------------------------------------------- main


def _ints(text):
    return tuple(int(v) for v in text.split(",") if v)


def _floats(text):
    return tuple(float(v) for v in text.split(",") if v)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", choices=("digits", "mnist"), default="digits")
    parser.add_argument(
        "--experiments",
        default=",".join(EXPERIMENTS),
        help="comma-separated subset of " + ",".join(EXPERIMENTS),
    )
    parser.add_argument("--quick", action="store_true", help="tiny run")
    parser.add_argument("--steps", type=int, default=21000)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument(
        "--flow-couplings", type=int, help="RealNVP couplings (paper: 30)"
    )
    parser.add_argument(
        "--flow-hidden", type=_ints, help="coupling MLP (paper: 512,512)"
    )
    parser.add_argument(
        "--mlp-hidden", type=_ints, help="MLP hidden layers (paper: 300,300)"
    )
    parser.add_argument("--embedding", type=int, help="output size (100)")
    parser.add_argument("--adv-warmup", type=int, default=1000)
    parser.add_argument("--adv-rounds", type=int, default=4001)
    parser.add_argument("--classifier-steps", type=int, default=10)
    parser.add_argument("--adv-encoder-lr", type=float, default=1e-5)
    parser.add_argument("--adv-classifier-lr", type=float, default=1e-3)
    parser.add_argument(
        "--targets", type=_floats, help="E5 targets t (mnist 2,4; digits 1.5,3)"
    )
    parser.add_argument("--e6-steps", type=int, help="default: --steps")
    parser.add_argument("--e6-batch-size", type=int, default=128)
    parser.add_argument("--e6-lr", type=float, default=1e-3)
    parser.add_argument("--e6-eval-batches", type=int, default=200)
    parser.add_argument("--triplet-margin", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/mnist_halves")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    args.experiments = [e for e in args.experiments.split(",") if e]
    unknown = [e for e in args.experiments if e not in RUNNERS]
    if unknown:
        parser.error(f"unknown experiments {unknown}; known: {EXPERIMENTS}")
    sizes = dict(QUICK_SIZES if args.quick else PAPER_SIZES)
    if args.quick:
        args.steps = min(args.steps, 150)
        args.eval_every = min(args.eval_every, 50)
        args.batch_size = min(args.batch_size, 64)
        args.adv_warmup = min(args.adv_warmup, 40)
        args.adv_rounds = min(args.adv_rounds, 10)
        args.e6_batch_size = min(args.e6_batch_size, 64)
        args.e6_eval_batches = min(args.e6_eval_batches, 20)
        args.learning_rate = max(args.learning_rate, 1e-3)
        args.adv_encoder_lr = max(args.adv_encoder_lr, 1e-3)
    for key, value in (
        ("flow_couplings", args.flow_couplings),
        ("flow_hidden", args.flow_hidden),
        ("mlp_hidden", args.mlp_hidden),
        ("embedding", args.embedding),
    ):
        if value is not None:
            sizes[key] = value
    args.sizes = sizes
    if args.targets is None:
        args.targets = (2.0, 4.0) if args.data == "mnist" else (1.5, 3.0)
    if args.e6_steps is None:
        args.e6_steps = args.steps
    for name in ("steps", "eval_every", "batch_size", "e6_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    needs_images = any(e != "e6" for e in args.experiments)
    data = common.load(args.data, seed=args.seed) if needs_images else None
    if data is not None:
        common.check_batch_size(data, args.batch_size)
        log(args, data.describe())
    results = {}
    for name in args.experiments:
        start = time.time()
        log(args, f"[{name}] {RUNNERS[name].__doc__.splitlines()[0]}")
        table, rows = RUNNERS[name](data, args)
        results[name] = rows
        log(args, table)
        log(args, f"[{name}] done in {time.time() - start:.0f} s\n")
    log(args, f"tables and plots in {args.out}")
    return results


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as err:
        sys.exit(f"error: {err}")
