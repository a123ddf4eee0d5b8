"""Choosing between trained models (lesson 05): the classes a model gets most wrong, the best model within limits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .validation import check_int, check_optional, check_positive

__all__ = ["worst_classes", "pick_architecture"]


def worst_classes(cm: Any, class_names: Sequence[str], k: int = 3) -> list[str]:
    """The ``k`` class names with the lowest IoU in a confusion matrix (worst first); classes with no pixel are skipped."""
    from .metrics import iou_from_confusion

    k = check_int("k", k)
    per_class = iou_from_confusion(cm, average=None)
    if len(class_names) != len(per_class):
        raise ValueError(f"class_names has {len(class_names)} names for a {len(per_class)}-class confusion matrix; pass one per class.")
    scored = sorted((float(v), i) for i, v in enumerate(per_class.tolist()) if not math.isnan(v))
    return [class_names[i] for _, i in scored[:k]]


def pick_architecture(results: Sequence[dict[str, Any]], max_params: float | None = None,
                      min_speed: float | None = None) -> str | None:
    """The ``name`` of the best-``miou`` row with ``params <= max_params`` and ``images_per_s >= min_speed`` (None if none fits)."""
    max_params = check_optional(check_positive, "max_params", max_params)
    min_speed = check_optional(check_positive, "min_speed", min_speed)
    missing = [key for key in ("name", "miou", "params", "images_per_s") for row in results if key not in row]
    if missing:
        raise ValueError(f"every row needs name, miou, params and images_per_s; missing: {sorted(set(missing))}.")
    allowed = [r for r in results
               if (max_params is None or r["params"] <= max_params) and (min_speed is None or r["images_per_s"] >= min_speed)]
    return max(allowed, key=lambda r: r["miou"])["name"] if allowed else None
