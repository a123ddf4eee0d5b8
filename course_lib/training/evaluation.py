"""Scoring and prediction: ``evaluate`` / ``validate`` a model on a loader, ``predict`` label maps.

Shapes: images N×C×H×W; logits N×K×H×W (K classes) or N×1×H×W (binary); targets N×H×W class ids.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn

from ..runtime import resolve_device
from ..validation import check_int, check_optional
from .steps import model_output, resolve_loss, split_batch, to_labels

__all__ = ["METRICS", "metric_value", "score_loader", "evaluate", "validate", "predict"]

METRICS = ("miou", "dice", "pixel_accuracy", "mean_accuracy", "fg_iou", "fg_dice")


def metric_value(scores: Mapping[str, Any], name: str) -> float:
    """The figure ``name`` (one of METRICS) from the scores of :func:`evaluate`."""
    if name in ("fg_iou", "fg_dice"):
        per_class = scores["per_class_iou" if name == "fg_iou" else "per_class_dice"]
        if len(per_class) != 2:
            raise ValueError(f"metric={name!r} is for binary segmentation (2 classes); use 'miou' or 'dice'.")
        return scores[name]
    return float(scores[name])


def _meter_scores(meter: Any, ignore_index: int | None) -> dict[str, Any]:
    """The confusion-matrix scores of a filled ``SegmentationMeter`` (plus fg_iou/fg_dice for 2 classes)."""
    from ..metrics import dice_from_confusion, iou_from_confusion

    scores = meter.compute()
    result = {key: scores[key] for key in ("miou", "dice", "pixel_accuracy", "mean_accuracy", "confusion_matrix")}
    result["per_class_iou"] = [float(v) for v in scores["per_class_iou"]]
    result["per_class_dice"] = [float(v) for v in scores["per_class_dice"]]
    if meter.num_classes == 2:
        cm = scores["confusion_matrix"]
        result["fg_iou"] = float(iou_from_confusion(cm, "binary", ignore_index))
        result["fg_dice"] = float(dice_from_confusion(cm, "binary", ignore_index))
    return result


def _target_labels(target: torch.Tensor) -> torch.Tensor:
    """N×H×W int64 class ids from N×H×W or N×1×H×W targets."""
    if target.ndim == 4 and target.shape[1] == 1:
        target = target.reshape(target.shape[0], *target.shape[-2:])
    return target.long()


@torch.no_grad()
def score_loader(model: nn.Module, loader: Iterable, device: torch.device, loss_fn: Callable | None = None,
                 num_classes: int | None = None, ignore_index: int | None = None, metric_fn: Callable | None = None,
                 threshold: float = 0.5, want_confusion: bool = True) -> dict[str, Any]:
    """One pass over ``loader`` in eval mode: mean loss, mean ``metric_fn``, and confusion-matrix scores."""
    from ..metrics import SegmentationMeter

    was_training, meter = model.training, None
    totals = {"loss": 0.0, "metric": 0.0}
    seen = 0
    model.eval()
    try:
        for batch in loader:
            images, target = split_batch(batch)
            if target is None:
                raise ValueError("the evaluation loader yields no targets; yield (images, masks) pairs.")
            images, target = images.to(device, non_blocking=True), target.to(device, non_blocking=True)
            logits, n = model_output(model(images)), images.shape[0]
            if loss_fn is not None:
                totals["loss"] += float(loss_fn(logits, target)) * n
            if metric_fn is not None:
                totals["metric"] += float(metric_fn(logits, target)) * n
            if want_confusion:
                if meter is None:
                    k = num_classes if num_classes is not None else max(int(logits.shape[1]), 2)
                    meter = SegmentationMeter(k, ignore_index)
                meter.update(to_labels(logits, threshold), _target_labels(target))
            seen += n
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("the evaluation loader yielded no batches; check the dataset is not empty.")
    result: dict[str, Any] = {"images": seen}
    result.update({key: totals[key] / seen for key, fn in (("loss", loss_fn), ("metric", metric_fn)) if fn is not None})
    if meter is not None:
        result.update(_meter_scores(meter, ignore_index))
    return result


def evaluate(model: nn.Module, loader: Iterable, num_classes: int | None = None, device: Any = None,
             ignore_index: int | None = None, threshold: float = 0.5) -> dict[str, Any]:
    """Scores of ``model`` on ``loader``: miou, dice, pixel_accuracy, mean_accuracy, per-class IoU/Dice, confusion matrix.

    ``num_classes`` defaults to the model's output channels (2 for a one-channel binary model, thresholded
    at ``threshold``). Binary models also get ``fg_iou`` and ``fg_dice`` (foreground = class 1).
    """
    check_optional(check_int, "num_classes", num_classes)
    dev = resolve_device(device)
    model.to(dev)
    return score_loader(model, loader, dev, None, num_classes, ignore_index, None, threshold)


def validate(model: nn.Module, loader: Iterable, loss_fn: Callable | str | None = None, num_classes: int | None = None,
             device: Any = None, ignore_index: int | None = None, threshold: float = 0.5) -> dict[str, Any]:
    """Like :func:`evaluate`, plus the mean ``loss`` over the loader (what :func:`fit` runs after each epoch)."""
    check_optional(check_int, "num_classes", num_classes)
    dev = resolve_device(device)
    model.to(dev)
    return score_loader(model, loader, dev, resolve_loss(loss_fn, ignore_index), num_classes, ignore_index, None, threshold)


# ------------------------------------------------------------------------------------------------ predict
def _predict_batch(model: nn.Module, x: torch.Tensor, device: torch.device, return_probs: bool,
                   threshold: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Labels (and probabilities) of one N×C×H×W batch, on the CPU."""
    if not x.is_floating_point():
        raise ValueError(f"images have dtype {x.dtype}; convert them to float (e.g. x.float() / 255) as in training.")
    logits = model_output(model(x.to(device)))
    probs = None
    if return_probs:
        probs = (torch.sigmoid(logits) if logits.shape[1] == 1 else logits.softmax(dim=1)).cpu()
    return to_labels(logits, threshold).cpu(), probs


