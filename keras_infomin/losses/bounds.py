"""One Keras loss per MI bound: `loss = -bound` (nats)."""

from keras import ops

from keras_infomin import bounds
from keras_infomin.losses.base import MutualInformationLoss
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.utils.validation import check_positive


@register
class InfoNCE(MutualInformationLoss):
    """Negative InfoNCE bound: the softmax cross-entropy of the true pair.

        loss = -(1/N sum_i [S_ii - log sum_j exp S_ij] + log M)

    Its minimum is `-log M` (the bound's cap). With `temperature` and
    `cosine=True` it is SimCLR's NT-Xent / MoCo's contrastive loss; with
    `symmetric=True` it averages the row and column directions (CLIP).
    Embedding pairs go through the fused `bounds.infonce_dot`.

    Args:
        temperature, cosine, target: see `MutualInformationLoss`.
        symmetric: average `x -> y` and `y -> x` bounds (square scores).

    Example:

    ```python
    inputs = keras.Input((784,))
    z1 = encoder(view_a(inputs))
    z2 = encoder(view_b(inputs))
    model = keras.Model(inputs, keras.ops.stack([z1, z2], axis=1))
    model.compile("adam", loss=InfoNCE(temperature=0.1, cosine=True))
    model.fit(images, epochs=10)  # no labels needed
    ```
    """

    def __init__(self, temperature=1.0, symmetric=False, **kwargs):
        super().__init__(temperature=temperature, **kwargs)
        self.symmetric = bool(symmetric)

    def bound(self, scores):
        value = bounds.infonce(scores)
        if self.symmetric:
            n, m = scores.shape
            if n is not None and m is not None and n != m:
                raise ValueError(
                    "`symmetric=True` needs a square score matrix; received "
                    f"shape {(n, m)}."
                )
            value = 0.5 * (value + bounds.infonce(ops.transpose(scores)))
        return value

    def bound_from_pair(self, z1, z2):
        if self.cosine:
            z1 = ops.normalize(z1, axis=-1)
            z2 = ops.normalize(z2, axis=-1)
        z1 = z1 / ops.cast(self.temperature, z1.dtype)
        return bounds.infonce_dot(z1, z2, symmetric=self.symmetric)

    def get_config(self):
        return {**super().get_config(), "symmetric": self.symmetric}


@register
class NWJ(MutualInformationLoss):
    """Negative NWJ bound, `-(E_p f - e^-1 E_q e^f)` (see `bounds.nwj`)."""

    def bound(self, scores):
        return bounds.nwj(scores)


@register
class TUBA(MutualInformationLoss):
    """Negative TUBA bound with a constant log-baseline (see `bounds.tuba`).

    Args:
        log_baseline: `log a`, a float (a learned baseline belongs in the
            model: compute its scores minus `log a(y)` there).
    """

    def __init__(self, log_baseline=0.0, **kwargs):
        super().__init__(**kwargs)
        self.log_baseline = float(log_baseline)

    def bound(self, scores):
        return bounds.tuba(scores, self.log_baseline)

    def get_config(self):
        return {**super().get_config(), "log_baseline": self.log_baseline}


@register
class DV(MutualInformationLoss):
    """Negative Donsker-Varadhan bound (see `bounds.dv`)."""

    def bound(self, scores):
        return bounds.dv(scores)


@register
class JS(MutualInformationLoss):
    """Jensen-Shannon training; the value is the TUBA MI read-out.

    Minimising it follows the gradient of the f-GAN JS objective; the loss
    value is `-tuba(f)`, minus the MI estimate (see `bounds.js`).
    """

    def bound(self, scores):
        return bounds.js(scores)


@register
class SMILE(MutualInformationLoss):
    """SMILE: JS gradient, clipped-DV value (see `bounds.smile`).

    Args:
        tau: clipping threshold (5 is the usual choice), `None` for none.
    """

    def __init__(self, tau=5.0, **kwargs):
        super().__init__(**kwargs)
        self.tau = check_positive("tau", tau, allow_none=True)

    def bound(self, scores):
        return bounds.smile(scores, self.tau)

    def get_config(self):
        return {**super().get_config(), "tau": self.tau}


@register
class Interpolated(MutualInformationLoss):
    """Negative interpolated bound I_alpha (see `bounds.interpolated`).

    Args:
        alpha: weight of the InfoNCE baseline in (0, 1].
        log_baseline: constant `log q(y)`.
    """

    def __init__(self, alpha=0.01, log_baseline=0.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_in_range("alpha", alpha, 0.0, 1.0, low_open=True)
        self.log_baseline = float(log_baseline)

    def bound(self, scores):
        return bounds.interpolated(scores, self.alpha, self.log_baseline)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "log_baseline": self.log_baseline,
        }
