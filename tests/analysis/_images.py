"""Small image folders for the workflow tests, made from real photos."""

import numpy as np


def write_image_folder(root, classes=4, per_split=None, size=16, seed=0):
    """Writes `root/split/class_k/i.png` (or `root/class_k/i.png`).

    Crops of scikit-learn's two sample photos, resized to `size` pixels.

    Args:
        root: a `pathlib.Path`.
        classes: number of class folders.
        per_split: dict `{split: images per class}`; a key `None` writes the
            classes directly under `root`. Default `{"train": 6, "test": 4}`.
        size: side of the images.
        seed: seed of the crops.

    Returns:
        `root` as a string.
    """
    from PIL import Image
    from sklearn.datasets import load_sample_images

    per_split = per_split or {"train": 6, "test": 4}
    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    for split, count in per_split.items():
        for label in range(classes):
            folder = root / (split or "") / f"class_{label}"
            folder.mkdir(parents=True)
            photo = photos[label % 2]
            for i in range(count):
                side = int(rng.integers(24, 96))
                top = int(rng.integers(0, photo.shape[0] - side))
                left = int(rng.integers(0, photo.shape[1] - side))
                crop = photo[top : top + side, left : left + side]
                Image.fromarray(crop).resize((size, size)).save(
                    folder / f"{i}.png"
                )
    return str(root)
