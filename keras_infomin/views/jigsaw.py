"""`JigSaw` tiles (PIRL's extra view) and the `JigSawHead` that embeds them."""

import keras
import tensorflow as tf
from keras import ops

from keras_infomin.utils import random as random_utils
from keras_infomin.utils import register
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import apply_transform
from keras_infomin.views.base import as_transform


def extract_windows(images, batch_index, top, left, size):
    """Copies `size x size` windows `[N, size, size, C]` out of `images`.

    Window `n` starts at pixel `(top[n], left[n])` of image
    `batch_index[n]`; uses `tf.image.crop_and_resize` with nearest
    sampling on the exact pixel grid (a copy, no resampling).
    """
    shape = tf.shape(images)
    hm1 = tf.cast(tf.maximum(shape[1] - 1, 1), tf.float32)
    wm1 = tf.cast(tf.maximum(shape[2] - 1, 1), tf.float32)
    top = tf.cast(top, tf.float32)
    left = tf.cast(left, tf.float32)
    boxes = tf.stack(
        [
            top / hm1,
            left / wm1,
            (top + size - 1) / hm1,
            (left + size - 1) / wm1,
        ],
        axis=1,
    )
    out = tf.image.crop_and_resize(
        images,
        boxes,
        tf.cast(batch_index, tf.int32),
        [size, size],
        method="nearest",
    )
    return tf.cast(out, images.dtype)


