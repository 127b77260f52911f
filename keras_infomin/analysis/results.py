"""What a sweep returns: per-value summaries over seeds and the sweet spot."""

import dataclasses

import numpy as np

from keras_infomin.analysis.knobs import Knob
from keras_infomin.analysis.tables import markdown_cell

SUMMARY_COLUMNS = [
    ("label", "value", ""),
    ("epochs", "epochs", "d"),
    ("seeds", "seeds", "d"),
    ("mi", "I_NCE fresh (nats)", ".3f"),
    ("mi_sd", "sd", ".3f"),
    ("mi_cap", "cap", ".2f"),
    ("model_mi", "I_NCE model", ".3f"),
    ("accuracy", "accuracy", ".3f"),
    ("accuracy_sd", "sd", ".3f"),
]


@dataclasses.dataclass
class SweepResult:
    """What `sweep` measured.

    Attributes:
        knob: the `Knob` swept.
        runs: one dict per value, seed and budget: `value`, `label`,
            `seed`, `epochs`, `mi` (fresh-critic held-out I_NCE, nats),
            `mi_stderr` (its spread over held-out batches), `mi_cap`,
            `mi_train` (the fresh critic on its training images),
            `model_mi` (the trained model's own held-out I_NCE),
            `accuracy`, `train_seconds`.
        summary: one dict per value and budget, means over seeds with
            their standard deviations (`*_sd`, None for one seed).
        sweet_spot: the value of best mean accuracy at the final budget
            (`value`, `label`, `accuracy`, `accuracy_sd`, `mi`, `mi_sd`),
            how often it won (`wins` of `seeds`: each seed's own best is
            in `seed_best`), the gap to the runner-up (`margin`, None
            with one value) and, for numeric knobs with several seeds,
            `location` and `location_sd` (mean and spread of the seeds'
            best values).
        baseline: probe accuracy of untrained encoders, or None.
        fit: `reverse_u_fit` of accuracy against I_NCE (final budget).
        notes: the lines written under the table.
        files: paths written (`runs`, `runs_csv`, `summary_csv`,
            `summary_md`, `information_plane`, `knob_plot`).
    """

    knob: Knob
    runs: list
    summary: list
    sweet_spot: dict
    baseline: object
    fit: object
    notes: list
    files: dict

    def table(self):
        """The summary as a Markdown table, then the notes."""
        lines = [
            "| " + " | ".join(h for _, h, _ in SUMMARY_COLUMNS) + " |",
            "|" + "---|" * len(SUMMARY_COLUMNS),
        ]
        for row in self.summary:
            cells = [markdown_cell(row[k], f) for k, _, f in SUMMARY_COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines + [""] + self.notes)


def _mean_sd(values):
    values = np.asarray(values, float)
    sd = float(values.std(ddof=1)) if len(values) > 1 else None
    return float(values.mean()), sd


def summarise(runs, values, budgets):
    """Means and standard deviations over seeds, per value and budget."""
    summary = []
    for value in values:
        for budget in budgets:
            own = [
                r for r in runs if r["value"] == value and r["epochs"] == budget
            ]
            if not own:
                continue
            mi, mi_sd = _mean_sd([r["mi"] for r in own])
            model_mi, model_mi_sd = _mean_sd([r["model_mi"] for r in own])
            accuracy, accuracy_sd = _mean_sd([r["accuracy"] for r in own])
            summary.append(
                {
                    "value": value,
                    "label": own[0]["label"],
                    "epochs": budget,
                    "seeds": len(own),
                    "mi": mi,
                    "mi_sd": mi_sd,
                    "mi_stderr": float(np.mean([r["mi_stderr"] for r in own])),
                    "mi_cap": own[0]["mi_cap"],
                    "model_mi": model_mi,
                    "model_mi_sd": model_mi_sd,
                    "accuracy": accuracy,
                    "accuracy_sd": accuracy_sd,
                }
            )
    return summary


def find_sweet_spot(runs, summary, numeric):
    """The value of best mean accuracy at the final budget, and its spread.

    See `SweepResult.sweet_spot` for the keys.
    """
    budget = max(r["epochs"] for r in summary)
    final = sorted(
        (r for r in summary if r["epochs"] == budget),
        key=lambda r: -r["accuracy"],
    )
    best = final[0]
    last = [r for r in runs if r["epochs"] == budget]
    seed_best = []
    for seed in dict.fromkeys(r["seed"] for r in last):
        own = [r for r in last if r["seed"] == seed]
        seed_best.append(max(own, key=lambda r: r["accuracy"])["value"])
    spot = {
        "value": best["value"],
        "label": best["label"],
        "epochs": budget,
        "accuracy": best["accuracy"],
        "accuracy_sd": best["accuracy_sd"],
        "mi": best["mi"],
        "mi_sd": best["mi_sd"],
        "seed_best": seed_best,
        "wins": sum(v == best["value"] for v in seed_best),
        "seeds": len(seed_best),
        "margin": (
            best["accuracy"] - final[1]["accuracy"] if len(final) > 1 else None
        ),
        "location": None,
        "location_sd": None,
    }
    if numeric and len(seed_best) > 1:
        spot["location"], spot["location_sd"] = _mean_sd(seed_best)
    return spot


def describe_sweet_spot(spot, knob):
    """One sentence naming the sweet spot and its uncertainty."""
    text = f"sweet spot: {knob.name} {spot['label']}"
    text += f", accuracy {spot['accuracy']:.3f}"
    if spot["accuracy_sd"] is not None:
        text += f" +- {spot['accuracy_sd']:.3f} (sd over seeds)"
    text += f" at I_NCE {spot['mi']:.3f} nats"
    text += f"; best in {spot['wins']} of {spot['seeds']} seeds"
    if spot["location"] is not None:
        text += (
            f", the seeds' best {knob.name} {spot['location']:.3g} +- "
            f"{spot['location_sd']:.3g}"
        )
    if spot["margin"] is not None:
        text += f"; {spot['margin']:.3f} above the runner-up"
    return text + "."
