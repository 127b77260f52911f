"""Choosing a `tf.distribute` strategy for the trainers.

One pitfall shapes `get_strategy`: every `tf.distribute.MirroredStrategy`
created with its default cross-device ops numbers its collective operations
from the same starting keys. When a process creates a second strategy (a
test suite, a notebook cell run twice) and runs a different program with
it, the runtime matches the new collectives with the old ones' cached
shapes and fails with "Shape mismatch in the collective instance ...",
after which every collective in the process is aborted. `get_strategy`
therefore gives each strategy it creates collective keys of its own.
"""

import itertools

import tensorflow as tf

# Group keys handed to strategies created here; far above the keys (1, 2,
# ...) that strategies created directly with TensorFlow start from.
_GROUP_KEYS = itertools.count(start=100_000, step=1_000)


def _device_key(name):
    try:
        spec = tf.DeviceSpec.from_string(name)
    except ValueError:
        return None
    if spec.device_type is None or spec.device_index is None:
        return None
    return (
        spec.job,
        spec.replica,
        spec.task,
        spec.device_type.upper(),
        spec.device_index,
    )


def _local_key(key):
    # Names given without a job ("/gpu:1") match the local devices.
    return (None, None, None) + key[3:]


def get_strategy(devices=None):
    """Returns a strategy over the given devices, the GPUs, or the default.

    - `devices` given: a `tf.distribute.MirroredStrategy` over exactly these
      (logical) devices, e.g. `["/gpu:0", "/gpu:1"]`, or `["/cpu:0",
      "/cpu:1"]` after splitting the CPU with
      `tf.config.set_logical_device_configuration`.
    - otherwise, with two or more visible GPUs: a `MirroredStrategy` over all
      of them (one replica per GPU, batches split between them);
    - otherwise (CPU only, or one GPU): the current strategy, which outside
      any `strategy.scope()` is TensorFlow's default single-replica strategy;
      it places work on the GPU when there is one and adds no overhead.

    Strategies created here use collective keys no other strategy of the
    process uses (see the module docstring), so creating several in one
    process is safe.

    Multi-worker (`MultiWorkerMirroredStrategy`) and TPU strategies need a
    cluster description and are created directly with TensorFlow; every
    helper of `keras_infomin.distribute` works under them.

    Args:
        devices: optional non-empty list of device names.

    Returns:
        A `tf.distribute.Strategy`.

    Example:

    ```python
    strategy = get_strategy()
    with strategy.scope():
        model = build_trainer()
        model.compile(optimizer="adam")
    model.fit(dataset.batch(256 * strategy.num_replicas_in_sync))
    ```
    """
    if devices is None:
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) > 1:
            return _mirrored([g.name for g in gpus])
        return tf.distribute.get_strategy()
    if isinstance(devices, str) or not isinstance(devices, (list, tuple)):
        raise TypeError(
            "`devices` must be a list of device names such as "
            f"['/gpu:0', '/gpu:1']; received {devices!r}."
        )
    if not devices:
        raise ValueError(
            "`devices` must name at least one device; received an empty "
            "list. Pass devices=None to choose automatically."
        )
    available = {}
    for device in tf.config.list_logical_devices():
        key = _device_key(device.name)
        available[key] = device.name
        available[_local_key(key)] = device.name
    resolved = []
    for name in devices:
        key = _device_key(name) if isinstance(name, str) else None
        if key is None or key not in available:
            raise ValueError(
                f"`devices` contains {name!r}, which is not a visible "
                "logical device; available devices: "
                f"{sorted(set(available.values()))}."
            )
        resolved.append(available[key])
    if len(set(resolved)) != len(resolved):
        raise ValueError(
            f"`devices` names the same device twice: {list(devices)}."
        )
    return _mirrored(resolved)


def _cross_device_ops(devices):
    types = {tf.DeviceSpec.from_string(d).device_type.upper() for d in devices}
    if types != {"CPU"} and types != {"GPU"}:
        # Mixed CPU/GPU: TensorFlow's own choice, without collective keys.
        return tf.distribute.ReductionToOneDevice()
    try:
        from tensorflow.python.distribute import collective_util
        from tensorflow.python.distribute import cross_device_ops
        from tensorflow.python.distribute import cross_device_utils

        implementation = collective_util.CommunicationImplementation.AUTO
        virtual_gpus = len(tf.config.list_physical_devices("GPU")) < len(
            tf.config.list_logical_devices("GPU")
        )
        if types == {"CPU"} or virtual_gpus:
            implementation = collective_util.CommunicationImplementation.RING
        keys = cross_device_utils.CollectiveKeys(
            group_key_start=next(_GROUP_KEYS)
        )
        return cross_device_ops.CollectiveAllReduce(
            devices=list(devices),
            group_size=len(devices),
            options=collective_util.Options(implementation=implementation),
            collective_keys=keys,
        )
    except (ImportError, AttributeError, TypeError):  # internals moved
        return None


def _mirrored(devices):
    ops = _cross_device_ops(devices)
    if ops is None:
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.MirroredStrategy(devices, cross_device_ops=ops)
