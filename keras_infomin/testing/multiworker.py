"""Run a function in N local worker processes with `TF_CONFIG` set.

`MultiWorkerMirroredStrategy` needs one process per worker, each told the
cluster layout through the `TF_CONFIG` environment variable. `run_workers`
starts such a cluster on free localhost ports, runs the same target in every
worker and returns what each worker reported, so a test can compare a
multi-worker run with a single-process one:

```python
# tests/distribute/tasks.py (importable by the workers)
def train(steps):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    ...
    return {"weights": [w.tolist() for w in model.get_weights()]}

# the test
results = run_workers("tests.distribute.tasks:train", 2, {"steps": 3})
```

A target is a module-level function (given as the function itself or as
`"package.module:function"`), called with the JSON-serialisable keyword
arguments `kwargs`; its return value, converted to JSON (numpy arrays become
lists), is the worker's result. A target may also be the path of a Python
script, run as `__main__`, which hands back its result with `report(...)` or
by printing it as JSON on the last line of its standard output.

Workers start fast: the runner imports only the standard library before the
target, so a target that does not need TensorFlow does not pay for it.

Failures are loud and bounded: a worker that exits with an error makes the
others stop after a short grace period (they would otherwise wait forever in
a collective), a run past `timeout` seconds is killed, and both raise
`WorkerError` with every worker's exit status and the tail of its output.
Port clashes (the free ports found are taken by someone else before the
workers bind them) are retried with new ports.
"""

import argparse
import importlib
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import time

RESULT_ENV = "KERAS_INFOMIN_WORKER_RESULT"
_THIS_FILE = os.path.abspath(__file__)
_PORT_CLASH = ("address already in use", "failed to bind", "could not start")


class WorkerError(RuntimeError):
    """A worker failed, or the workers did not finish in time."""


