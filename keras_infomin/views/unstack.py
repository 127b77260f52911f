"""`UnstackViews`: views stacked in one tensor, split again inside the model."""

import keras
from keras import ops

from keras_infomin.utils import register


@register
class UnstackViews(keras.layers.Layer):
    """Splits one tensor `[B, V, ...]` into a tuple of `V` views `[B, ...]`.

    Trainers take their views from a tuple, but some input pipelines can
    only carry one tensor per batch: Keras 3.15's `fit` under a
    `MultiWorkerMirroredStrategy` with several workers averages the first
    batch across workers before training and accepts a single tensor there,
    not a tuple or dict (see `keras_infomin.distribute.logs`). Stack the
    views on `axis` in the dataset (`np.stack([v1, v2], axis=1)`) and give
    the trainer this layer as its `view_layer`; the split happens inside
    the step, with no copy beyond the slicing. It has no weights and no
    randomness, so `training` changes nothing.

    Args:
        axis: the axis holding the views (default 1, right after the batch
            axis); negative values count from the end.
        num_views: optional expected number of views; checked against the
            input's static size along `axis`.
        **kwargs: `keras.layers.Layer` arguments.

    Returns:
        A tuple of `V` tensors, the input with `axis` removed.

    Example:

    ```python
    stacked = np.stack([view_1, view_2], axis=1)        # [N, 2, d]
    model = ContrastiveModel(encoder, view_layer=UnstackViews())
    model.fit(stacked, batch_size=256)
    ```
    """

    def __init__(self, axis=1, num_views=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(
                f"`axis` must be a Python int; received axis={axis!r}."
            )
        if axis == 0:
            raise ValueError(
                "`axis` must not be 0 (the batch axis); the views are "
                "stacked after it, e.g. axis=1 for [batch, views, ...]."
            )
        if num_views is not None and (
            isinstance(num_views, bool)
            or not isinstance(num_views, int)
            or num_views < 1
        ):
            raise ValueError(
                "`num_views` must be a positive int or None; received "
                f"num_views={num_views!r}."
            )
        self.axis = axis
        self.num_views = num_views

    def _resolve(self, shape):
        rank = len(shape)
        if rank < 2:
            raise ValueError(
                "`UnstackViews` needs inputs of rank >= 2, [batch, views, "
                f"...]; received shape {tuple(shape)}."
            )
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None or axis == 0:
            raise ValueError(
                f"`axis`={self.axis} does not name a non-batch axis of an "
                f"input of shape {tuple(shape)}."
            )
        views = shape[axis]
        if views is None:
            raise ValueError(
                "The number of views (the size of axis "
                f"{self.axis}) must be known; received shape {tuple(shape)}."
            )
        if self.num_views is not None and views != self.num_views:
            raise ValueError(
                f"Expected {self.num_views} views along axis {self.axis}; "
                f"received shape {tuple(shape)}."
            )
        return axis, views

    def build(self, input_shape):
        self._resolve(tuple(input_shape))
        self.built = True

    def call(self, inputs, training=None):
        axis, views = self._resolve(tuple(inputs.shape))
        return tuple(ops.take(inputs, k, axis=axis) for k in range(views))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        axis, views = self._resolve(input_shape)
        view_shape = input_shape[:axis] + input_shape[axis + 1 :]
        return tuple(view_shape for _ in range(views))

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "num_views": self.num_views})
        return config
