"""`GradientReversal`: identity forward, negated (scaled) gradient backward."""

import keras
from keras import ops

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive


@register
class GradientReversal(keras.layers.Layer):
    """Passes its inputs through and flips the sign of their gradient.

    Forward: `y = x`. Backward: `dL/dx = -scale * dL/dy`. Placed between
    two players of a min-max game, it lets one loss and one optimizer train
    both: the layers after it minimise `L`, the layers before it receive
    `-scale` times the gradient they would otherwise get, i.e. they
    minimise `-scale * L` (Ganin & Lempitsky 2015).

    For InfoMin's view game this gives the simultaneous updates of
    `InfoMinModel` (`generator_every=1`): with the generator `g` before
    the layer and the encoders after it, the single loss `L = -I_NCE`
    moves the encoders up the bound and `g` down it. With plain SGD at one
    learning rate (and `scale=1`) one step equals the two-optimizer step;
    with adaptive optimizers such as Adam the two formulations differ only
    by how the optimizer's state is shared.

    Accepts a tensor or a nested structure (tuple, list, dict) of tensors
    and reverses the gradient of each. The layer has no weights; `scale=0`
    stops the gradient.

    Args:
        scale: non-negative factor of the reversed gradient.
        **kwargs: `keras.layers.Layer` arguments.

    Example:

    ```python
    generator = keras_infomin.views.FlowViewGenerator(
        RealNVP(4, (32, 32), coupling="affine", init_std=1e-3)
    )
    model = keras_infomin.models.ContrastiveModel(
        encoder=[ConvNet(output_dim=64), ConvNet(output_dim=64)],
        view_layer=keras_infomin.views.Compose(
            [generator, GradientReversal()]
        ),
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    model.fit(images, epochs=10)  # encoders maximise I_NCE, g minimises it
    ```
    """

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(check_positive("scale", scale, allow_zero=True))
        self.supports_masking = True

    def _reverse(self, x):
        scale = self.scale

        @ops.custom_gradient
        def reverse(value):
            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return ops.multiply(upstream, ops.cast(-scale, upstream.dtype))

            return ops.copy(value), grad

        return reverse(x)

    def call(self, inputs):
        return keras.tree.map_structure(self._reverse, inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        return keras.tree.map_structure(
            lambda x: keras.KerasTensor(x.shape, dtype=x.dtype), inputs
        )

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale)
        return config
