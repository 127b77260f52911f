import numpy as np
import pytest

from keras_infomin.evaluation import knn_accuracy
from keras_infomin.evaluation import knn_predict
from tests.evaluation._data import digits_split


def numpy_knn(train_f, train_y, test_f, k, temperature, num_classes):
    """Reference weighted kNN, one query at a time."""
    train_f = train_f / np.linalg.norm(train_f, axis=1, keepdims=True)
    test_f = test_f / np.linalg.norm(test_f, axis=1, keepdims=True)
    k = min(k, len(train_f))
    out = []
    for q in test_f:
        sims = train_f @ q
        nearest = np.argsort(-sims)[:k]
        scores = np.zeros(num_classes)
        for j in nearest:
            scores[train_y[j]] += np.exp(sims[j] / temperature)
        out.append(np.argmax(scores))
    return np.array(out)


@pytest.mark.parametrize(
    "k, temperature", [(1, 0.07), (5, 0.07), (20, 0.5), (500, 0.1)]
)
def test_matches_numpy_reference(k, temperature):
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 6))
    train_y = rng.integers(0, 4, size=60)
    test_y = rng.integers(0, 4, size=25)
    train_f = centers[train_y] + 1.5 * rng.normal(size=(60, 6))
    test_f = centers[test_y] + 1.5 * rng.normal(size=(25, 6))
    expected = numpy_knn(train_f, train_y, test_f, k, temperature, 4)
    got = knn_predict(
        train_f,
        train_y,
        test_f,
        k=k,
        temperature=temperature,
        num_classes=4,
        batch_size=7,
    )
    np.testing.assert_array_equal(got, expected)
    assert knn_accuracy(
        train_f, train_y, test_f, test_y, k=k, temperature=temperature
    ) == pytest.approx(np.mean(expected == test_y))


def test_temperature_decides_against_majority():
    # One very close neighbour of class 1 against two far ones of class 0:
    # a low temperature lets the close one win, a high one the majority.
    train_f = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    train_y = np.array([1, 0, 0])
    query = np.array([[1.0, 0.2]])
    assert knn_predict(train_f, train_y, query, k=3, temperature=0.05)[0] == 1
    assert knn_predict(train_f, train_y, query, k=3, temperature=10.0)[0] == 0


def test_tiny_temperature_stays_finite():
    train_f = np.array([[1.0, 0.0], [-1.0, 0.1]])
    query = np.array([[-1.0, 0.0]])
    assert knn_predict(train_f, [0, 1], query, k=2, temperature=1e-3)[0] == 1


def test_digits_beat_chance():
    (x_train, y_train), (x_test, y_test) = digits_split()
    assert knn_accuracy(x_train, y_train, x_test, y_test, k=20) > 0.9


def test_argument_errors():
    f = np.ones((3, 2))
    with pytest.raises(ValueError, match="`k`"):
        knn_predict(f, [0, 1, 0], f, k=0)
    with pytest.raises(ValueError, match="temperature"):
        knn_predict(f, [0, 1, 0], f, temperature=0.0)
    with pytest.raises(ValueError, match="differ in length"):
        knn_predict(f, [0, 1], f)
