"""The InfoMin view game on a toy, judged by fresh adversaries.

A naive view game (Tian et al. 2020, Sec. 4) is easy to win for the wrong
reason: the generator `g` hides the information its current encoders use
instead of removing it. This study measures each lever of
`keras_infomin.models.InfoMinModel` by what a *fresh* adversary finds: new
encoders trained for a fixed budget on held-out images through the final,
frozen `g` (`evaluation.fresh_critic_mi`), next to the game's own I_NCE.

Data: `keras_infomin.data.shared_nuisance_images`, 16x16 RGB images whose
channels share a strong brightness field (the nuisance) and carry a weak
class signal along a chroma direction. The raw split R | GB shares the
whole field (3.7-3.8 nats for the fresh critic at batch 64, cap 4.16); a
colour map that takes channel 0 to chroma removes it.

Levers (`--levers`, names of `LEVERS`): `naive` is the simultaneous game
on the flow's raw outputs; `default` the game `InfoMinModel` recommends
(standardised views of an additive flow whose couplings alternate, and
the generator's moving average kept at the end); the others change one
thing of `default`: the flow (affine, random permutations, raw outputs),
the last iterate instead of the average, the generator's learning
rate, encoder steps per generator step, warm-up, a pool of adversaries,
periodic resets, and the upper bounds CLUB / L1Out for the generator.
The figures in `InfoMinModel`'s docstring come from these settings (the
defaults below: 2,048 training and 1,024 held-out images, 6 epochs at
batch 64, a 200-step fresh critic; AMD EPYC Zen 4, 2 shared cores,
about 15 s of CPU per run).

    python -m examples.infomin_game                  # all levers, 4 seeds
    python -m examples.infomin_game --quick          # a smoke run
    python -m examples.infomin_game --levers naive,default --seeds 0,1,2

Writes `levers.md` / `levers.csv` (one row per lever, mean and sd over
seeds) and `runs.csv` (one row per lever and seed) under `--out`.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_infomin as kim  # noqa: E402

# name: settings that differ from BASE (see `game`). BASE is the naive
# game: one adversary, both players every step, Adam 1e-3 for both, the
# flow's raw outputs as views, random coupling permutations, the last
# iterate of g. DEFAULT is the game `InfoMinModel` recommends (its
# docstring has the figures): standardised views of an additive flow whose
# couplings alternate, and g's moving average (momentum 0.95) kept at the
# end. The other levers are played on top of DEFAULT.
BASE = {
    "coupling": "additive",
    "permutation": "random",
    "standardize": False,
    "encoder_lr": 1e-3,
    "generator_lr": 1e-3,
    "generator_average": None,
}
DEFAULT = {
    "standardize": True,
    "permutation": "reverse",
    "generator_average": 0.95,
}
LEVERS = {
    "naive": {},
    "naive_affine": {"coupling": "affine"},
    "default": DEFAULT,
    "affine": {**DEFAULT, "coupling": "affine"},
    "random_permutation": {**DEFAULT, "permutation": "random"},
    "raw_outputs": {**DEFAULT, "standardize": False},
    "no_average": {**DEFAULT, "generator_average": None},
    "generator_lr_3e-4": {**DEFAULT, "generator_lr": 3e-4},
    "every_3": {**DEFAULT, "generator_every": 3},
    "warmup": {**DEFAULT, "warmup_epochs": 2},
    "pool_3": {**DEFAULT, "adversaries": 3},
    "pool_3_reset": {**DEFAULT, "adversaries": 3, "reset_epochs": 1},
    "club": {**DEFAULT, "generator_bound": "club"},
    "l1out": {**DEFAULT, "generator_bound": "l1out"},
}


def encoder(args):
    return kim.encoders.ConvNet(
        filters=args.filters, kernel_size=3, output_dim=args.embedding_dim
    )


def game(settings, train, args, seed):
    """Plays the game with `settings`; returns `(model, last logs)`."""
    settings = {**BASE, **settings}
    steps_per_epoch = len(train) // args.batch_size
    keras.utils.set_random_seed(seed)
    flow = kim.encoders.RealNVP(
        args.couplings,
        (args.flow_units,),
        coupling=settings["coupling"],
        init_std=1e-3,
        permutation=settings["permutation"],
        seed=seed,
    )
    reset = settings.get("reset_epochs")
    generator = kim.views.FlowViewGenerator(
        flow, standardize=settings["standardize"]
    )
    model = kim.models.InfoMinModel(
        generator,
        [encoder(args), encoder(args)],
        generator_every=settings.get("generator_every", 1),
        warmup_steps=settings.get("warmup_epochs", 0) * steps_per_epoch,
        adversaries=settings.get("adversaries", 1),
        reset_every=None if reset is None else reset * steps_per_epoch,
        generator_bound=settings.get("generator_bound"),
    )
    model.compile(
        encoder_optimizer=keras.optimizers.Adam(settings["encoder_lr"]),
        generator_optimizer=keras.optimizers.Adam(
            settings["generator_lr"],
            use_ema=settings["generator_average"] is not None,
            ema_momentum=settings["generator_average"] or 0.99,
        ),
    )
    history = model.fit(
        train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=args.verbose,
    )
    return model, {k: float(v[-1]) for k, v in history.history.items()}


def fresh_mi(views, held_out, args, seed):
    return kim.evaluation.fresh_critic_mi(
        views,
        held_out,
        steps=args.critic_steps,
        batch_size=args.batch_size,
        seed=seed,
    )


def summarise(runs, name):
    own = [r for r in runs if r["lever"] == name]
    fresh = np.array([r["fresh_mi"] for r in own])
    game_mi = np.array([r["game_mi"] for r in own], float)
    return {
        "lever": name,
        "seeds": len(own),
        "fresh_mi": fresh.mean(),
        "fresh_mi_sd": fresh.std(ddof=1) if len(own) > 1 else 0.0,
        "below_raw": sum(r["fresh_mi"] < r["raw_mi"] for r in own),
        "game_mi": game_mi.mean(),
        "seconds": float(np.mean([r["seconds"] for r in own])),
    }


COLUMNS = [
    ("lever", "lever", ""),
    ("seeds", "seeds", "d"),
    ("fresh_mi", "fresh I_NCE (nats)", ".3f"),
    ("fresh_mi_sd", "sd", ".3f"),
    ("below_raw", "seeds below raw", "d"),
    ("game_mi", "game I_NCE", ".3f"),
    ("seconds", "s / run", ".0f"),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--levers", default=",".join(LEVERS))
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument("--train-images", type=int, default=2048)
    parser.add_argument("--held-out-images", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--critic-steps", type=int, default=200)
    parser.add_argument("--filters", default="16,32")
    parser.add_argument("--embedding-dim", type=int, default=32)
    parser.add_argument("--couplings", type=int, default=2)
    parser.add_argument("--flow-units", type=int, default=16)
    parser.add_argument("--out", default="outputs/infomin_game")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.train_images = min(args.train_images, 256)
        args.held_out_images = min(args.held_out_images, 256)
        args.epochs = min(args.epochs, 2)
        args.batch_size = min(args.batch_size, 32)
        args.critic_steps = min(args.critic_steps, 10)
        args.filters = "8,16"
        args.embedding_dim = 16
    args.filters = [int(f) for f in str(args.filters).split(",")]
    args.seeds = [int(s) for s in str(args.seeds).split(",") if s]
    args.levers = [name for name in args.levers.split(",") if name]
    unknown = [name for name in args.levers if name not in LEVERS]
    if unknown:
        parser.error(f"unknown levers {unknown}; known: {list(LEVERS)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    start_all = time.time()
    train, _ = kim.data.shared_nuisance_images(args.train_images, seed=0)
    held_out, _ = kim.data.shared_nuisance_images(args.held_out_images, seed=1)
    raw = kim.views.ChannelSplit("rgb", groups=((0,), (1, 2)))
    raw_mi = {s: fresh_mi(raw, held_out, args, s).value for s in args.seeds}
    print(
        "raw R | GB, fresh I_NCE: "
        + ", ".join(f"{v:.3f}" for v in raw_mi.values()),
        flush=True,
    )
    runs = []
    for name in args.levers:
        for seed in args.seeds:
            start = time.time()
            model, logs = game(LEVERS[name], train, args, seed)
            views = kim.models.frozen_generator(model.generator)
            result = fresh_mi(views, held_out, args, seed)
            runs.append(
                {
                    "lever": name,
                    "seed": seed,
                    "fresh_mi": result.value,
                    "fresh_mi_stderr": result.stderr,
                    "raw_mi": raw_mi[seed],
                    "game_mi": logs["mi"],
                    "seconds": time.time() - start,
                }
            )
            print(
                f"{name} seed {seed}: fresh {result.value:.3f} (raw "
                f"{raw_mi[seed]:.3f}), game {logs['mi']:.3f}, log_det "
                f"{logs['log_det']:.1f}, "
                f"{runs[-1]['seconds']:.0f} s",
                flush=True,
            )
    summary = [summarise(runs, name) for name in args.levers]
    kim.analysis.write_table(runs, args.out, "runs")
    raw_values = np.array(list(raw_mi.values()))
    table = kim.analysis.write_table(
        summary,
        args.out,
        "levers",
        COLUMNS,
        notes=[
            f"raw R | GB: {raw_values.mean():.3f} +- "
            f"{raw_values.std(ddof=1) if len(raw_values) > 1 else 0.0:.3f}"
            f" nats; {len(train)} training / {len(held_out)} held-out "
            f"images, {args.epochs} epochs, fresh critic {args.critic_steps}"
            f" steps at batch {args.batch_size} (cap "
            f"{np.log(args.batch_size):.2f}); {time.time() - start_all:.0f}"
            " s in all.",
        ],
    )
    print(table)
    return summary


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
