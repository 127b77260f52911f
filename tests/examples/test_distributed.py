import math

import numpy as np
import pytest

from examples import distributed


@pytest.mark.slow
def test_quick_run_on_two_logical_cpus(capsys):
    """The quick mode trains SimCLR on the two logical CPUs of the tests."""
    summary = distributed.main(["--quick", "--verbose", "0"])
    out = capsys.readouterr().out
    assert summary["strategy"] == "MirroredStrategy"
    assert summary["replicas"] == 2
    assert summary["global_batch"] == 2 * summary["batch_per_replica"] == 32
    for line in ("strategy:     MirroredStrategy", "replicas:     2"):
        assert line in out
    assert "16 per replica, 32 global" in out
    history = summary["history"]
    assert len(history["loss"]) == 1
    assert np.all(np.isfinite(history["loss"]))
    np.testing.assert_allclose(history["mi"], -np.asarray(history["loss"]))
    # Negatives from both replicas: the bound's cap is log(global batch).
    np.testing.assert_allclose(history["mi_cap"], math.log(32), rtol=1e-6)
    assert 0.1 < summary["probe"] <= 1.0  # 10 classes: chance is 0.1
    assert "linear probe accuracy" in out
