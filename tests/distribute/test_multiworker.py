"""keras_infomin.testing.multiworker and a MultiWorkerMirroredStrategy run."""

import os
import time

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.testing import multiworker
from tests.distribute import multiworker_tasks

TASKS = "tests.distribute.multiworker_tasks"


def test_two_workers_match_a_single_process():
    """Cross-worker negatives under MultiWorkerMirroredStrategy via fit."""
    results = multiworker.run_workers(
        multiworker_tasks.train, num_workers=2, timeout=240
    )
    reference = multiworker_tasks.train()
    assert reference["replicas"] == 1
    assert [r["task"] for r in results] == [0, 1]
    for result in results:
        assert result["replicas"] == 2
        np.testing.assert_allclose(
            result["losses"], reference["losses"], rtol=1e-5, atol=1e-5
        )
        for w, r in zip(result["weights"], reference["weights"]):
            np.testing.assert_allclose(w, r, atol=1e-5)
    # The reference trained: the loss fell.
    assert reference["losses"][-1] < reference["losses"][0]


def test_function_and_string_targets_get_kwargs_and_tf_config():
    results = multiworker.run_workers(
        f"{TASKS}:echo", num_workers=3, kwargs={"a": [1, 2], "b": "x"}
    )
    assert [r["index"] for r in results] == [0, 1, 2]
    workers = results[0]["config"]["cluster"]["worker"]
    assert len(set(workers)) == 3
    for r in results:
        assert r["kwargs"] == {"a": [1, 2], "b": "x"}
        assert r["config"]["cluster"]["worker"] == workers
        assert r["config"]["task"]["type"] == "worker"
    assert multiworker.run_workers(multiworker_tasks.nothing, 1) == [None]


def test_script_target_reports():
    script = os.path.join(os.path.dirname(__file__), "report_script.py")
    results = multiworker.run_workers(script, num_workers=2)
    assert results == [{"index": 0, "argv": []}, {"index": 1, "argv": []}]


def test_failing_worker_stops_the_others_with_its_output():
    start = time.monotonic()
    with pytest.raises(multiworker.WorkerError) as info:
        multiworker.run_workers(
            f"{TASKS}:fail",
            num_workers=2,
            kwargs={"message": "worker one broke"},
            timeout=120,
            grace=1.0,
        )
    message = str(info.value)
    assert "a worker failed" in message
    assert "worker one broke" in message
    assert "--- worker 1: exit code 1 ---" in message
    assert time.monotonic() - start < 60  # did not wait for the timeout


def test_timeout_kills_the_workers():
    with pytest.raises(multiworker.WorkerError, match="timed out after 2 s"):
        multiworker.run_workers(
            f"{TASKS}:sleep", num_workers=2, kwargs={"seconds": 60}, timeout=2
        )


def test_report_outside_a_worker_and_bad_targets():
    with pytest.raises(RuntimeError, match="only works inside a worker"):
        multiworker.report({"a": 1})
    with pytest.raises(ValueError, match="module-level function"):
        multiworker.run_workers(lambda: None)
    with pytest.raises(ValueError, match="does not exist"):
        multiworker.run_workers("/nonexistent/script.py")
    with pytest.raises(ValueError, match="target"):
        multiworker.run_workers(42)
    with pytest.raises(ValueError, match="num_workers"):
        multiworker.run_workers(f"{TASKS}:echo", num_workers=0)
    with pytest.raises(ValueError, match="timeout"):
        multiworker.run_workers(f"{TASKS}:echo", timeout=0)


def test_free_ports_and_tf_config():
    ports = multiworker.free_ports(3)
    assert len(set(ports)) == 3 and all(0 < p < 65536 for p in ports)
    config = multiworker.tf_config([1000, 1001], 1)
    assert config == {
        "cluster": {"worker": ["localhost:1000", "localhost:1001"]},
        "task": {"type": "worker", "index": 1},
    }
    with pytest.raises(ValueError, match="count"):
        multiworker.free_ports(0)


def test_results_convert_numpy_and_tensors(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    monkeypatch.setenv(multiworker.RESULT_ENV, str(path))
    multiworker.report(
        {"a": np.arange(3), "b": np.float32(1.5), "c": tf.constant([[1, 2]])}
    )
    import json

    assert json.loads(path.read_text()) == {
        "a": [0, 1, 2],
        "b": 1.5,
        "c": [[1, 2]],
    }
    with pytest.raises(TypeError, match="JSON-serialisable"):
        multiworker.report({"bad": object()})
