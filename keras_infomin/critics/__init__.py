"""Critics: Keras layers that score every pair, `call(x, y) -> [N, M]`.

`S[i, j] = f(x_i, y_j)` with the positives on the diagonal, the convention of
`keras_infomin.bounds`. Tschannen et al. (2020) show the critic's family
(bilinear, separable, concatenation) shapes the learned representation more
than the tightness of the MI bound does.

`GaussianConditional` scores with a normalised log density
`log q(y_j | x_i)`: the matrix the upper bounds `bounds.club` and
`bounds.l1out` read.
"""

from keras_infomin.critics.base import Critic
from keras_infomin.critics.bilinear import Bilinear
from keras_infomin.critics.concat import Concat
from keras_infomin.critics.gaussian_conditional import GaussianConditional
from keras_infomin.critics.inner_product import InnerProduct
from keras_infomin.critics.separable import Separable

_BY_NAME = {
    "inner_product": InnerProduct,
    "cosine": lambda: InnerProduct(cosine=True),
    "bilinear": Bilinear,
    "separable": Separable,
    "concat": Concat,
    "gaussian_conditional": GaussianConditional,
}


def get(identifier):
    """A critic from a name, a config dict or an instance."""
    if isinstance(identifier, Critic):
        return identifier
    if isinstance(identifier, dict):
        import keras

        return keras.saving.deserialize_keras_object(identifier)
    if identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(
        f"Unknown critic {identifier!r}; expected one of {sorted(_BY_NAME)}, "
        "a Critic instance or a serialized config."
    )


__all__ = [
    "Bilinear",
    "Concat",
    "Critic",
    "GaussianConditional",
    "InnerProduct",
    "Separable",
    "get",
]