@register
class JigSaw(RandomViewLayer):
    """Cuts each image into a `grid x grid` jigsaw and shuffles the tiles.

    The image is divided into `grid^2` cells of `H // grid` by
    `W // grid` pixels; from cell `k` (row-major: row `k // grid`, column
    `k % grid`) a `tile_size` square is taken at a random offset inside the
    cell (the gap between tiles stops the network from matching edges).
    Each sample then gets its own uniformly random permutation `perm`
    (argsort of uniform noise): output slot `s` holds the tile of cell
    `perm[b, s]`. This is the jigsaw view of PIRL, which InfoMin uses next
    to MoCo v2 (PyContrast: a 255-pixel resized crop with scale (0.6, 1),
    a horizontal flip, a 3 x 3 grid of 85-pixel cells, 64-pixel tiles);
    compose those steps with `Compose` before this layer.

    In inference (`training=False`) the tiles are centred in their cells
    and kept in grid order.

    Args:
        grid_size: tiles per side (>= 1).
        tile_size: tile side in pixels, at most the cell size; default the
            cell size (needs a known image size).
        tile_transform: optional layer or callable applied to all tiles as
            one batch `[B * grid^2, t, t, C]` (each tile augmented on its
            own, e.g. a colour jitter).
        return_permutation: also return `perm` (int32 `[B, grid^2]`).
        seed: optional int.
        value_range: range of the incoming images (see `ViewLayer`).
        **kwargs: `keras.layers.Layer` arguments.

    Input shape:
        `[B, H, W, C]` or `[H, W, C]`.

    Output shape:
        `[B, grid^2, t, t, C]` (or `[grid^2, t, t, C]`), plus `perm` if
        asked.

    Example:

    ```python
    jigsaw_view = Compose([RandomResizedCrop(255, 255, scale=(0.6, 1.0)),
                           RandomHorizontalFlip(),
                           JigSaw(grid_size=3, tile_size=64)])
    tiles = jigsaw_view(images)           # [B, 9, 64, 64, 3]
    ```
    """

    changes_values = False

    nested = {"tile_transform": "tile_transform"}

    def __init__(
        self,
        grid_size=3,
        tile_size=None,
        tile_transform=None,
        return_permutation=False,
        seed=None,
        value_range=None,
        **kwargs,
    ):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        if (
            not isinstance(grid_size, int)
            or isinstance(grid_size, bool)
            or grid_size < 1
        ):
            raise ValueError(
                "`grid_size` must be a positive int; received "
                f"grid_size={grid_size!r}."
            )
        if tile_size is not None and (
            not isinstance(tile_size, int)
            or isinstance(tile_size, bool)
            or tile_size < 1
        ):
            raise ValueError(
                "`tile_size` must be a positive int or None; received "
                f"tile_size={tile_size!r}."
            )
        if tile_transform is not None:
            as_transform("tile_transform", tile_transform)
        self.grid_size = grid_size
        self.tile_size = tile_size
        self.tile_transform = tile_transform
        self.return_permutation = bool(return_permutation)
        self.resolve_value_range()

    def _tile_size(self, height, width):
        cell = None
        if height is not None and width is not None:
            cell = min(height // self.grid_size, width // self.grid_size)
            if cell < 1:
                raise ValueError(
                    f"Images of {height} x {width} pixels are too small for "
                    f"a {self.grid_size} x {self.grid_size} jigsaw."
                )
        if self.tile_size is None:
            if cell is None:
                raise ValueError(
                    "JigSaw needs `tile_size` when the image size is not "
                    "known statically."
                )
            return cell
        if cell is not None and self.tile_size > cell:
            raise ValueError(
                f"`tile_size`={self.tile_size} is larger than the cells of "
                f"a {self.grid_size} x {self.grid_size} grid on {height} x "
                f"{width} images ({cell} pixels); use tile_size <= {cell}."
            )
        return self.tile_size

    def child_input_shapes(self, input_shape):
        if self.tile_transform is None:
            return []
        tile = self._tile_size(input_shape[-3], input_shape[-2])
        return [(self.tile_transform, (None, tile, tile, input_shape[-1]))]

    def check_input_shape(self, input_shape):
        input_shape = super().check_input_shape(input_shape)
        self._tile_size(input_shape[-3], input_shape[-2])
        return input_shape

    def _slack(self, images):
        """Cell sizes and the room a tile has to move in its cell."""
        t = self._tile_size(images.shape[1], images.shape[2])
        shape = tf.shape(images)
        cell_h = shape[1] // self.grid_size
        cell_w = shape[2] // self.grid_size
        tf.debugging.assert_greater_equal(
            tf.minimum(cell_h, cell_w),
            t,
            message="JigSaw: tile_size is larger than the grid cells.",
        )
        slack_h = tf.cast(cell_h - t, tf.float32)
        slack_w = tf.cast(cell_w - t, tf.float32)
        return cell_h, cell_w, slack_h, slack_w

    def sample_parameters(self, images, seed):
        """Tile offsets in their cells `[B, n]` and the permutation."""
        batch = tf.shape(images)[0]
        n = self.grid_size**2
        _, _, slack_h, slack_w = self._slack(images)
        s_off_y, s_off_x, s_perm = random_utils.split_seed(seed, 3)
        off_y = tf.floor(
            tf.random.stateless_uniform([batch, n], s_off_y) * (slack_h + 1.0)
        )
        off_x = tf.floor(
            tf.random.stateless_uniform([batch, n], s_off_x) * (slack_w + 1.0)
        )
        perm = tf.argsort(
            tf.random.stateless_uniform([batch, n], s_perm), axis=1
        )
        return (
            tf.minimum(off_y, slack_h),
            tf.minimum(off_x, slack_w),
            tf.cast(perm, tf.int32),
        )

    def inference_parameters(self, images):
        """Tiles centred in their cells, in grid order."""
        batch = tf.shape(images)[0]
        n = self.grid_size**2
        _, _, slack_h, slack_w = self._slack(images)
        return (
            tf.fill([batch, n], tf.floor(slack_h / 2.0)),
            tf.fill([batch, n], tf.floor(slack_w / 2.0)),
            tf.tile(tf.range(n)[None], [batch, 1]),
        )

    def augment(self, images, parameters, training):
        off_y, off_x, perm = parameters
        g = self.grid_size
        n = g * g
        t = self._tile_size(images.shape[1], images.shape[2])
        batch = tf.shape(images)[0]
        cell_h, cell_w, _, _ = self._slack(images)
        cells = tf.range(n)
        cell_top = tf.cast((cells // g) * cell_h, tf.float32)
        cell_left = tf.cast((cells % g) * cell_w, tf.float32)
        # Window of every (sample, slot): the cell perm[b, s] and its offset.
        top = tf.gather(cell_top, perm) + tf.gather(off_y, perm, batch_dims=1)
        left = tf.gather(cell_left, perm) + tf.gather(off_x, perm, batch_dims=1)
        batch_index = tf.repeat(tf.range(batch), n)
        tiles = extract_windows(
            images,
            batch_index,
            tf.reshape(top, [-1]),
            tf.reshape(left, [-1]),
            t,
        )
        if self.tile_transform is not None:
            tiles = apply_transform(
                self.tile_transform,
                tiles,
                training,
                self.resolve_value_range(),
            )
        tiles = tf.reshape(tiles, [batch, n, t, t, images.shape[-1]])
        if self.return_permutation:
            return tiles, perm
        return tiles

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        t = self._tile_size(shape[-3], shape[-2])
        n = self.grid_size**2
        tiles = shape[:-3] + (n, t, t, shape[-1])
        if self.return_permutation:
            return tiles, shape[:-3] + (n,)
        return tiles

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "grid_size": self.grid_size,
                "tile_size": self.tile_size,
                "return_permutation": self.return_permutation,
            }
        )
        return config


@register
class JigSawHead(keras.layers.Layer):
    """Embeds the tile features of a jigsaw view into one vector.

    Takes the features `[B, T, D]` that a shared backbone computed for the
    `T` tiles of `JigSaw`, optionally projects each tile to `tile_dim`,
    concatenates the tiles in slot order (slot 0 first) into
    `[B, T * D']` and projects linearly to `output_dim` (128 in PIRL and
    InfoMin), L2-normalised by default. Because the slots hold the tiles in
    the shuffled order, the embedding depends on the permutation, as in
    PIRL ("concatenated in a random order"). Passing the permutation as a
    second input first puts the features back in grid order (cell 0
    first), giving an embedding of the unshuffled puzzle.

    In InfoMin's code the jigsaw branch sits beside MoCo v2 with a loss
    weight of 0.5; the weight belongs to the trainer.

    Args:
        output_dim: size of the embedding.
        tile_dim: optional per-tile projection size (a shared `Dense` on
            each tile's features before concatenation); None skips it.
        normalize: L2-normalise the output.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        features: `[B, T, D]` float.
        permutation: optional int `[B, T]`, `JigSaw`'s `perm`.

    Returns:
        `[B, output_dim]`.

    Example:

    ```python
    tiles, perm = JigSaw(3, 64, return_permutation=True)(crops)
    b, t = tf.shape(tiles)[0], tiles.shape[1]
    feats = backbone(tf.reshape(tiles, [-1, 64, 64, 3]))
    emb = JigSawHead(128)(tf.reshape(feats, [b, t, -1]))
    ```
    """

    def __init__(self, output_dim=128, tile_dim=None, normalize=True, **kwargs):
        super().__init__(**kwargs)
        for name, value, allow_none in (
            ("output_dim", output_dim, False),
            ("tile_dim", tile_dim, True),
        ):
            if value is None and allow_none:
                continue
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < 1
            ):
                raise ValueError(
                    f"`{name}` must be a positive int; received "
                    f"{name}={value!r}."
                )
        self.output_dim = output_dim
        self.tile_dim = tile_dim
        self.normalize = bool(normalize)
        self.tile_projection = (
            None
            if tile_dim is None
            else keras.layers.Dense(tile_dim, name="tile_projection")
        )
        self.projection = keras.layers.Dense(output_dim, name="projection")

    def build(self, features_shape, permutation_shape=None):
        shape = tuple(features_shape)
        if len(shape) != 3 or shape[1] is None or shape[2] is None:
            raise ValueError(
                "JigSawHead expects tile features of shape [batch, tiles, "
                f"dim] with known tiles and dim; received shape {shape}."
            )
        dim = shape[2]
        if self.tile_projection is not None:
            self.tile_projection.build(shape)
            dim = self.tile_dim
        self.projection.build((shape[0], shape[1] * dim))
        self.built = True

    def call(self, features, permutation=None):
        if len(features.shape) != 3:
            raise ValueError(
                "JigSawHead expects tile features of shape [batch, tiles, "
                f"dim]; received shape {tuple(features.shape)}."
            )
        if permutation is not None:
            # Slot s holds cell perm[b, s]; scatter back to cell order.
            inverse = ops.argsort(permutation, axis=1)
            features = ops.take_along_axis(
                features, ops.expand_dims(inverse, -1), axis=1
            )
        if self.tile_projection is not None:
            features = self.tile_projection(features)
        tiles, dim = features.shape[1], features.shape[2]
        flat = ops.reshape(features, (-1, tiles * dim))
        out = self.projection(flat)
        if self.normalize:
            out = out / ops.sqrt(
                ops.maximum(
                    ops.sum(ops.square(out), axis=-1, keepdims=True), 1e-12
                )
            )
        return out

    def compute_output_shape(self, features_shape, permutation_shape=None):
        return (features_shape[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_dim": self.output_dim,
                "tile_dim": self.tile_dim,
                "normalize": self.normalize,
            }
        )
        return config
