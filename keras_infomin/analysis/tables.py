"""Tables (CSV and Markdown) and the reverse-U check of the studies."""

import csv
import math
import os

import numpy as np


def markdown_cell(value, spec=""):
    """A value formatted with `spec`, safe inside a Markdown table.

    `None` and NaN print as `n/a`; `|` is escaped.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = format(value, spec) if spec else str(value)
    return text.replace("|", "\\|")


def write_table(rows, out_dir, name="results", columns=None, notes=()):
    """Writes `<name>.csv` (every key) and `<name>.md` (table, then notes).

    Args:
        rows: list of dicts with the same keys.
        out_dir: folder to write into (created if needed).
        name: file stem.
        columns: the Markdown table's columns, `(key, header, format
            spec)` triples (e.g. `("mi", "I_NCE (nats)", ".3f")`); default
            every key, unformatted.
        notes: lines written after the table.

    Returns:
        The Markdown text.
    """
    if not rows:
        raise ValueError("`rows` is empty: nothing to write.")
    os.makedirs(out_dir, exist_ok=True)
    fields = list(rows[0])
    for row in rows[1:]:
        fields += [k for k in row if k not in fields]
    with open(os.path.join(out_dir, f"{name}.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    if columns is None:
        columns = [(key, key, "") for key in fields]
    lines = [
        "| " + " | ".join(header for _, header, _ in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [markdown_cell(row.get(key), spec) for key, _, spec in columns]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines + [""] + list(notes))
    with open(os.path.join(out_dir, f"{name}.md"), "w") as f:
        f.write(text + "\n")
    return text


def reverse_u_fit(x, y):
    """Least-squares parabola `y = a x^2 + b x + c` through the points.

    Returns `(a, b, c, vertex)`; a reverse-U has `a < 0` and its vertex
    inside the range of `x`. None with fewer than four distinct `x`.

    Example:

    >>> reverse_u_fit([0, 1, 2, 3], [0.0, 0.5, 0.5, 0.0])[3]
    1.5
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x)) < 4:
        return None
    a, b, c = np.polyfit(x, y, 2)
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