def _join(outs: list[tuple[torch.Tensor, torch.Tensor | None]], single: bool, return_probs: bool) -> Any:
    """One result from per-batch outputs: a single map, one stacked batch, or lists for mixed sizes."""
    labels, probs = [o[0] for o in outs], [o[1] for o in outs]
    if single:
        out_l, out_p = labels[0][0], (probs[0][0] if return_probs else None)  # type: ignore[index]
    elif len({tuple(t.shape[1:]) for t in labels}) == 1:
        out_l = torch.cat(labels)
        out_p = torch.cat(probs) if return_probs else None  # type: ignore[arg-type]
    else:
        out_l = [t for b in labels for t in b]
        out_p = [t for b in probs for t in b] if return_probs else None  # type: ignore[union-attr]
    return (out_l, out_p) if return_probs else out_l


def _batches(data: Any, batch_size: int) -> tuple[Iterable[torch.Tensor], bool]:
    """The N×C×H×W batches to predict, and whether the input was one C×H×W image."""
    import numpy as np

    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    if isinstance(data, torch.Tensor):
        if data.ndim == 3:
            return [data[None]], True
        if data.ndim != 4:
            raise ValueError(f"images have shape {tuple(data.shape)}; pass C×H×W, N×C×H×W, a list of images or a loader.")
        return list(data.split(batch_size)), False
    if isinstance(data, (list, tuple)) and data and all(isinstance(t, torch.Tensor) and t.ndim == 3 for t in data):
        return [t[None] for t in data], False
    if isinstance(data, Iterable):
        return (split_batch(batch)[0] for batch in data), False
    raise TypeError(f"images_or_loader of type {type(data).__name__} is not supported; pass a tensor, a list of tensors or a loader.")


@torch.no_grad()
def predict(model: nn.Module, images_or_loader: Any, device: Any = None, return_probs: bool = False,
            threshold: float = 0.5, batch_size: int = 16) -> Any:
    """Label maps from ``model``: a C×H×W image gives H×W, an N×C×H×W batch or a loader gives N×H×W (on CPU).

    With ``return_probs=True`` returns ``(labels, probs)``: softmax N×K×H×W, or sigmoid N×1×H×W for a
    one-channel model (thresholded at ``threshold``). A list of differently sized images gives lists.
    """
    check_int("batch_size", batch_size)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold={threshold!r} must be between 0 and 1, e.g. 0.5.")
    dev = resolve_device(device)
    model.to(dev)
    was_training = model.training
    model.eval()
    try:
        batches, single = _batches(images_or_loader, batch_size)
        outs = [_predict_batch(model, x, dev, return_probs, threshold) for x in batches]
        if not outs:
            raise ValueError("the loader yielded no batches.")
        return _join(outs, single, return_probs)
    finally:
        model.train(was_training)
