"""Data, evaluation and reporting helpers of `examples/mnist_halves.py`.

Views are the top and bottom halves of digit images: MNIST (28 x 28, 392
pixels per half, from tensorflow-datasets) or scikit-learn's 8 x 8 digits
(32 pixels per half, shipped with scikit-learn, so it runs offline).
"""

import csv
import math
import os

import numpy as np
import tensorflow as tf

import keras_infomin as kim

# ------------------------------------------------------------------ data


class Halves:
    """Top/bottom halves of a labelled digit data set, train and test.

    Attributes:
        name: `"mnist"` or `"digits"`.
        top, bottom, labels: dicts with `"train"` and `"test"` arrays;
            halves are float32 in [0, 1], flattened.
        half_shape: `(rows, columns, 1)` of one half, e.g. `(14, 28, 1)`.
        num_classes: 10.
    """

    def __init__(self, name, images, labels, splits):
        self.name = name
        rows = images.shape[1]
        cut = rows // 2
        self.half_shape = (cut, images.shape[2], 1)
        flat_top = images[:, :cut].reshape(len(images), -1)
        flat_bottom = images[:, cut:].reshape(len(images), -1)
        self.top = {k: flat_top[idx] for k, idx in splits.items()}
        self.bottom = {k: flat_bottom[idx] for k, idx in splits.items()}
        self.labels = {k: labels[idx] for k, idx in splits.items()}
        self.num_classes = int(labels.max()) + 1

    def probe_data(self, split, noise_std=0.0, seed=0):
        """`(top half, labels)` of a split, optionally with Gaussian noise."""
        x = self.top[split]
        if noise_std:
            rng = np.random.default_rng(seed)
            x = x + rng.normal(0.0, noise_std, x.shape).astype("float32")
        return x, self.labels[split]

    def describe(self):
        return (
            f"{self.name}: {len(self.labels['train'])} train / "
            f"{len(self.labels['test'])} test examples, halves of "
            f"{self.top['train'].shape[1]} pixels {self.half_shape}"
        )


def load_mnist():
    """MNIST from tensorflow-datasets (downloads it when online)."""
    try:
        import tensorflow_datasets as tfds

        train, test = (_tfds_arrays(tfds, split) for split in ("train", "test"))
    except Exception as err:  # offline, no tfds, corrupted cache...
        raise RuntimeError(
            "Could not load MNIST with tensorflow-datasets "
            f"({type(err).__name__}: {str(err)[:200]}). Without internet "
            "access, or to run quickly, use `--data digits` (scikit-learn's "
            "8x8 digits, no download)."
        ) from err
    images = np.concatenate([train[0], test[0]]).astype("float32") / 255.0
    images = images[..., 0]
    labels = np.concatenate([train[1], test[1]]).astype("int64")
    n_train = len(train[1])
    splits = {
        "train": np.arange(n_train),
        "test": np.arange(n_train, len(labels)),
    }
    return Halves("mnist", images, labels, splits)


def _tfds_arrays(tfds, split):
    ds = tfds.load("mnist", split=split, as_supervised=True).batch(10000)
    images, labels = [], []
    for image, label in tfds.as_numpy(ds):
        images.append(image)
        labels.append(label)
    return np.concatenate(images), np.concatenate(labels)


def load_digits(test_fraction=0.3, seed=0):
    """scikit-learn's 8x8 digits, scaled to [0, 1], random split."""
    from sklearn.datasets import load_digits as sk_load_digits

    digits = sk_load_digits()
    images = (digits.images / 16.0).astype("float32")
    labels = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(test_fraction * len(labels)))
    splits = {"train": order[n_test:], "test": order[:n_test]}
    return Halves("digits", images, labels, splits)


def load(name, seed=0):
    if name == "mnist":
        return load_mnist()
    if name == "digits":
        return load_digits(seed=seed)
    raise ValueError(f"Unknown data {name!r}: use 'mnist' or 'digits'.")


def pair_dataset(data, split, batch_size, seed=0, repeat=True):
    """Batches `((top, bottom),)` for `ContrastiveModel.fit`.

    Training batches are reshuffled every pass and repeated; held-out
    batches are in order, once. Incomplete batches are dropped so that
    every bound is computed with the same `batch_size` candidates.
    """
    views = (data.top[split], data.bottom[split])
    ds = tf.data.Dataset.from_tensor_slices((views,))
    if repeat:
        ds = ds.shuffle(len(data.labels[split]), seed=seed).repeat()
    return ds.batch(batch_size, drop_remainder=True).prefetch(2)


def check_batch_size(data, batch_size):
    n_test = len(data.labels["test"])
    if n_test < batch_size:
        raise ValueError(
            f"--batch-size {batch_size} exceeds the {n_test} held-out "
            "examples; lower it."
        )


