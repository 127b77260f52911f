"""One Keras loss per MI bound: `loss = -bound` (nats)."""

from keras_infomin.losses.base import MutualInformationLoss
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.utils.validation import check_positive


class _BoundLoss(MutualInformationLoss):
    """A loss on the bound `BOUND`, whose arguments are `ARGS`."""

    BOUND = None
    ARGS = ()

    def __init__(self, **kwargs):
        bound_kwargs = {k: kwargs.pop(k) for k in self.ARGS if k in kwargs}
        super().__init__(self.BOUND, bound_kwargs=bound_kwargs, **kwargs)

    def get_config(self):
        return {**super().get_config(), **self.objective.bound_kwargs}


@register
class InfoNCE(_BoundLoss):
    """Negative InfoNCE bound: the softmax cross-entropy of the true pair.

        loss = -(1/N sum_i [S_ii - log sum_j exp S_ij] + log M)

    Its minimum is `-log M` (the bound's cap). With `temperature` and
    `cosine=True` it is SimCLR's NT-Xent / MoCo's contrastive loss; with
    `symmetric=True` it averages the row and column directions (CLIP).
    Embedding pairs go through the fused `bounds.infonce_dot`, with the
    negatives of every replica under `tf.distribute`.

    Args:
        temperature, cosine, symmetric, target, gather: see
            `MutualInformationLoss`.

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

    BOUND = "infonce"


@register
class NWJ(_BoundLoss):
    """Negative NWJ bound, `-(E_p f - e^-1 E_q e^f)` (see `bounds.nwj`)."""

    BOUND = "nwj"


@register
class TUBA(_BoundLoss):
    """Negative TUBA bound with a constant log-baseline (see `bounds.tuba`).

    Args:
        log_baseline: `log a`, a float (a learned baseline belongs in the
            model: compute its scores minus `log a(y)` there).
    """

    BOUND = "tuba"
    ARGS = ("log_baseline",)

    def __init__(self, log_baseline=0.0, **kwargs):
        super().__init__(log_baseline=float(log_baseline), **kwargs)


@register
class DV(_BoundLoss):
    """Negative Donsker-Varadhan bound (see `bounds.dv`)."""

    BOUND = "dv"


@register
class MINE(_BoundLoss):
    """MINE: the DV value, trained with a moving-average gradient.

    The running average of the partition term lives in
    `objective.log_partition_average` and is carried from call to call
    (create the loss inside the strategy's scope to train under
    `tf.distribute`); it is updated at every call, `evaluate` included.
    `models.MIEstimator(bound="mine")` or a trainer with `bound="mine"`
    saves it with the model and updates it only while training.

    Args:
        momentum: weight of the past in the moving average, in [0, 1).
    """

    BOUND = "mine"
    ARGS = ("momentum",)

    def __init__(self, momentum=0.9, **kwargs):
        check_in_range("momentum", momentum, 0.0, 1.0, high_open=True)
        super().__init__(momentum=momentum, **kwargs)

    def call(self, y_true, y_pred):
        del y_true
        estimate = self.objective.estimate(y_pred, training=True)
        return self.objective.loss(estimate)


@register
class JS(_BoundLoss):
    """Jensen-Shannon training; the value is the TUBA MI read-out.

    Minimising it follows the gradient of the f-GAN JS objective; the loss
    value is `-tuba(f)`, minus the MI estimate (see `bounds.js`).
    """

    BOUND = "js"


@register
class SMILE(_BoundLoss):
    """SMILE: JS gradient, clipped-DV value (see `bounds.smile`).

    Args:
        tau: clipping threshold (5 is the usual choice), `None` for none.
    """

    BOUND = "smile"
    ARGS = ("tau",)

    def __init__(self, tau=5.0, **kwargs):
        check_positive("tau", tau, allow_none=True)
        super().__init__(tau=tau, **kwargs)


@register
class Interpolated(_BoundLoss):
    """Negative interpolated bound I_alpha (see `bounds.interpolated`).

    Args:
        alpha: weight of the InfoNCE baseline in (0, 1].
        log_baseline: constant `log q(y)`.
    """

    BOUND = "interpolated"
    ARGS = ("alpha", "log_baseline")

    def __init__(self, alpha=0.01, log_baseline=0.0, **kwargs):
        check_in_range("alpha", alpha, 0.0, 1.0, low_open=True)
        super().__init__(
            alpha=alpha, log_baseline=float(log_baseline), **kwargs
        )


@register
class CLUB(_BoundLoss):
    r"""The CLUB upper bound, for minimising MI (see `bounds.club`).

        loss = CLUB(L) - mean_i L_ii,   L[i, j] = log q(y_j | x_i)

    On a model whose output is the log-likelihood matrix `L` of its own
    conditional `q`, the loss fits `q` by maximum likelihood and reports
    the bound (its value carries no gradient). Compiled into a trainer
    whose critic is a conditional density (`models.MIEstimator(
    critics.GaussianConditional())`, `compile(loss=losses.CLUB())`), the
    trainer's `Objective` scores embedding pairs: the bound's gradient
    reaches the embeddings only and the likelihood's reaches `q` only, so
    an encoder minimises CLUB while `q` fits (see `Objective`).

    Args:
        target, gather: see `MutualInformationLoss`.

    Example:

    >>> import numpy as np
    >>> log_q = np.array([[0.0, -2.0], [-2.0, 0.0]], "float32")
    >>> float(CLUB()(None, log_q))  # CLUB 2 minus the likelihood 0
    2.0
    """

    BOUND = "club"


@register
class L1Out(_BoundLoss):
    """The leave-one-out upper bound (see `bounds.l1out` and `CLUB`).

    Reads square log-likelihood matrices `[N, N]`.
    """

    BOUND = "l1out"
