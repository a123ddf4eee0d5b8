"""Procedural, seeded datasets that look like real segmentation tasks: street scenes, nuclei, lesions.

One module per dataset (:mod:`.streets` with :mod:`.street_scene` and :mod:`.street_objects`,
:mod:`.nuclei`, :mod:`.lesions`), shared batched drawing helpers in :mod:`.drawing`, and the
seeded, lazily drawn Dataset in :mod:`.dataset` (which also serves ``photo-composites``).
"""

from __future__ import annotations

from .dataset import SYNTHETIC_DEFAULT_N, SyntheticDataset
from .lesions import LESION_CLASSES, render_lesions
from .nuclei import NUCLEI_CLASSES, render_nuclei
from .streets import STREET_CLASSES, render_streets

__all__ = [
    "STREET_CLASSES",
    "NUCLEI_CLASSES",
    "LESION_CLASSES",
    "SYNTHETIC_DEFAULT_N",
    "SyntheticDataset",
    "render_streets",
    "render_nuclei",
    "render_lesions",
]
