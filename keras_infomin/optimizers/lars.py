"""LARS: layer-wise adaptive rate scaling (You et al., 2017)."""

import re

import keras
from keras import ops

from keras_infomin.utils import check_in_range
from keras_infomin.utils import check_positive
from keras_infomin.utils import register

# Patterns used by SimCLR to skip batch-norm and bias variables.
SIMCLR_EXCLUDE = ("batch_normalization", "bias")


def _patterns(name, value):
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    try:
        value = list(value)
    except TypeError as err:
        raise TypeError(
            f"`{name}` must be a list of regular expressions; received "
            f"{name}={value!r}."
        ) from err
    for pattern in value:
        if not isinstance(pattern, str):
            raise TypeError(
                f"`{name}` must contain strings; received {pattern!r}."
            )
        re.compile(pattern)
    return value


@register
class LARS(keras.optimizers.Optimizer):
    """SGD with momentum and a layer-wise trust ratio (LARS).

    For every variable `w` with gradient `g`, with learning rate `lr`,
    momentum `m`, weight decay `wd` and trust coefficient `eta`:

        g     = g + wd * w                       (unless excluded from decay)
        ratio = eta * ||w|| / (||g|| + epsilon)  if ||w|| > 0 and ||g|| > 0
                1                                otherwise, or if excluded
                                                 from layer adaptation
        v     = m * v + lr * ratio * g
        w     = w - v                            (nesterov=False)
        w     = w - (m * v + lr * ratio * g)     (nesterov=True)

    Norms are Euclidean norms over the whole variable. This is the form
    used by SimCLR: weight decay is added to the gradient before the trust
    ratio, and variables whose path matches a pattern of
    `exclude_from_weight_decay` get neither decay nor (unless
    `exclude_from_layer_adaptation` is given separately) adaptation.

    Patterns are regular expressions searched (`re.search`) in each
    variable's `path` (e.g. `"encoder/batch_normalization/gamma"`), so they
    match layer names as well as variable names; `SIMCLR_EXCLUDE =
    ("batch_normalization", "bias")` is SimCLR's choice. Because Keras names
    a batch-norm layer after its class only by default,
    `exclude_bias_and_norm=True` offers a name-free rule: every variable of
    rank <= 1 (biases, normalisation scales and offsets) is excluded from
    both decay and adaptation.

    Args:
        learning_rate: float, schedule or callable.
        momentum: float in [0, 1).
        weight_decay: L2 coefficient added to the gradient (not Keras'
            decoupled decay).
        eta: trust coefficient (0.001 in You et al. and SimCLR).
        nesterov: whether to use Nesterov momentum.
        epsilon: added to `||g||` in the trust ratio's denominator.
        exclude_from_weight_decay: regular expressions of variable paths
            that get no weight decay.
        exclude_from_layer_adaptation: regular expressions of variable
            paths whose trust ratio is 1; `None` reuses
            `exclude_from_weight_decay`.
        exclude_bias_and_norm: exclude every variable of rank <= 1 from
            both weight decay and layer adaptation.
        name: optimizer name.
        **kwargs: base optimizer arguments (`clipnorm`, `global_clipnorm`,
            `use_ema`, `loss_scale_factor`, `gradient_accumulation_steps`,
            ...).

    Example:

    >>> optimizer = LARS(
    ...     learning_rate=WarmupCosine(4.8, total_steps=10_000,
    ...                                warmup_steps=500),
    ...     weight_decay=1e-6,
    ...     exclude_from_weight_decay=SIMCLR_EXCLUDE,
    ... )
    >>> model.compile(optimizer=optimizer, loss=...)
    """

    def __init__(
        self,
        learning_rate=0.1,
        momentum=0.9,
        weight_decay=0.0,
        eta=0.001,
        nesterov=False,
        epsilon=0.0,
        exclude_from_weight_decay=None,
        exclude_from_layer_adaptation=None,
        exclude_bias_and_norm=False,
        name="lars",
        **kwargs,
    ):
        # Weight decay is handled here (coupled, before the trust ratio), so
        # the base class's decoupled decay stays off.
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        check_in_range("momentum", momentum, 0.0, 1.0, high_open=True)
        check_positive("weight_decay", weight_decay, allow_zero=True)
        check_positive("eta", eta)
        check_positive("epsilon", epsilon, allow_zero=True)
        self.momentum = float(momentum)
        self.lars_weight_decay = float(weight_decay)
        self.eta = float(eta)
        self.nesterov = bool(nesterov)
        self.epsilon = float(epsilon)
        self.exclude_from_weight_decay_patterns = _patterns(
            "exclude_from_weight_decay", exclude_from_weight_decay
        )
        self._adaptation_patterns_given = exclude_from_layer_adaptation
        self.exclude_from_layer_adaptation_patterns = (
            _patterns(
                "exclude_from_layer_adaptation", exclude_from_layer_adaptation
            )
            if exclude_from_layer_adaptation is not None
            else list(self.exclude_from_weight_decay_patterns)
        )
        self.exclude_bias_and_norm = bool(exclude_bias_and_norm)

    @staticmethod
    def _matches(variable, patterns):
        path = getattr(variable, "path", None) or variable.name
        return any(re.search(p, path) for p in patterns)

    def uses_weight_decay(self, variable):
        """Whether `variable` receives weight decay."""
        if self.lars_weight_decay == 0.0:
            return False
        if self.exclude_bias_and_norm and len(variable.shape) <= 1:
            return False
        return not self._matches(
            variable, self.exclude_from_weight_decay_patterns
        )

    def uses_layer_adaptation(self, variable):
        """Whether `variable`'s step is scaled by the trust ratio."""
        if self.exclude_bias_and_norm and len(variable.shape) <= 1:
            return False
        return not self._matches(
            variable, self.exclude_from_layer_adaptation_patterns
        )

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")
        self._decay_flags = [self.uses_weight_decay(v) for v in variables]
        self._adapt_flags = [self.uses_layer_adaptation(v) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(gradient, dtype)
        w = ops.convert_to_tensor(variable)
        if self._decay_flags[index]:
            g = g + ops.cast(self.lars_weight_decay, dtype) * w
        if self._adapt_flags[index]:
            w_norm = ops.sqrt(ops.sum(ops.square(w)))
            g_norm = ops.sqrt(ops.sum(ops.square(g)))
            ratio = ops.where(
                ops.logical_and(w_norm > 0, g_norm > 0),
                ops.cast(self.eta, dtype)
                * w_norm
                / (g_norm + ops.cast(self.epsilon, dtype)),
                ops.cast(1.0, dtype),
            )
            lr = lr * ratio
        step = lr * g
        velocity = self.momentums[index]
        momentum = ops.cast(self.momentum, dtype)
        self.assign(velocity, momentum * velocity + step)
        if self.nesterov:
            self.assign_sub(variable, momentum * velocity + step)
        else:
            self.assign_sub(variable, velocity)

    def get_config(self):
        config = super().get_config()
        adaptation = self._adaptation_patterns_given
        config.update(
            {
                "momentum": self.momentum,
                "weight_decay": self.lars_weight_decay,
                "eta": self.eta,
                "nesterov": self.nesterov,
                "epsilon": self.epsilon,
                "exclude_from_weight_decay": list(
                    self.exclude_from_weight_decay_patterns
                ),
                "exclude_from_layer_adaptation": (
                    None
                    if adaptation is None
                    else list(self.exclude_from_layer_adaptation_patterns)
                ),
                "exclude_bias_and_norm": self.exclude_bias_and_norm,
            }
        )
        return config
