"""Segmentation losses: BCE, cross-entropy, soft Dice, focal and CE + Dice, as functions and nn.Modules.

Introduced in lesson 03, used by every training lesson (``create_loss("combo")`` etc.).

Shapes (the same everywhere)
----------------------------
* binary: ``logits`` N×1×H×W or N×H×W (one raw score per pixel), ``target`` N×H×W with 0/1 (or soft values in
  [0, 1]); sigmoid inside.
* multi-class: ``logits`` N×C×H×W (C >= 2, raw scores), ``target`` N×H×W integer class ids; softmax inside.
* ``ignore_index``: target pixels with this value do not contribute (their loss and gradient are 0). If every
  pixel is ignored, a ``"mean"`` loss is 0 (PyTorch's own cross-entropy would give NaN).

Conventions compared with the references (tested in ``tests/test_losses.py``)
---------------------------------------------------------------------------
* :func:`bce_loss` = ``nn.BCEWithLogitsLoss(pos_weight=...)``; :func:`cross_entropy_loss` =
  ``nn.CrossEntropyLoss(weight=..., ignore_index=...)`` (weighted mean: divided by the summed weights).
* :func:`soft_dice_loss`: per class, counts summed over the whole batch,
  Dice = (2·Σp·t + smooth) / max(Σp + Σt + smooth, eps); loss = mean over classes of (1 − Dice), where a class
  with no target pixel in the batch contributes 0 (but still counts in the mean). Binary mode scores the
  foreground only. This is smp's ``DiceLoss`` (mode "binary"/"multiclass"): identical for ``smooth=0``; smp 0.6
  writes its smoothing on half the cardinality, so our ``smooth=2*s, eps=2*e`` equals smp's ``smooth=s, eps=e``.
* :func:`focal_loss`: binary = ``(1 − p_t)^gamma · BCE``, with ``alpha`` weighting positives by alpha and
  negatives by 1 − alpha; equals smp ``FocalLoss("binary")`` and ``torchvision.ops.sigmoid_focal_loss``.
  Multi-class = softmax focal loss ``−alpha[t] · (1 − p_t)^gamma · log p_t`` averaged over pixels (gamma=0 and no
  alpha gives cross-entropy). smp's multiclass FocalLoss differs: it sums one-vs-rest *sigmoid* focal losses.

Layout: :mod:`.functional` (the loss functions), :mod:`.modules` (their ``nn.Module`` forms, ``LOSSES`` and
``create_loss``), :mod:`.weights` (class weights from label maps) and :mod:`.inputs` (the shared input checks).
"""

from __future__ import annotations

from .functional import bce_loss, combined_loss, cross_entropy_loss, focal_loss, soft_dice_loss
from .modules import LOSSES, BCELoss, ComboLoss, CrossEntropyLoss, DiceLoss, FocalLoss, create_loss
from .weights import class_pixel_counts, median_frequency_weights

__all__ = [
    "bce_loss",
    "cross_entropy_loss",
    "soft_dice_loss",
    "focal_loss",
    "combined_loss",
    "BCELoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "ComboLoss",
    "LOSSES",
    "create_loss",
    "class_pixel_counts",
    "median_frequency_weights",
]
