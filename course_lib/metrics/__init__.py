"""Segmentation metrics: confusion matrix, IoU, Dice, pixel accuracy, mean class accuracy, boundary scores, instance
mask AP, panoptic quality, and binary scores inside a field of view (sensitivity, specificity, ROC AUC, best threshold,
clDice, recall by vessel width).

One package, one module per concern (each states its conventions in its docstring):

* :mod:`.semantic`: label maps: ``confusion_matrix``, ``iou``, ``dice``, ``pixel_accuracy``, ``mean_class_accuracy``,
  the ``*_from_confusion`` scores and the running ``SegmentationMeter``. The one Dice of the library:
  ``dice(pred, target, 2, average="binary")`` is the foreground Dice of two binary masks (1.0 when both are empty).
* :mod:`.boundary`: ``boundary_f1`` and ``hausdorff95`` of masks or label maps.
* :mod:`.instance`: ``mask_iou_matrix``, ``match_instances`` and COCO-style mask AP.
* :mod:`.panoptic`: ``to_panoptic`` maps, ``panoptic_quality`` (PQ = SQ × RQ, COCO's definition) and
  ``segment_quality`` of one thing class from two instance-id maps.
* :mod:`.binary`: scores of a binary prediction inside a mask (``binary_scores``, ``roc_auc``, ``best_threshold``;
  target value ``IGNORE`` = 255 is not scored).
* :mod:`.thin_structures`: ``cldice``, ``vessel_width_map`` and ``recall_by_width`` for vessels.
* :mod:`.inputs`: the argument conversion and checks they share.
"""

from __future__ import annotations

from .binary import IGNORE, best_threshold, binary_scores, roc_auc
from .boundary import boundary_f1, hausdorff95
from .instance import (
    MatchResult,
    mask_ap_per_class,
    mask_average_precision,
    mask_iou_matrix,
    masks_from_instance_ids,
    match_instances,
)
from .panoptic import panoptic_quality, segment_quality, to_panoptic
from .semantic import (
    SegmentationMeter,
    accuracy_from_confusion,
    confusion_matrix,
    dice,
    dice_from_confusion,
    iou,
    iou_from_confusion,
    mean_class_accuracy,
    pixel_accuracy,
)
from .thin_structures import WidthRecall, cldice, recall_by_width, vessel_width_map

__all__ = [
    "confusion_matrix",
    "iou",
    "dice",
    "pixel_accuracy",
    "mean_class_accuracy",
    "iou_from_confusion",
    "dice_from_confusion",
    "accuracy_from_confusion",
    "SegmentationMeter",
    "boundary_f1",
    "hausdorff95",
    "mask_iou_matrix",
    "MatchResult",
    "match_instances",
    "masks_from_instance_ids",
    "mask_ap_per_class",
    "mask_average_precision",
    "to_panoptic",
    "panoptic_quality",
    "segment_quality",
    "IGNORE",
    "binary_scores",
    "roc_auc",
    "best_threshold",
    "cldice",
    "vessel_width_map",
    "WidthRecall",
    "recall_by_width",
]
