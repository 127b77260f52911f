"""The `keras-infomin` command: quick runs in a subprocess, bad input."""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from keras_infomin import cli
from keras_infomin.cli import pretrain
from tests.analysis._images import write_image_folder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SIZE = ["--image-size", "16"]


def keras_infomin(*args):
    """Runs `python -m keras_infomin.cli ARGS` from the repository root."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "keras_infomin.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def our_lines(stderr):
    """stderr without TensorFlow's start-up log lines."""
    return [
        line
        for line in stderr.splitlines()
        if line.strip()
        and not line.startswith(("I0000", "W0000", "WARNING: All log"))
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "images"
    return write_image_folder(root, 4, {"train": 16, "test": 8}, size=16)


@pytest.fixture(scope="module")
def pretrained(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain") / "run"
    done = keras_infomin("pretrain", folder, "--quick", *SIZE, "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    return str(out), done


def test_pretrain_writes_model_export_and_probe(pretrained):
    out, done = pretrained
    for name in ("model.keras", "probe.png", "history.csv"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    assert os.path.isfile(os.path.join(out, "hub", "saved_model.pb"))
    with open(os.path.join(out, "probe.json")) as f:
        accuracies = json.load(f)
    for who in ("model", "pixels"):
        for key in ("linear", "knn"):
            hits = accuracies[who][key] * 32  # 32 held-out images
            assert abs(hits - round(hits)) < 1e-6
    assert "linear probe" in done.stdout
    assert "Traceback" not in done.stderr


def test_probe_and_export_read_the_pretrained_model(
    pretrained, folder, tmp_path
):
    out, _ = pretrained
    model = os.path.join(out, "model.keras")
    result = str(tmp_path / "probe.json")
    done = keras_infomin(
        "probe",
        model,
        folder,
        *SIZE,
        "--train-images",
        "32",
        "--test-images",
        "16",
        "--out",
        result,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    accuracies = json.load(open(result))
    assert accuracies["k"] == 32 and 0.0 <= accuracies["linear"] <= 1.0
    assert f"{accuracies['knn']:.4f}" in done.stdout

    target = str(tmp_path / "exported")
    done = keras_infomin("export", model, target)
    assert done.returncode == 0, done.stderr[-3000:]
    import keras

    from keras_infomin import export

    loaded = export.load_hub(target)
    images = np.random.default_rng(0).uniform(size=(2, 16, 16, 3))
    expected = keras.saving.load_model(model)(images.astype("float32"))
    np.testing.assert_allclose(
        loaded(images.astype("float32")), expected, rtol=1e-4, atol=1e-5
    )


def test_export_refuses_an_existing_folder(pretrained, tmp_path, capsys):
    out, _ = pretrained
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    model = os.path.join(out, "model.keras")
    status, lines = run_here(capsys, "export", model, str(target))
    assert status == 1 and len(lines) == 1, lines
    assert lines[0].startswith("keras-infomin export: error: DIR:")
    assert (target / "notes.txt").read_text() == "keep me"


def test_sweep_quick(folder, tmp_path):
    out = str(tmp_path / "sweep")
    done = keras_infomin(
        "sweep",
        folder,
        "--knob",
        "patch-distance",
        "--values",
        "4",
        "--quick",
        *SIZE,
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("runs.json", "summary.csv", "information_plane.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    assert "sweet spot: patch distance" in done.stdout
    store = json.load(open(os.path.join(out, "runs.json")))
    assert [r["value"] for r in store["runs"]] == [4.0]


def run_here(capsys, *args):
    """`cli.main` in this process: (status, stderr lines)."""
    with pytest.raises(SystemExit) as stop:
        sys.exit(cli.main(list(args)))
    return stop.value.code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            [
                "sweep",
                "missing/folder",
                "--knob",
                "crop-scale",
                "--values",
                "0.2",
            ],
            "DATA: folder 'missing/folder' does not exist",
        ),
        (
            ["sweep", "{folder}", "--knob", "crop-scale", "--values", "0.2,x"],
            "values must be numbers",
        ),
        (["probe", "{model}.npy", "{folder}"], "is not a Keras model file"),
        (["probe", "{folder}", "{folder}"], "is not a Keras model file"),
        (["probe", "{zip}", "{folder}"], "could not be loaded"),
        (["export", "nowhere.keras", "out"], "does not exist"),
    ],
)
def test_bad_input_is_one_line(capsys, folder, tmp_path, args, message):
    np.save(tmp_path / "model.npy", np.zeros(3))
    archive = tmp_path / "other.keras"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "not a model")
    paths = {
        "folder": folder,
        "model": str(tmp_path / "model"),
        "zip": str(archive),
    }
    status, lines = run_here(capsys, *[a.format(**paths) for a in args])
    assert status == 1
    assert len(lines) == 1 and message in lines[0], lines
    assert lines[0].startswith(f"keras-infomin {args[0]}: error:")


@pytest.mark.parametrize(
    "args, message",
    [
        (["pretrain", "x", "--method", "byol"], "invalid choice: 'byol'"),
        (["sweep", "x", "--knob", "blur", "--values", "1"], "invalid choice"),
        (["probe"], "required"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_options_are_one_line(capsys, args, message):
    status, lines = run_here(capsys, *args)
    assert status == 2
    assert len(lines) == 1 and message in lines[0], lines


def test_help_lists_every_command():
    parser = cli.build_parser()
    text = parser.format_help()
    for name in ("pretrain", "probe", "export", "sweep"):
        assert name in text


@pytest.mark.parametrize("method", ["moco", "infomin-aug"])
def test_other_methods_build(method):
    parser = cli.build_parser()
    args = parser.parse_args(
        ["pretrain", "x", "--method", method, "--quick", *SIZE]
    )
    pretrain._quick(args)
    model = pretrain.build_model(args)
    images = np.random.default_rng(0).uniform(size=(16, 16, 16, 3))
    features = model(images.astype("float32"))
    assert features.shape[0] == 16
    assert model.queue_size == 64
    assert model.temperature == (0.2 if method == "moco" else 0.15)
