"""Colorful-Moving-MNIST: digits over natural-image backgrounds, with views
that share a chosen subset of the factors {digit, position, background}.

InfoMin (Tian et al. 2020, Sec. 3) uses this toy data to show that what two
views share decides what a contrastive representation learns: if the views
share only the digit, the representation encodes the digit (and a linear
probe reads the digit class from it); if they share the background, it
encodes the background, and so on. Each image is a digit pasted at a
position on a background crop:

    image = (1 - alpha) * background + alpha * colour,

with `alpha` the digit's grey levels in [0, 1] and `colour` white by
default. Factor labels (digit class, position bin, background id) come
with every view for probing.

Sources:

- `source="sklearn"` (offline, the default): the 1,797 8 x 8 handwritten
  digits of `sklearn.datasets.load_digits`, upscaled bilinearly to
  `digit_size`, and random crops of the two photos of
  `sklearn.datasets.load_sample_images` as backgrounds.
- `source="tfds"`: MNIST digits and STL-10 images (the paper's
  backgrounds) through `tensorflow_datasets` (`download=True` fetches them
  when needed).

The "moving" part: `sequences` renders digits that move with a constant
velocity and bounce off the borders over a fixed background.

Everything is deterministic under the seeds given.
"""

import numpy as np
import tensorflow as tf

FACTORS = ("digit", "position", "background")
SOURCES = ("sklearn", "tfds")


def _resize(images, size):
    """Bilinear resize of `[N, h, w(, c)]` numpy images to `size x size`."""
    images = np.asarray(images, np.float32)
    squeeze = images.ndim == 3
    if squeeze:
        images = images[..., None]
    out = tf.image.resize(images, (size, size), method="bilinear").numpy()
    out = np.clip(out, 0.0, 1.0)
    return out[..., 0] if squeeze else out


def _check_int(name, value, minimum=1):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ValueError(f"`{name}` must be an int; received {name}={value!r}.")
    if value < minimum:
        raise ValueError(
            f"`{name}` must be >= {minimum}; received {name}={value!r}."
        )
    return int(value)


