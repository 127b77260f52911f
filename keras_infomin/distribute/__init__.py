"""tf.distribute primitives used by the trainers (TensorFlow backend).

Everything here runs inside a `train_step` traced by `model.fit` under
`MirroredStrategy`, `MultiWorkerMirroredStrategy` or `TPUStrategy` (no
host-side Python in the step), and degrades to the identity / 0 / 1 under
the default single-replica strategy.

    all_gather             concat a tensor over replicas, gradients included
    gather_candidates      every replica's partners, then extra negatives
    local_batch_offset     first row of this replica in the gathered batch
    local_batch_indices    this replica's rows in the gathered batch
    global_batch_size      rows summed over replicas
    cross_replica_mean     the global batch's mean from per-replica means
    replica_id, num_replicas, in_multi_replica_context
    replica_seed           a stateless seed of this replica's own
    decorrelate_replicas   per-replica seeds for Keras' random layers
    scale_loss, unscale_loss
                           divide / multiply by the replica count
    build_optimizers       build optimizers in the strategy scope before fit
    apply_if               an optimizer update on the steps a condition holds
    assign_in_sync         assign step-computed state to mirrored variables
    reducible_logs         train_step logs that Keras can reduce multi-worker
    get_strategy           MirroredStrategy over devices/GPUs, or the default

The losses (`losses.Objective`) and the trainers (`models.Trainer`) use
them so that several replicas take one replica's step on the global batch;
docs/distributed.md gives the recipes and the traps they avoid.
"""

from keras_infomin.distribute.collectives import all_gather
from keras_infomin.distribute.collectives import cross_replica_mean
from keras_infomin.distribute.collectives import gather_candidates
from keras_infomin.distribute.collectives import global_batch_size
from keras_infomin.distribute.collectives import local_batch_indices
from keras_infomin.distribute.collectives import local_batch_offset
from keras_infomin.distribute.logs import reducible_logs
from keras_infomin.distribute.optimizers import apply_if
from keras_infomin.distribute.optimizers import assign_in_sync
from keras_infomin.distribute.optimizers import build_optimizers
from keras_infomin.distribute.replica import decorrelate_replicas
from keras_infomin.distribute.replica import in_multi_replica_context
from keras_infomin.distribute.replica import num_replicas
from keras_infomin.distribute.replica import replica_id
from keras_infomin.distribute.replica import replica_seed
from keras_infomin.distribute.scaling import scale_loss
from keras_infomin.distribute.scaling import unscale_loss
from keras_infomin.distribute.strategy import get_strategy

__all__ = [
    "all_gather",
    "apply_if",
    "assign_in_sync",
    "build_optimizers",
    "cross_replica_mean",
    "decorrelate_replicas",
    "gather_candidates",
    "get_strategy",
    "global_batch_size",
    "in_multi_replica_context",
    "local_batch_indices",
    "local_batch_offset",
    "num_replicas",
    "reducible_logs",
    "replica_id",
    "replica_seed",
    "scale_loss",
    "unscale_loss",
]
