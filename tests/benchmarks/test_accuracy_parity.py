"""The accuracy-parity study (`benchmarks/accuracy_parity.py`): its quick
run, and the PyTorch reference's recipe against the library's."""

import importlib.util
import math
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
BENCHMARKS = os.path.join(ROOT, "benchmarks")
ARCHIVE = os.path.join(ROOT, "..", "shared", "data", "cifar10-jpeg.tar.gz")


def _module(name):
    if BENCHMARKS not in sys.path:
        sys.path.insert(0, BENCHMARKS)
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(BENCHMARKS, f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _torch_reference():
    """The PyTorch side, or a skip when the `bench` extra is missing."""
    pytest.importorskip("torch")
    pytest.importorskip("PIL")
    module = _module("accuracy_parity_torch")
    try:
        module.import_transforms()
    except ImportError:
        pytest.skip("torchvision is not installed (the `bench` extra)")
    return module


needs_data = pytest.mark.skipif(
    not os.path.isfile(ARCHIVE), reason="CIFAR-10 JPEG archive not found"
)


def _check_quick_run(summary, frameworks):
    results = summary["results"]
    assert {(r["fw"], r["method"]) for r in results} == {
        (fw, m) for fw in frameworks for m in ("simclr", "moco")
    }
    for r in results:
        assert 0.0 <= r["knn"] <= 1.0
        assert r["epoch_seconds"] > 0
        assert len(r["mi"]) == 1 and math.isfinite(r["mi"][0])


def _has_torch_reference():
    try:
        _torch_reference()
    except pytest.skip.Exception:
        return False
    return True


@needs_data
def test_quick_run():
    """The library side always; PyTorch's beside it where installed."""
    parity = _module("accuracy_parity")
    if _has_torch_reference():
        frameworks = ["keras", "torch"]
    else:  # CI without the `bench` extra
        frameworks = ["keras"]
    summary = parity.main(
        ["--quick", "--frameworks", ",".join(frameworks), "--archive", ARCHIVE]
    )
    _check_quick_run(summary, frameworks)
    if frameworks == ["keras"]:
        assert summary["verdicts"] == {}  # nothing to compare against
    for verdict in summary["verdicts"].values():
        assert verdict["time_ratio"] > 0 and verdict["cpu_time_ratio"] > 0
        assert verdict["pass"] == (
            abs(verdict["difference"]) <= verdict["spread"]
        )


def test_data_digest_tells_subsets_apart(tmp_path):
    parity = _module("accuracy_parity")
    x = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    y = np.array([0, 1])
    paths = [tmp_path / f"{i}.npz" for i in range(3)]
    np.savez(paths[0], x_train=x, y_train=y)
    np.savez(paths[1], x_train=x, y_train=y)
    np.savez(paths[2], x_train=x[::-1], y_train=y)
    digests = [parity.data_digest(p) for p in paths]
    assert digests[0] == digests[1] != digests[2]


def test_torch_network_matches_library_encoder_and_head():
    torch_side = _torch_reference()
    parity = _module("accuracy_parity")
    args = parity.parse_args(["--quick", "--method", "simclr"])
    model = parity.build_model(args)
    model.build((None, 32, 32, 3))
    library = [
        tuple(w.shape)
        for layer in (model.encoder, model.projectors[0])
        for w in layer.trainable_weights
    ]
    reference = torch_side.Embedder(args.width)
    torch_shapes = [tuple(p.shape) for p in reference.parameters()]
    # Same trainable parameters, layer by layer (up to layout).
    assert sorted(sum(library, ())) == sorted(sum(torch_shapes, ()))
    assert sum(np.prod(s) for s in library) == sum(
        np.prod(s) for s in torch_shapes
    )
    # Same initial scale of the convolutions (He-normal, fan-in).
    conv = reference.encoder.stem.weight.detach().numpy()
    kernel = np.asarray(model.encoder._stem.kernel)
    assert np.std(conv) == pytest.approx(np.std(kernel), rel=0.35)
    assert np.std(kernel) == pytest.approx(math.sqrt(2 / 27), rel=0.35)


def test_torch_losses_equal_the_library_losses():
    torch_side = _torch_reference()
    import torch

    parity = _module("accuracy_parity")
    rng = np.random.default_rng(0)
    n, dim, queue_size = 8, 128, 32
    za, zb = (rng.normal(size=(n, dim)).astype("float32") for _ in range(2))

    # SimCLR: the library's loss is minus the InfoNCE bound, which is
    # log(N) minus the cross-entropy.
    args = parity.parse_args(["--quick", "--method", "simclr"])
    model = parity.build_model(args)
    loss, _ = model.contrastive_terms([za, zb])
    reference = torch_side.simclr_loss(
        torch.from_numpy(za), torch.from_numpy(zb), args.simclr_temperature
    )
    assert float(loss) + math.log(n) == pytest.approx(
        float(reference), rel=1e-5
    )

    # MoCo: one query / key direction against the same queue.
    args = parity.parse_args(["--quick", "--method", "moco"])
    args.queue = queue_size
    model = parity.build_model(args)
    model.build((None, 32, 32, 3))
    queue = rng.normal(size=(queue_size, dim)).astype("float32")
    queue /= np.linalg.norm(queue, axis=1, keepdims=True)
    model.queue.assign(queue)
    key = zb / np.linalg.norm(zb, axis=1, keepdims=True)
    estimate = model.queue_bound(za, key)
    reference_moco = torch_side.MoCo(
        torch.nn.Identity(), queue_size, args.momentum, args.moco_temperature
    )
    reference_moco.queue = torch.from_numpy(queue)
    reference = reference_moco.bound_loss(
        torch.from_numpy(za), torch.from_numpy(key)
    )
    assert float(model.objective.loss(estimate)) + math.log(
        1 + queue_size
    ) == pytest.approx(float(reference), rel=1e-5)