class ColorfulMovingMNIST:
    """Generator of Colorful-Moving-MNIST images and view pairs.

    Args:
        image_size: side of the square images.
        digit_size: side of the pasted digit (< image_size).
        source: `"sklearn"` (offline) or `"tfds"` (MNIST + STL-10).
        num_backgrounds: number of distinct backgrounds (background ids
            run over `[0, num_backgrounds)`).
        position_bins: the position label is the cell of a
            `position_bins x position_bins` grid over the possible corners.
        digit_color: RGB colour of the digits, in [0, 1].
        split: split of the tfds datasets (`"train"` or `"test"`; STL-10
            backgrounds come from its `"unlabelled"` split for train).
        data_dir: tfds data directory.
        download: let tfds download missing data.
        seed: seed of the background crops.

    Example:

    ```python
    cmm = ColorfulMovingMNIST(image_size=64, digit_size=24)
    pairs = cmm.view_pairs(512, shared=("digit",), seed=0)
    x1, x2 = pairs["view1"], pairs["view2"]         # [512, 64, 64, 3]
    digit = pairs["labels1"]["digit"]                # probe targets
    ```
    """

    def __init__(
        self,
        image_size=64,
        digit_size=28,
        source="sklearn",
        num_backgrounds=64,
        position_bins=3,
        digit_color=(1.0, 1.0, 1.0),
        split="train",
        data_dir=None,
        download=False,
        seed=0,
    ):
        self.image_size = _check_int("image_size", image_size)
        self.digit_size = _check_int("digit_size", digit_size)
        if self.digit_size >= self.image_size:
            raise ValueError(
                f"`digit_size` ({digit_size}) must be smaller than "
                f"`image_size` ({image_size})."
            )
        if source not in SOURCES:
            raise ValueError(
                f"`source` must be one of {SOURCES}; received "
                f"source={source!r}."
            )
        self.source = source
        self.num_backgrounds = _check_int("num_backgrounds", num_backgrounds)
        self.position_bins = _check_int("position_bins", position_bins)
        color = np.asarray(digit_color, np.float32)
        if color.shape != (3,) or np.any(color < 0) or np.any(color > 1):
            raise ValueError(
                "`digit_color` must be three numbers in [0, 1]; received "
                f"digit_color={digit_color!r}."
            )
        self.digit_color = color
        self.seed = seed
        rng = np.random.default_rng(seed)
        if source == "sklearn":
            self.digits, self.digit_labels = self._sklearn_digits()
            self.backgrounds = self._sklearn_backgrounds(rng)
        else:
            self.digits, self.digit_labels = self._tfds_digits(
                split, data_dir, download
            )
            self.backgrounds = self._tfds_backgrounds(
                split, data_dir, download, rng
            )

    # ----------------------------------------------------------- sources
    def _sklearn_digits(self):
        from sklearn.datasets import load_digits

        data = load_digits()
        images = data.images.astype(np.float32) / 16.0
        return _resize(images, self.digit_size), data.target.astype(np.int32)

    def _sklearn_backgrounds(self, rng):
        from sklearn.datasets import load_sample_images

        photos = [
            np.asarray(p, np.float32) / 255.0
            for p in load_sample_images().images
        ]
        crops = []
        for _ in range(self.num_backgrounds):
            photo = photos[rng.integers(len(photos))]
            h, w = photo.shape[:2]
            side = int(
                rng.integers(
                    self.image_size, min(h, w, 4 * self.image_size) + 1
                )
            )
            top = int(rng.integers(0, h - side + 1))
            left = int(rng.integers(0, w - side + 1))
            crops.append(
                _resize(
                    photo[None, top : top + side, left : left + side],
                    self.image_size,
                )[0]
            )
        return np.stack(crops)

    def _tfds_digits(self, split, data_dir, download):
        import tensorflow_datasets as tfds

        ds = tfds.load(
            "mnist",
            split=split,
            as_supervised=True,
            data_dir=data_dir,
            download=download,
        )
        images, labels = [], []
        for image, label in tfds.as_numpy(ds):
            images.append(image[..., 0])
            labels.append(label)
        images = np.stack(images).astype(np.float32) / 255.0
        if self.digit_size != images.shape[1]:
            images = _resize(images, self.digit_size)
        return images, np.asarray(labels, np.int32)

    def _tfds_backgrounds(self, split, data_dir, download, rng):
        import tensorflow_datasets as tfds

        stl_split = "unlabelled" if split == "train" else split
        ds = tfds.load(
            "stl10", split=stl_split, data_dir=data_dir, download=download
        )
        ds = ds.take(self.num_backgrounds)
        images = [ex["image"] for ex in tfds.as_numpy(ds)]
        if len(images) < self.num_backgrounds:
            raise ValueError(
                f"STL-10 split {stl_split!r} has {len(images)} images; "
                f"fewer than num_backgrounds={self.num_backgrounds}."
            )
        images = np.stack(images).astype(np.float32) / 255.0
        return _resize(images, self.image_size)

    # ----------------------------------------------------------- factors
    @property
    def max_corner(self):
        """Largest top (or left) coordinate of a digit."""
        return self.image_size - self.digit_size

    def position_bin(self, top, left):
        """Grid cell (row-major) of the digit corner `(top, left)`."""
        bins = self.position_bins
        span = self.max_corner + 1
        row = np.minimum(np.asarray(top) * bins // span, bins - 1)
        col = np.minimum(np.asarray(left) * bins // span, bins - 1)
        return (row * bins + col).astype(np.int32)

    def sample_factors(self, n, rng):
        """Draws `n` independent factor settings (a dict of int arrays)."""
        return {
            "digit_index": rng.integers(0, len(self.digits), n),
            "top": rng.integers(0, self.max_corner + 1, n),
            "left": rng.integers(0, self.max_corner + 1, n),
            "background": rng.integers(0, self.num_backgrounds, n),
        }

    def labels(self, factors):
        """Factor labels for probing: digit class, position bin,
        background id (plus the raw corner)."""
        return {
            "digit": self.digit_labels[factors["digit_index"]],
            "position": self.position_bin(factors["top"], factors["left"]),
            "background": np.asarray(factors["background"], np.int32),
            "top": np.asarray(factors["top"], np.int32),
            "left": np.asarray(factors["left"], np.int32),
        }

    def render(self, factors):
        """Images `[n, H, W, 3]` float32 for a dict of factors."""
        n = len(factors["digit_index"])
        size, d = self.image_size, self.digit_size
        images = self.backgrounds[factors["background"]].copy()
        alpha = np.zeros((n, size, size, 1), np.float32)
        digits = self.digits[factors["digit_index"]]
        for i in range(n):
            t, left = int(factors["top"][i]), int(factors["left"][i])
            alpha[i, t : t + d, left : left + d, 0] = digits[i]
        return (1.0 - alpha) * images + alpha * self.digit_color

    # ------------------------------------------------------------- views
    def view_pairs(self, n, shared=("digit",), seed=None):
        """Pairs of views sharing the factors in `shared`.

        Each non-shared factor is drawn independently for the second view
        (so it coincides only by chance); shared factors are copied. When
        the digit is shared, both views show the same digit image.

        Args:
            n: number of pairs.
            shared: subset of `FACTORS`.
            seed: seed of the draw (None: the generator's seed).

        Returns:
            dict with `view1`, `view2` (`[n, H, W, 3]` float32 in [0, 1]),
            `labels1`, `labels2` (dicts of int32 arrays `[n]`: `digit`,
            `position`, `background`, `top`, `left`).
        """
        _check_int("n", n)
        shared = tuple(shared)
        unknown = [f for f in shared if f not in FACTORS]
        if unknown:
            raise ValueError(
                f"`shared` must be a subset of {FACTORS}; received "
                f"shared={shared!r}."
            )
        rng = np.random.default_rng(self.seed if seed is None else seed)
        first = self.sample_factors(n, rng)
        second = self.sample_factors(n, rng)
        if "digit" in shared:
            second["digit_index"] = first["digit_index"]
        if "position" in shared:
            second["top"], second["left"] = first["top"], first["left"]
        if "background" in shared:
            second["background"] = first["background"]
        return {
            "view1": self.render(first),
            "view2": self.render(second),
            "labels1": self.labels(first),
            "labels2": self.labels(second),
        }

    def as_dataset(self, n, shared=("digit",), batch_size=None, seed=None):
        """The pairs of `view_pairs` as a `tf.data.Dataset`.

        Elements are `((view1, view2), labels1)`, batched if `batch_size`
        is given.
        """
        pairs = self.view_pairs(n, shared=shared, seed=seed)
        ds = tf.data.Dataset.from_tensor_slices(
            ((pairs["view1"], pairs["view2"]), pairs["labels1"])
        )
        if batch_size is not None:
            ds = ds.batch(_check_int("batch_size", batch_size))
        return ds

    def sequences(self, n, length=10, max_speed=3.0, seed=None):
        """Moving digits: `n` sequences of `length` frames.

        Each sequence keeps its digit and background; the digit starts at
        a random corner position with a random velocity (up to `max_speed`
        pixels per frame per axis) and bounces off the borders.

        Returns:
            dict with `frames` `[n, length, H, W, 3]` and `labels` (digit,
            background `[n]`; top, left, position `[n, length]`).
        """
        _check_int("n", n)
        _check_int("length", length)
        rng = np.random.default_rng(self.seed if seed is None else seed)
        base = self.sample_factors(n, rng)
        limit = float(self.max_corner)
        pos = np.stack([base["top"], base["left"]], -1).astype(np.float64)
        vel = rng.uniform(-max_speed, max_speed, size=(n, 2))
        tops, lefts = [], []
        for _ in range(length):
            tops.append(np.round(pos[:, 0]).astype(int))
            lefts.append(np.round(pos[:, 1]).astype(int))
            pos = pos + vel
            low, high = pos < 0, pos > limit
            pos = np.where(low, -pos, np.where(high, 2 * limit - pos, pos))
            vel = np.where(low | high, -vel, vel)
        frames = []
        for t in range(length):
            factors = dict(base, top=tops[t], left=lefts[t])
            frames.append(self.render(factors))
        tops, lefts = np.stack(tops, 1), np.stack(lefts, 1)
        return {
            "frames": np.stack(frames, 1),
            "labels": {
                "digit": self.digit_labels[base["digit_index"]],
                "background": np.asarray(base["background"], np.int32),
                "top": tops.astype(np.int32),
                "left": lefts.astype(np.int32),
                "position": self.position_bin(tops, lefts),
            },
        }
