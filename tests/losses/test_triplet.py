import numpy as np
import pytest

from keras_infomin import losses
from keras_infomin.testing import run_loss_test


def _reference(scores, margin, mining):
    n = scores.shape[0]
    per_anchor = []
    for i in range(n):
        negatives = [scores[i, j] for j in range(scores.shape[1]) if j != i]
        hinges = [max(0.0, margin - scores[i, i] + s) for s in negatives]
        per_anchor.append(max(hinges) if mining == "hardest" else hinges)
    if mining == "hardest":
        return float(np.mean(per_anchor))
    return float(np.mean(np.concatenate(per_anchor)))


@pytest.mark.parametrize("mining", ["all", "hardest"])
def test_matches_reference(mining):
    scores = np.random.default_rng(0).normal(size=(5, 7))
    loss = losses.Triplet(margin=0.5, mining=mining)
    value = run_loss_test(loss, scores.astype("float32"))
    assert float(value) == pytest.approx(_reference(scores, 0.5, mining), 1e-5)


def test_zero_when_positives_beat_negatives_by_the_margin():
    scores = 5.0 * np.eye(4, dtype="float32")
    assert float(losses.Triplet(margin=1.0)(None, scores)) == 0.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="mining"):
        losses.Triplet(mining="semi")
    with pytest.raises(ValueError, match="margin"):
        losses.Triplet(margin=0.0)