# ------------------------------------------------------------ evaluation


def probe(encoder, data, noise_std=0.0, seed=0):
    """Tschannen et al.'s linear evaluation, on the held-out split.

    Features of the top half (`encoder=None`: the pixels), MinMax-scaled,
    multinomial logistic regression (saga, C=10, tol=0.1) fit on the
    training split, accuracy on the test split.
    """
    return kim.evaluation.linear_probe(
        encoder,
        data.probe_data("train", noise_std, seed),
        data.probe_data("test", noise_std, seed + 1),
        method="sklearn",
        C=10.0,
        tol=0.1,
    )


def pixel_baselines(data, noise_std=0.05):
    """Probe accuracy of the raw top-half pixels, clean and noisy."""
    return {
        "pixels": probe(None, data),
        f"pixels + noise {noise_std:g}": probe(None, data, noise_std),
    }


def heldout_bounds(encoders, critic, data, batch_size):
    """I_NCE and I_NWJ of a critic on held-out batches, in nats.

    Every held-out batch of `batch_size` pairs is scored with the critic
    (the same `batch_size` candidates as in training) and both bounds are
    averaged over batches.
    """
    values = {"infonce": [], "nwj": []}
    for ((top, bottom),) in pair_dataset(
        data, "test", batch_size, repeat=False
    ):
        scores = critic(
            encoders[0](top, training=False),
            encoders[1](bottom, training=False),
        )
        values["infonce"].append(float(kim.bounds.infonce(scores)))
        values["nwj"].append(float(kim.bounds.nwj(scores)))
    return {k: float(np.mean(v)) for k, v in values.items()}


def bounds_monitor(encoders, critic, data, batch_size):
    """A callback writing held-out I_NCE / I_NWJ into the epoch logs."""
    import keras

    class BoundsMonitor(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            values = heldout_bounds(encoders, critic, data, batch_size)
            if logs is not None:
                logs["test_infonce"] = values["infonce"]
                logs["test_nwj"] = values["nwj"]

    return BoundsMonitor()


# --------------------------------------------------- non-i.i.d. batches (E6)

E6_Z_COV = np.array([[1.0, -0.5], [-0.5, 1.0]])
E6_NOISE_COV = np.array([[1.0, 0.9], [0.9, 1.0]])


def gaussian_pair_mi(cov):
    """I(X; Y) in nats of a bivariate Gaussian with covariance `cov`."""
    rho = cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])
    return -0.5 * math.log(1.0 - rho**2)


def e6_true_mi():
    """I(X; Y) of one pair: (X, Y) = Z + e is Gaussian, cov C_Z + C_e."""
    return gaussian_pair_mi(E6_Z_COV + E6_NOISE_COV)


def e6_conditional_mi():
    """I(X; Y | Z): what a batch sharing one Z lets a critic see."""
    return gaussian_pair_mi(E6_NOISE_COV)


def e6_batches(num_batches, batch_size, dependent, seed=0):
    """Batches of `(X_i, Y_i) = Z + e_i`, each `[num_batches, batch, 2]`.

    `dependent=True`: one `Z ~ N(0, C_Z)` per batch, shared by its pairs
    (non-i.i.d. negatives); `False`: a fresh `Z` per pair (i.i.d. pairs
    with the same marginal law).
    """
    rng = np.random.default_rng(seed)
    noise = rng.multivariate_normal(
        [0.0, 0.0], E6_NOISE_COV, size=(num_batches, batch_size)
    )
    z_shape = (num_batches, 1) if dependent else (num_batches, batch_size)
    z = rng.multivariate_normal([0.0, 0.0], E6_Z_COV, size=z_shape)
    return (z + noise).astype("float32")


def e6_dataset(num_batches, batch_size, dependent, seed=0):
    """`(x, y)` batches for `MIEstimator.fit`, each `[batch, 1]`."""
    pairs = e6_batches(num_batches, batch_size, dependent, seed)
    return tf.data.Dataset.from_tensor_slices(
        (pairs[..., :1], pairs[..., 1:])
    ).prefetch(2)


# ------------------------------------------------------------- reporting


def write_table(rows, fields, out_dir, stem, title=None, digits=4):
    """Writes `stem.csv` and `stem.md`; returns the Markdown text."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, stem + ".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)

    def fmt(value):
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value)

    lines = [f"### {title}", ""] if title else []
    lines.append("| " + " | ".join(fields) + " |")
    lines.append("|" + "---|" * len(fields))
    for row in rows:
        lines.append(
            "| " + " | ".join(fmt(row.get(k, "")) for k in fields) + " |"
        )
    text = "\n".join(lines)
    with open(os.path.join(out_dir, stem + ".md"), "w") as f:
        f.write(text + "\n")
    return text


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out_dir, stem):
    path = os.path.join(out_dir, stem + ".png")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path
