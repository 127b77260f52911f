"""Packaging for keras_infomin."""

import pathlib

from setuptools import find_packages
from setuptools import setup

HERE = pathlib.Path(__file__).parent
version = {}
exec((HERE / "keras_infomin" / "version.py").read_text(), version)

setup(
    name="keras-infomin",
    version=version["__version__"],
    description=(
        "Contrastive representation learning built on mutual information, "
        "for Keras 3 and TensorFlow: MI bounds, critics, InfoMin views, "
        "learned views, tf.distribute and TF Hub export."
    ),
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["keras_infomin", "keras_infomin.*"]),
    python_requires=">=3.10",
    entry_points={
        "console_scripts": ["keras-infomin=keras_infomin.cli:entry_point"],
    },
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.9",
        "numpy",
        "scipy",
    ],
    extras_require={
        "datasets": ["tensorflow-datasets"],
        # tensorflow-hub 0.16 imports pkg_resources, which setuptools 81
        # removed.
        "hub": ["tensorflow-hub", "tf-keras", "setuptools<81"],
        "test": [
            "pytest",
            "pytest-xdist",
            "hypothesis",
            "scikit-learn",
            "scikit-image",
            "keras-cv==0.9.0",
            "matplotlib",
            "ruff",
            "tensorboard",
        ],
        "bench": ["torch==2.13.0", "torchvision==0.28.0"],
    },
)
