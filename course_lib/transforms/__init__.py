"""Transforms for (image, target) pairs that keep masks aligned with their image.

Every transform here is called as ``transform(image, target) -> (image, target)``:

* ``image``: float C×H×W tensor (values in [0, 1] before :class:`Normalize`);
* ``target``: an integer H×W label map, an instance dict (``boxes``, ``labels``, ``masks`` N×H×W),
  or None.

Geometric transforms (resize, flip, rotate, scale, crop) move image and target together; label
maps and masks are resampled with nearest neighbour so no new label values appear (except the
``fill_label`` of pixels that enter from outside the image). Instance boxes are recomputed from
the moved masks, and instances whose mask vanished are dropped. Photometric transforms (colour
jitter, noise, blur) change the image only. Under the hood they use
``torchvision.transforms.v2`` with ``tv_tensors.Image`` and ``tv_tensors.Mask``.
Introduced in lesson 02.

Layout: :mod:`.base` (the pair protocol and what every transform shares), :mod:`.composition` (``Compose``,
``V2``), :mod:`.geometric`, :mod:`.photometric` (and normalisation), and :mod:`.pipelines` (ready-made
train/eval pipelines and batching).
"""

from __future__ import annotations

from .base import IMAGENET_MEAN, IMAGENET_STD, Target  # Target: the type of a target, for annotations
from .composition import V2, Compose
from .geometric import (RandomAffine, RandomCrop, RandomHorizontalFlip, RandomRotate90, RandomRotation, RandomScale,
                        RandomVerticalFlip, Resize)
from .photometric import ColorJitter, GaussianBlur, GaussianNoise, Normalize, compute_stats, denormalize
from .pipelines import STRENGTHS, collate_instances, eval_transforms, train_transforms

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Compose",
    "Resize",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomRotate90",
    "RandomRotation",
    "RandomScale",
    "RandomAffine",
    "RandomCrop",
    "ColorJitter",
    "GaussianNoise",
    "GaussianBlur",
    "Normalize",
    "V2",
    "denormalize",
    "compute_stats",
    "train_transforms",
    "eval_transforms",
    "collate_instances",
    "STRENGTHS",
]
