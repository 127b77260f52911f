"""Helpers shared by the view-study examples (not part of the library).

`colour_spaces.py`, `patch_distance.py`, `augmentation_strength.py` and
`colorful_moving_mnist.py` load a train / held-out split, measure I_NCE on
held-out batches, fit a parabola through (I_NCE, accuracy) points and
write their tables with these functions.
"""

import csv
import os

import numpy as np

try:  # imported as `examples._study` or from inside examples/
    from examples import _data
except ImportError:  # pragma: no cover
    import _data


def data_label(spec):
    if os.path.abspath(spec) == os.path.abspath(_data.DEFAULT_ARCHIVE):
        return "CIFAR-10 (JPEG copy)"
    return spec


def load_splits(args):
    """`(train, test)` arrays of `args.train_images` / `args.test_images`."""
    return tuple(
        _data.load_arrays(args.data, split, count, args.image_size, args.seed)
        for split, count in (
            ("train", args.train_images),
            ("test", args.test_images),
        )
    )


def held_out_mi(model, x, batch_size):
    """Mean I_NCE over whole held-out batches (views drawn at random)."""
    usable = len(x) // batch_size * batch_size
    logs = model.evaluate(
        x[:usable], batch_size=batch_size, verbose=0, return_dict=True
    )
    return float(logs["mi"])


def reverse_u_fit(mi, accuracy):
    """Least-squares parabola `acc = a I^2 + b I + c` through the points.

    Returns `(a, b, c, vertex)`; a reverse-U has `a < 0` and its vertex
    inside the range of I. None with fewer than four distinct points.
    """
    mi, accuracy = np.asarray(mi, float), np.asarray(accuracy, float)
    if len(np.unique(mi)) < 4:
        return None
    a, b, c = np.polyfit(mi, accuracy, 2)
    vertex = -b / (2 * a) if a != 0 else float("nan")
    return float(a), float(b), float(c), float(vertex)


def describe_fit(fit, xs, name="I_NCE", unit="nat"):
    """One line on the parabola of `reverse_u_fit` over the points `xs`."""
    if fit is None:
        return "too few points for a parabola"
    a, _, _, vertex = fit
    low, high = min(xs), max(xs)
    inside = low <= vertex <= high
    shape = "reverse-U" if a < 0 and inside else "no reverse-U"
    return (
        f"parabola curvature {a:+.4f} per {unit}^2, vertex at {name} "
        f"{vertex:.2f} ({'inside' if inside else 'outside'} "
        f"[{low:.2f}, {high:.2f}]): {shape}"
    )


def md(text):
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|")


def write_tables(rows, columns, notes, out_dir):
    """Writes `results.csv` and `results.md` (table, then `notes`).

    `columns` lists `(key, header, format)`; `format` is a format spec
    such as `".3f"`, and a `None` value prints as `n/a`. Returns the
    Markdown text.
    """
    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    def cell(value, spec):
        if value is None:
            return "n/a"
        return md(format(value, spec))

    lines = [
        "| " + " | ".join(header for _, header, _ in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for r in rows:
        cells = [cell(r[key], spec) for key, _, spec in columns]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines + [""] + notes)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(table + "\n")
    return table
