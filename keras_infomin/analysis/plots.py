"""Figures of a sweep: the information plane and each measure against the knob.

matplotlib is imported here only (Agg backend, no display needed).
"""

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:  # pragma: no cover - depends on install
        raise ImportError(
            "The sweep's figures need matplotlib: `pip install matplotlib`, "
            "or pass plots=False."
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _sd(rows, key):
    """Error-bar lengths: the spread over seeds (0 for a single seed)."""
    return np.array([r[key] if r[key] is not None else 0.0 for r in rows])


def information_plane(summary, knob, path, fit=None, sweet=None, title=""):
    """Accuracy against held-out I_NCE, one point per value (and budget).

    Error bars: standard deviation over seeds. With several budgets the
    points of one value are joined in budget order. `fit` (from
    `reverse_u_fit`) draws the parabola; `sweet` marks the sweet spot.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.4, 4.2))
    budgets = sorted({r["epochs"] for r in summary})
    final = [r for r in summary if r["epochs"] == budgets[-1]]
    for label in dict.fromkeys(r["label"] for r in summary):
        own = [r for r in summary if r["label"] == label]
        if len(own) > 1:
            ax.plot(
                [r["mi"] for r in own],
                [r["accuracy"] for r in own],
                color="lightgray",
                zorder=1,
            )
    ax.errorbar(
        [r["mi"] for r in final],
        [r["accuracy"] for r in final],
        xerr=_sd(final, "mi_sd"),
        yerr=_sd(final, "accuracy_sd"),
        fmt="o",
        color="tab:blue",
        capsize=3,
        zorder=3,
    )
    for r in final:
        ax.annotate(
            r["label"],
            (r["mi"], r["accuracy"]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
        )
    if fit is not None:
        mi = [r["mi"] for r in final]
        grid = np.linspace(min(mi), max(mi), 100)
        a, b, c, _ = fit
        ax.plot(grid, a * grid**2 + b * grid + c, color="gray", ls="--")
    if sweet is not None:
        ax.scatter(
            [sweet["mi"]],
            [sweet["accuracy"]],
            marker="*",
            s=220,
            color="tab:orange",
            zorder=4,
            label=f"sweet spot: {sweet['label']}",
        )
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("I_NCE between views, held out, fresh critic (nats)")
    ax.set_ylabel("probe accuracy")
    ax.set_title(title or f"information plane: {knob.name}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def against_knob(summary, knob, path, baseline=None, title=""):
    """Held-out I_NCE and accuracy against the knob (final budget).

    Categorical knobs are placed in the order given.
    """
    plt = _pyplot()
    budget = max(r["epochs"] for r in summary)
    rows = [r for r in summary if r["epochs"] == budget]
    if knob.numeric:
        xs = np.array([float(r["value"]) for r in rows])
    else:
        xs = np.arange(len(rows), dtype=float)
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.8))
    axes[0].errorbar(
        xs,
        [r["mi"] for r in rows],
        yerr=_sd(rows, "mi_sd"),
        fmt="o-",
        color="tab:blue",
        capsize=3,
        label="fresh critic",
    )
    axes[0].plot(
        xs,
        [r["model_mi"] for r in rows],
        "s--",
        color="tab:green",
        label="trained model",
    )
    axes[0].axhline(rows[0]["mi_cap"], color="gray", ls=":", label="log N")
    axes[0].set_ylabel("I_NCE between views, held out (nats)")
    axes[0].legend(fontsize=7)
    axes[1].errorbar(
        xs,
        [r["accuracy"] for r in rows],
        yerr=_sd(rows, "accuracy_sd"),
        fmt="o-",
        color="tab:red",
        capsize=3,
    )
    if baseline is not None:
        axes[1].axhline(
            baseline, color="gray", ls=":", label="untrained encoder"
        )
        axes[1].legend(fontsize=7)
    axes[1].set_ylabel("probe accuracy")
    for ax in axes:
        ax.set_xlabel(knob.axis_label())
        if not knob.numeric:
            ax.set_xticks(xs)
            ax.set_xticklabels([r["label"] for r in rows], fontsize=8)
    fig.suptitle(title or f"{knob.name} sweep, {budget} epochs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
