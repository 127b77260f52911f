"""Families of views indexed by one value: what a sweep turns.

A `Knob` maps a value to a view layer (a layer or callable from an image
batch to a tuple of views). The named knobs are InfoMin's families
(Tian et al. 2020): the lower bound of the resized crop's area and the
colour-jitter strength (Sec. 4.2, on the SimCLR recipe), the distance
between two patches (Sec. 3.2) and the colour space split into luminance
and chrominance (Sec. 4.1). `get_knob("crop-scale", image_size=32)` builds
one by its command-line name.
"""

import dataclasses
import numbers
from collections.abc import Callable

from keras_infomin import views

# name -> (colour space, channel groups, label in tables and plots)
COLOUR_SPLITS = {
    "lab": ("lab", ((0,), (1, 2)), "L|ab"),
    "ycbcr": ("ycbcr", ((0,), (1, 2)), "Y|CbCr"),
    "ydbdr": ("ydbdr", ((0,), (1, 2)), "Y|DbDr"),
    "yiq": ("yiq", ((0,), (1, 2)), "Y|IQ"),
    "ypbpr": ("ypbpr", ((0,), (1, 2)), "Y|PbPr"),
    "luv": ("luv", ((0,), (1, 2)), "L|uv"),
    "xyz": ("xyz", ((1,), (0, 2)), "Y|XZ"),
    "hsv": ("hsv", ((2,), (0, 1)), "V|HS"),
    "rgb": ("rgb", ((0,), (1, 2)), "R|GB"),
}


def _format_value(value):
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return format(value, "g")
    return str(value)


@dataclasses.dataclass(frozen=True)
class Knob:
    """A family of views indexed by a value.

    Attributes:
        name: what the value is, for tables and axes (`"crop scale"`).
        views: function `value -> view layer` (a fresh layer each call).
        label: function `value -> str` for tables and plots.
        numeric: whether values lie on a numeric axis (plots, the spread
            of the best value over seeds); False for categories such as
            colour spaces.
        unit: unit of the value, for axes (`"px"`).

    Example:

    >>> knob = Knob("blur sigma", lambda s: views.Views(views.GaussianBlur(
    ...     (s, s), 3)))
    """

    name: str
    views: Callable
    label: Callable = _format_value
    numeric: bool = True
    unit: str = ""

    def axis_label(self):
        return f"{self.name} ({self.unit})" if self.unit else self.name


def as_knob(knob):
    """A `Knob` from a `Knob` or a plain `value -> view layer` function."""
    if isinstance(knob, Knob):
        return knob
    if callable(knob):
        name = getattr(knob, "__name__", "value")
        return Knob(name="value" if name == "<lambda>" else name, views=knob)
    raise TypeError(
        "`knob` must be a Knob, a knob name or a function from a value to "
        f"a view layer; received {knob!r}."
    )


def _check_fraction(name, value, low_open=True):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and (0 < value <= 1 if low_open else 0 <= value <= 1)
    if not ok:
        raise ValueError(f"{name} must lie in (0, 1]; received {value!r}.")


def crop_scale(image_size, **recipe):
    """The lower bound `s` of the resized crop's area, `scale=(s, 1)`.

    Views: `Views(SimCLRAugment(image_size, crop_scale=(s, 1), **recipe))`,
    the rest of the SimCLR recipe unchanged. Small `s`: crops that share
    little (low I_NCE).
    """

    def make(value):
        _check_fraction("crop scale", value)
        augment = views.SimCLRAugment(
            image_size, crop_scale=(float(value), 1.0), **recipe
        )
        return views.Views(augment, num_views=2)

    return Knob("crop scale", make)


def jitter_strength(image_size, **recipe):
    """The colour-jitter strength `s` of the SimCLR recipe.

    Views: `Views(SimCLRAugment(image_size, jitter_strength=s, **recipe))`:
    brightness, contrast and saturation `0.8 s`, hue `0.2 s`. Large `s`:
    views that share less colour (low I_NCE).
    """

    def make(value):
        if not isinstance(value, numbers.Real) or value < 0:
            raise ValueError(
                f"jitter strength must be a number >= 0; received {value!r}."
            )
        augment = views.SimCLRAugment(
            image_size, jitter_strength=float(value), **recipe
        )
        return views.Views(augment, num_views=2)

    return Knob("jitter strength", make)


def patch_distance(image_size, patch_size=None, direction="any"):
    """The distance in pixels between the corners of two patches.

    Views: `PatchPair(patch_size, distance, direction)` (default patches
    of half the image side). Distance 0: identical views.
    """
    if patch_size is None:
        patch_size = image_size // 2

    def make(value):
        return views.PatchPair(patch_size, float(value), direction=direction)

    return Knob("patch distance", make, unit="px")


def colour_space(image_size, crop_scale=0.3):
    """The colour space split into its luminance and chrominance views.

    Views: the same random resized crop (area `(crop_scale, 1)`) and flip
    for both, then `ChannelSplit(space, groups)`; values are names of
    `COLOUR_SPLITS` (`"lab"`, `"ydbdr"`, ...). The two views have
    different channels, so a sweep gives each its own encoder.
    """

    def make(value):
        if value not in COLOUR_SPLITS:
            raise ValueError(
                f"unknown colour space {value!r}; known: "
                f"{', '.join(COLOUR_SPLITS)}."
            )
        space, groups, _ = COLOUR_SPLITS[value]
        return views.Compose(
            [
                views.RandomResizedCrop(
                    image_size, image_size, scale=(crop_scale, 1.0)
                ),
                views.RandomHorizontalFlip(),
                views.ChannelSplit(space, groups=groups),
            ]
        )

    def label(value):
        split = COLOUR_SPLITS.get(value)
        return split[2] if split else str(value)

    return Knob("colour space", make, label=label, numeric=False)


KNOBS = {
    "crop-scale": crop_scale,
    "jitter": jitter_strength,
    "patch-distance": patch_distance,
    "colour-space": colour_space,
}


def get_knob(name, image_size):
    """A named knob (`KNOBS`) for images of side `image_size`."""
    if name not in KNOBS:
        raise ValueError(
            f"unknown knob {name!r}; known: {', '.join(KNOBS)}, or pass a "
            "function from a value to a view layer."
        )
    return KNOBS[name](image_size)


def parse_values(knob, text):
    """Values from a comma-separated string: numbers for numeric knobs."""
    items = [v.strip() for v in str(text).split(",") if v.strip()]
    if not items:
        raise ValueError("no values given: pass e.g. 0.08,0.2,0.5")
    if not knob.numeric:
        return items
    try:
        return [float(v) for v in items]
    except ValueError:
        raise ValueError(
            f"the {knob.name} values must be numbers; received {text!r}."
        ) from None
