"""MI estimators on the Beyond Normal v1 tasks: estimate against the truth.

Every estimator reads `N` samples of each task (the benchmark's N = 5,000,
seeds 0 and 1 by default) and is scored by its error against the task's
closed-form MI. Writes, under `--out`:

- `estimates.csv`: one row per task, estimator and seed;
- `results.md` / `results.csv`: the mean estimate per task and estimator,
  and the mean absolute error over the eight tasks of the summary below
  and over all tasks run;
- `heatmap.png`: the mean error (estimate - truth) per task and estimator.

Estimators are named in `ESTIMATORS`: a function of
`keras_infomin.estimators` with its settings (KSG with k = 5 in the
max-norm and in the Euclidean norm, CCA).

    python examples/mi_task_suite.py            # 40 tasks x 2 seeds
    python examples/mi_task_suite.py --quick    # 8 tasks, N = 1,000, 1 seed
"""

import argparse
import csv
import os
import sys
import time

import numpy as np

import keras_infomin as kim

# The eight tasks the project's issue tracker summarises estimators on:
# one of each family (normal, dense and sparse multinormal, a transform,
# Student-t, additive noise, spiral, Swiss roll).
SUMMARY_TASKS = (
    "1v1-normal-0.75",
    "multinormal-dense-5-5-0.5",
    "multinormal-sparse-5-5-2-2.0",
    "half_cube-multinormal-sparse-5-5-2-2.0",
    "student-identity-3-3-2",
    "1v1-additive-0.75",
    "spiral-multinormal-sparse-3-3-2-2.0",
    "swissroll_x-normal_cdf-1v1-normal-0.75",
)


# name -> (function of keras_infomin.estimators, keyword arguments).
ESTIMATORS = {
    "ksg": ("ksg", {"k": 5}),
    "ksg_euclidean": ("ksg", {"k": 5, "metric": "euclidean"}),
    "cca": ("cca", {}),
}


def estimate(name, x, y, seed):
    """MI estimate in nats of the estimator `name` on one sample."""
    del seed  # KSG and CCA are deterministic.
    function, kwargs = ESTIMATORS[name]
    return kim.estimators.get(function)(x, y, **kwargs)


def run(args):
    rows = []
    total = len(args.tasks) * len(args.seeds)
    for t, name in enumerate(args.tasks):
        task = kim.data.mi_task(name)
        for seed in args.seeds:
            x, y = task.sample(args.n, seed=seed)
            for estimator in args.estimators:
                start = time.perf_counter()
                value = estimate(estimator, x, y, seed)
                rows.append(
                    {
                        "task": task.name,
                        "estimator": estimator,
                        "seed": seed,
                        "n": args.n,
                        "true_mi": task.mutual_information,
                        "estimate": value,
                        "error": value - task.mutual_information,
                        "seconds": time.perf_counter() - start,
                    }
                )
        if args.verbose:
            print(f"[{(t + 1) * len(args.seeds)}/{total}] {task.name}")
    return rows


def summarise(rows, args):
    """Mean estimate per task and estimator; MAE over the summary tasks."""
    table = []
    for task in args.tasks:
        row = {"task": task}
        for estimator in args.estimators:
            mine = [
                r
                for r in rows
                if r["task"] == task and r["estimator"] == estimator
            ]
            row["true_mi"] = mine[0]["true_mi"]
            row[estimator] = float(np.mean([r["estimate"] for r in mine]))
        table.append(row)

    def mae(estimator, tasks):
        errors = [
            abs(r["error"])
            for r in rows
            if r["estimator"] == estimator and r["task"] in tasks
        ]
        return float(np.mean(errors)) if errors else None

    all_tasks = {r["task"] for r in rows}
    scores = {
        e: (mae(e, SUMMARY_TASKS), mae(e, all_tasks)) for e in args.estimators
    }
    return table, scores


def write_outputs(rows, table, scores, args):
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "estimates.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    lines = [
        f"N = {args.n}, seeds {args.seeds}; mean estimate in nats.",
        "",
        "| task | true MI | " + " | ".join(args.estimators) + " |",
        "|---|---|" + "---|" * len(args.estimators),
    ]
    for r in table:
        cells = [f"{r[e]:.3f}" for e in args.estimators]
        lines.append(
            f"| {r['task']} | {r['true_mi']:.3f} | {' | '.join(cells)} |"
        )
    lines += ["", "| mean absolute error | summary tasks run | all tasks run |"]
    lines.append("|---|---|---|")
    for e, (summary, overall) in scores.items():
        cell = "n/a" if summary is None else f"{summary:.3f}"
        lines.append(f"| {e} | {cell} | {overall:.3f} |")
    text = "\n".join(lines)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text + "\n")
    return text


def plot(table, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    errors = np.array(
        [[r[e] - r["true_mi"] for e in args.estimators] for r in table]
    )
    limit = max(0.5, float(np.abs(errors).max()))
    fig, ax = plt.subplots(
        figsize=(2.0 + 1.1 * len(args.estimators), 0.8 + 0.28 * len(table))
    )
    image = ax.imshow(
        errors, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto"
    )
    for i, r in enumerate(table):
        for j, e in enumerate(args.estimators):
            dark = abs(errors[i, j]) > 0.6 * limit
            colour = "white" if dark else "black"
            text = f"{r[e]:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, c=colour)
    ax.set_xticks(
        range(len(args.estimators)), args.estimators, rotation=30, ha="right"
    )
    ax.set_yticks(
        range(len(table)),
        [f"{r['task']} ({r['true_mi']:.2f})" for r in table],
        fontsize=7,
    )
    fig.colorbar(image, label="estimate - true MI (nats)")
    ax.set_title(f"N = {args.n}; cells: mean estimate", fontsize=9)
    fig.tight_layout()
    path = os.path.join(args.out, "heatmap.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small run")
    parser.add_argument(
        "--tasks", default="v1", help="'v1', 'summary' or comma-separated names"
    )
    parser.add_argument("--estimators", default=",".join(ESTIMATORS))
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--out", default="outputs/mi_task_suite")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.n, args.seeds = "summary", min(args.n, 1000), "0"
    presets = {"v1": kim.data.MI_TASKS_V1, "summary": SUMMARY_TASKS}
    names = presets.get(args.tasks, args.tasks.split(","))
    try:
        args.tasks = [kim.data.mi_task(name).name for name in names]
    except ValueError as error:
        parser.error(str(error))
    args.estimators = args.estimators.split(",")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    unknown = [e for e in args.estimators if e not in ESTIMATORS]
    if unknown:
        parser.error(f"unknown estimators {unknown}; known: {list(ESTIMATORS)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    rows = run(args)
    table, scores = summarise(rows, args)
    print(write_outputs(rows, table, scores, args))
    print(f"heat map: {plot(table, args)}")
    print(f"{time.perf_counter() - start:.0f} s in all")
    return rows, scores


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