def free_ports(count, host="localhost"):
    """Returns `count` distinct TCP ports that are free right now on `host`.

    Args:
        count: how many ports (positive int).
        host: the interface to probe.

    Returns:
        A list of port numbers. They are released before returning, so
        another process may take one before it is used (`run_workers`
        retries in that case).

    Example:

    ```python
    port_a, port_b = free_ports(2)
    ```
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"`count` must be a positive int; received {count!r}.")
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_config(ports, index, host="localhost"):
    """The `TF_CONFIG` dictionary of worker `index` in a local cluster.

    Args:
        ports: one port per worker.
        index: this worker's task index (worker 0 is the chief).
        host: host name of every worker.

    Returns:
        `{"cluster": {"worker": ["host:port", ...]},
        "task": {"type": "worker", "index": index}}`.

    Example:

    ```python
    os.environ["TF_CONFIG"] = json.dumps(tf_config([12345, 12346], 0))
    ```
    """
    return {
        "cluster": {"worker": [f"{host}:{p}" for p in ports]},
        "task": {"type": "worker", "index": int(index)},
    }


def _to_json(value):
    if hasattr(value, "tolist"):  # numpy arrays and scalars, eager tensors
        return value.tolist()
    if hasattr(value, "numpy"):
        return value.numpy().tolist()
    raise TypeError(
        f"a worker result must be JSON-serialisable (numbers, strings, "
        f"lists, dicts, numpy arrays); received {type(value).__name__}."
    )


def report(result):
    """Hands `result` back to `run_workers` (called inside a worker).

    Args:
        result: a JSON-serialisable value; numpy arrays and tensors are
            converted to nested lists.

    Example:

    ```python
    # at the end of a worker script
    report({"loss": float(history.history["loss"][-1])})
    ```
    """
    path = os.environ.get(RESULT_ENV)
    if not path:
        raise RuntimeError(
            f"`report` only works inside a worker started by `run_workers` "
            f"(the environment variable {RESULT_ENV} is not set)."
        )
    text = json.dumps(result, default=_to_json)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _target_spec(target):
    if callable(target):
        module = getattr(target, "__module__", None)
        name = getattr(target, "__qualname__", "")
        if module in (None, "__main__") or "<" in name:
            raise ValueError(
                "`target` must be a module-level function that the workers "
                f"can import; received {target!r} from module {module!r}. "
                "Move it into an importable module or pass a script path."
            )
        return f"{module}:{name}"
    if isinstance(target, (str, os.PathLike)):
        target = os.fspath(target)
        if target.endswith(".py"):
            if not os.path.isfile(target):
                raise ValueError(f"`target` script {target!r} does not exist.")
            return os.path.abspath(target)
        if ":" in target:
            return target
    raise ValueError(
        "`target` must be a module-level function, a 'package.module:function'"
        f" string or the path of a .py script; received {target!r}."
    )


def _tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            content = f.read().splitlines()
    except OSError:
        return "<no output>"
    return "\n".join(content[-lines:]) or "<empty>"


def _last_json_line(path):
    with open(path, errors="replace") as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return json.loads(lines[-1])
    except ValueError:
        return None


def _kill(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    proc.wait()


def _worker_env(config, result_path, env):
    child = dict(os.environ)
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    child["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    child.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    child["PYTHONUNBUFFERED"] = "1"
    child.update({k: str(v) for k, v in (env or {}).items()})
    child["TF_CONFIG"] = json.dumps(config)
    child[RESULT_ENV] = result_path
    return child


def _run_once(spec, num_workers, kwargs, timeout, env, cwd, python, grace):
    ports = free_ports(num_workers)
    workdir = tempfile.mkdtemp(prefix="keras_infomin_workers_")
    kwargs_path = os.path.join(workdir, "kwargs.json")
    with open(kwargs_path, "w") as f:
        json.dump(kwargs, f, default=_to_json)
    procs, logs, results = [], [], []
    try:
        for index in range(num_workers):
            out = os.path.join(workdir, f"worker{index}.out")
            err = os.path.join(workdir, f"worker{index}.err")
            result = os.path.join(workdir, f"worker{index}.json")
            # The file is run as a script: only the standard library is
            # imported before the target, so workers start fast.
            command = [python, _THIS_FILE, spec, kwargs_path]
            with open(out, "w") as fo, open(err, "w") as fe:
                procs.append(
                    subprocess.Popen(
                        command,
                        stdout=fo,
                        stderr=fe,
                        cwd=cwd,
                        env=_worker_env(tf_config(ports, index), result, env),
                        start_new_session=True,
                    )
                )
            logs.append((out, err))
            results.append(result)
        deadline = time.monotonic() + timeout
        failed_at = None
        while True:
            codes = [p.poll() for p in procs]
            if all(c is not None for c in codes):
                break
            now = time.monotonic()
            if failed_at is None and any(c not in (None, 0) for c in codes):
                failed_at = now
            if failed_at is not None and now - failed_at > grace:
                break
            if now > deadline:
                break
            time.sleep(0.05)
        timed_out = any(p.poll() is None for p in procs)
        for p in procs:
            _kill(p)
        codes = [p.returncode for p in procs]
        if timed_out or any(codes):
            reason = (
                f"timed out after {timeout} s"
                if failed_at is None and timed_out
                else "a worker failed"
            )
            parts = [f"{num_workers} workers running {spec}: {reason}."]
            for index, (code, (out, err)) in enumerate(zip(codes, logs)):
                parts.append(
                    f"--- worker {index}: exit code {code} ---\n"
                    f"[stderr]\n{_tail(err)}\n[stdout]\n{_tail(out, 10)}"
                )
            raise WorkerError("\n".join(parts))
        collected = []
        for path, (out, _) in zip(results, logs):
            if os.path.exists(path):
                with open(path) as f:
                    collected.append(json.load(f))
            elif spec.endswith(".py"):
                collected.append(_last_json_line(out))
            else:
                collected.append(None)
        return collected
    finally:
        for p in procs:
            _kill(p)
        for name in os.listdir(workdir):
            os.remove(os.path.join(workdir, name))
        os.rmdir(workdir)


def run_workers(
    target,
    num_workers=2,
    kwargs=None,
    timeout=180,
    env=None,
    cwd=None,
    python=None,
    retries=2,
    grace=5.0,
):
    """Runs `target` in `num_workers` local processes forming a TF cluster.

    Every worker gets `TF_CONFIG` for a cluster of `num_workers` workers on
    free localhost ports (task index = position in the returned list), the
    parent's `sys.path` as `PYTHONPATH` (so the same modules import), and
    the extra variables in `env`.

    Args:
        target: a module-level function, a `"package.module:function"`
            string, or the path of a `.py` script (see the module docstring).
        num_workers: number of worker processes (positive int).
        kwargs: JSON-serialisable keyword arguments for a function target.
        timeout: seconds before every worker is killed and `WorkerError` is
            raised.
        env: extra environment variables for the workers (for example
            `{"CUDA_VISIBLE_DEVICES": ""}`).
        cwd: working directory of the workers (default: the current one).
        python: the interpreter (default: `sys.executable`).
        retries: how many times to retry with new ports when a worker could
            not bind its port.
        grace: seconds the other workers may still finish after one failed.

    Returns:
        The list of the workers' results (JSON values; `None` for a worker
        that reported nothing), in task-index order.

    Raises:
        WorkerError: a worker exited with an error or the run timed out; the
            message holds each worker's exit code and the end of its output.

    Example:

    ```python
    results = run_workers("tests.distribute.multiworker_tasks:train", 2)
    assert results[0]["weights"] == results[1]["weights"]
    ```
    """
    spec = _target_spec(target)
    if isinstance(num_workers, bool) or not isinstance(num_workers, int):
        raise ValueError(
            f"`num_workers` must be a positive int; received {num_workers!r}."
        )
    if num_workers < 1:
        raise ValueError(
            f"`num_workers` must be a positive int; received {num_workers!r}."
        )
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(
            f"`timeout` must be > 0 seconds; received {timeout!r}."
        )
    kwargs = dict(kwargs or {})
    python = python or sys.executable
    for attempt in range(retries + 1):
        try:
            return _run_once(
                spec, num_workers, kwargs, timeout, env, cwd, python, grace
            )
        except WorkerError as error:
            clash = any(s in str(error).lower() for s in _PORT_CLASH)
            if not clash or attempt == retries:
                raise


def _main(argv):
    # Run as a script, Python put this file's folder first on sys.path,
    # where its neighbours would shadow top-level modules.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(_THIS_FILE):
        sys.path.pop(0)
    parser = argparse.ArgumentParser(description="keras_infomin worker")
    parser.add_argument("target")
    parser.add_argument("kwargs_path")
    args, rest = parser.parse_known_args(argv)
    with open(args.kwargs_path) as f:
        kwargs = json.load(f)
    if args.target.endswith(".py"):
        sys.argv = [args.target, *rest]
        runpy.run_path(args.target, run_name="__main__")
        return
    module_name, _, name = args.target.partition(":")
    obj = importlib.import_module(module_name)
    for part in name.split("."):
        obj = getattr(obj, part)
    result = obj(**kwargs)
    if result is not None:
        report(result)


if __name__ == "__main__":
    _main(sys.argv[1:])
