import csv
import math

import numpy as np
import pytest

from keras_infomin import analysis
from keras_infomin.analysis import knobs

IMAGES = np.random.default_rng(0).uniform(size=(4, 32, 32, 3)).astype("float32")


@pytest.mark.parametrize(
    "name, value, shapes",
    [
        ("crop-scale", 0.2, [(32, 32, 3)] * 2),
        ("jitter", 0.5, [(32, 32, 3)] * 2),
        ("patch-distance", 8.0, [(16, 16, 3)] * 2),
        ("colour-space", "lab", [(32, 32, 1), (32, 32, 2)]),
    ],
)
def test_named_knobs_make_views(name, value, shapes):
    knob = analysis.get_knob(name, image_size=32)
    views = knob.views(value)(IMAGES, training=True)
    assert [tuple(v.shape[1:]) for v in views] == shapes


def test_knob_values_are_checked():
    with pytest.raises(ValueError, match="crop scale"):
        analysis.get_knob("crop-scale", 32).views(0.0)
    with pytest.raises(ValueError, match="jitter"):
        analysis.get_knob("jitter", 32).views(-1.0)
    with pytest.raises(ValueError, match="unknown colour space 'cmyk'"):
        analysis.get_knob("colour-space", 32).views("cmyk")
    with pytest.raises(ValueError, match="unknown knob"):
        analysis.get_knob("blur", 32)


def test_labels_and_value_parsing():
    colour = analysis.get_knob("colour-space", 32)
    assert colour.label("ydbdr") == "Y|DbDr" and not colour.numeric
    assert analysis.parse_values(colour, "lab, rgb") == ["lab", "rgb"]
    crop = analysis.get_knob("crop-scale", 32)
    assert analysis.parse_values(crop, "0.08,0.5") == [0.08, 0.5]
    assert crop.label(0.5) == "0.5" and crop.numeric
    with pytest.raises(ValueError, match="numbers"):
        analysis.parse_values(crop, "0.1,big")
    with pytest.raises(ValueError, match="no values"):
        analysis.parse_values(crop, " , ")
    plain = knobs.as_knob(lambda v: None)
    assert plain.name == "value"
    with pytest.raises(TypeError, match="knob"):
        knobs.as_knob(3)


def test_reverse_u_fit_finds_a_known_parabola():
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = -0.5 * (x - 2.5) ** 2 + 0.7
    a, b, c, vertex = analysis.reverse_u_fit(x, y)
    np.testing.assert_allclose([a, b, c], [-0.5, 2.5, -2.425], atol=1e-9)
    assert math.isclose(vertex, 2.5)
    assert "reverse-U" in analysis.describe_fit((a, b, c, vertex), x)
    assert "no reverse-U" in analysis.describe_fit((0.5, 0, 0, 2.0), x)
    assert analysis.reverse_u_fit(x[:3], y[:3]) is None


def test_write_table(tmp_path):
    rows = [
        {"views": "L|ab", "mi": 1.23456, "sd": None},
        {"views": "R|GB", "mi": 4.0, "sd": 0.1, "extra": 7},
    ]
    columns = [
        ("views", "views", ""),
        ("mi", "I_NCE", ".2f"),
        ("sd", "sd", ".2f"),
    ]
    text = analysis.write_table(rows, tmp_path, "t", columns, ["a note"])
    assert "| L\\|ab | 1.23 | n/a |" in text  # pipes escaped, None as n/a
    assert text.endswith("a note")
    assert (tmp_path / "t.md").read_text().strip() == text
    with open(tmp_path / "t.csv") as f:
        read = list(csv.DictReader(f))
    assert read[1]["extra"] == "7" and read[0]["extra"] == ""
    with pytest.raises(ValueError, match="empty"):
        analysis.write_table([], tmp_path)
