"""Keras losses: one per MI bound (`loss = -bound`), plus the triplet loss.

They drop into `model.compile(loss=...)` of any model whose output is

- a score matrix `[N, M]` (a critic's output, positives on the diagonal), or
- two stacked embeddings `[N, 2, d]`, e.g.
  `keras.ops.stack([z1, z2], axis=1)`, scored with `z1 z2^T / temperature`
  (`cosine=True` for cosine similarity), against the embeddings of every
  replica under `tf.distribute`; a model whose output is the list
  `[z1, z2]` is built as `keras_infomin.models.PairModel(inputs, [z1, z2])`.

`CLUB` and `L1Out` are the upper bounds, for minimising MI: they read the
log-likelihoods `log q(y_j | x_i)` of a conditional density (see
`Objective`).

`y_true` is ignored: `model.fit(x)` with no labels works. Every loss, the
`metrics.MutualInformation` metric and the trainers of `models` read the
output through one `Objective`.
"""

from keras_infomin.losses.base import ContrastiveLoss
from keras_infomin.losses.base import MutualInformationLoss
from keras_infomin.losses.bounds import CLUB
from keras_infomin.losses.bounds import DV
from keras_infomin.losses.bounds import JS
from keras_infomin.losses.bounds import MINE
from keras_infomin.losses.bounds import NWJ
from keras_infomin.losses.bounds import SMILE
from keras_infomin.losses.bounds import TUBA
from keras_infomin.losses.bounds import InfoNCE
from keras_infomin.losses.bounds import Interpolated
from keras_infomin.losses.bounds import L1Out
from keras_infomin.losses.objective import Estimate
from keras_infomin.losses.objective import Objective
from keras_infomin.losses.objective import split_prediction
from keras_infomin.losses.triplet import Triplet

_BY_NAME = {
    "infonce": InfoNCE,
    "nwj": NWJ,
    "tuba": TUBA,
    "dv": DV,
    "mine": MINE,
    "js": JS,
    "smile": SMILE,
    "interpolated": Interpolated,
    "club": CLUB,
    "l1out": L1Out,
    "triplet": Triplet,
}


def get(identifier, **kwargs):
    """A loss instance from a name (with constructor kwargs) or instance."""
    if isinstance(identifier, ContrastiveLoss):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier](**kwargs)
    raise ValueError(
        f"Unknown loss {identifier!r}; expected one of {sorted(_BY_NAME)} or "
        "a ContrastiveLoss instance."
    )


__all__ = [
    "CLUB",
    "DV",
    "JS",
    "MINE",
    "NWJ",
    "SMILE",
    "TUBA",
    "ContrastiveLoss",
    "Estimate",
    "InfoNCE",
    "Interpolated",
    "L1Out",
    "MutualInformationLoss",
    "Objective",
    "Triplet",
    "get",
    "split_prediction",
]
