"""Where a sweep keeps its finished runs: `runs.json`, written atomically.

A run is one value and seed, a row per budget. The file also holds the
sweep's settings and, per value, a key of its views' configuration: a
folder holding runs made with other settings or other views is refused
instead of mixed in (results are never silently reused or overwritten).
"""

import json
import os

RUNS_FILE = "runs.json"


def _short(value, width=60):
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _key(value):
    return json.dumps(value)


class RunStore:
    """The finished runs of a sweep, in memory or in `out/runs.json`.

    Args:
        out: folder of `runs.json`, or None to keep everything in memory.
        settings: JSON-able dict of what the runs depend on; a stored file
            with other settings raises `ValueError`.
        views: dict `json(value) -> key of the value's views` (None where
            the views cannot be described); a stored run of a value whose
            key differs raises `ValueError`.
    """

    def __init__(self, out, settings, views):
        self.path = None
        self.data = {"settings": settings, "runs": [], "views": {}}
        if out is not None:
            os.makedirs(out, exist_ok=True)
            self.path = os.path.join(out, RUNS_FILE)
            if os.path.exists(self.path):
                with open(self.path) as f:
                    self.data = json.load(f)
                self._check(settings, views)
        self.data.setdefault("views", {})
        for value, key in views.items():
            self.data["views"].setdefault(value, key)

    def _refuse(self, detail):
        raise ValueError(
            f"{self.path} holds a sweep with other settings ({detail}). "
            f"Choose another `out` folder, or delete {RUNS_FILE} to start "
            "over."
        )

    def _check(self, settings, views):
        theirs = self.data.get("settings", {})
        differ = sorted(
            k
            for k in set(settings) | set(theirs)
            if settings.get(k) != theirs.get(k)
        )
        if differ:
            self._refuse(
                "; ".join(
                    f"{k}: {_short(settings.get(k))} here, "
                    f"{_short(theirs.get(k))} there"
                    for k in differ[:4]
                )
            )
        stored = self.data.get("views", {})
        for value, key in views.items():
            if value in stored and stored[value] != key:
                self._refuse(f"the views of value {value} differ")

    def save(self):
        if self.path is None:
            return
        partial = f"{self.path}.partial"
        with open(partial, "w") as f:
            json.dump(self.data, f, indent=1)
        os.replace(partial, self.path)

    def _of(self, value, seed):
        return [
            r
            for r in self.data["runs"]
            if _key(r["value"]) == _key(value) and r["seed"] == seed
        ]

    def finished(self, value, seed, budgets):
        """Whether every budget of `value` and `seed` is stored."""
        return set(budgets) <= {r["epochs"] for r in self._of(value, seed)}

    def replace(self, value, seed, rows):
        """Stores the rows of a finished run (replacing a partial one)."""
        self.data["runs"] = [
            r for r in self.data["runs"] if r not in self._of(value, seed)
        ] + list(rows)
        self.save()

    def runs_of(self, values, seeds):
        """The stored rows of these values and seeds."""
        wanted = {_key(v) for v in values}
        return [
            r
            for r in self.data["runs"]
            if _key(r["value"]) in wanted and r["seed"] in seeds
        ]

    def baseline(self, value):
        stored = self.data.get("baseline") or {}
        if _key(stored.get("value")) == _key(value):
            return stored["accuracy"]
        return None

    def set_baseline(self, value, accuracy):
        self.data["baseline"] = {"value": value, "accuracy": accuracy}
        self.save()
