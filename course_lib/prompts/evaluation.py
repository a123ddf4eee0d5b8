"""A model as a click-to-segment tool, and the standard evaluation of interactive segmentation (NoC@IoU).

:class:`ClickSegmenter` wraps a model trained on images with two click channels: ``segmenter(image, clicks)``
gives the object's H×W probabilities. :func:`evaluate_clicks` runs the standard protocol on every object of
a dataset: the first click at the object's centre, then one corrective click at a time where the
prediction is most wrong, up to ``max_clicks``. It reports the mean IoU after each number of clicks and
NoC@85 / NoC@90, the mean number of clicks needed to reach that IoU (``max_clicks`` if never reached).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from ..validation import check_choice, check_fraction, check_int, check_positive
from .clicks import CLICK_DEFAULTS, CLICK_ENCODINGS, Click, click_maps, first_click, next_click
from .dataset import ClickDataset

__all__ = ["ClickSegmenter", "ClickEvaluation", "noc", "mask_iou", "evaluate_clicks"]


def _probabilities(logits: torch.Tensor) -> torch.Tensor:
    """N×H×W object probabilities from N×1×H×W (sigmoid) or N×2×H×W (softmax, class 1) logits."""
    if logits.ndim != 4 or logits.shape[1] not in (1, 2):
        raise ValueError(f"the model returned shape {tuple(logits.shape)}; a click model gives N×1×H×W or N×2×H×W logits.")
    return logits[:, 0].sigmoid() if logits.shape[1] == 1 else logits.softmax(1)[:, 1]


class ClickSegmenter:
    """A click model as a tool: ``segmenter(image, clicks)`` -> H×W probabilities of the clicked object.

    ``image`` is C×H×W floats in [0, 1]; ``clicks`` a list of ``(row, col, positive)`` triples. The clicks
    are drawn as two extra channels the way the model was trained (``radius``, ``encoding``); with no
    click at all the answer is all zeros. ``threshold`` turns probabilities into a mask (:meth:`mask`).
    """

    def __init__(self, model: nn.Module, threshold: float = 0.5, radius: float = CLICK_DEFAULTS["radius"],
                 encoding: str = CLICK_DEFAULTS["encoding"], batch_size: int = 64) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module trained on image + 2 click channels, got {type(model).__name__}.")
        self.model = model
        self.threshold = check_fraction("threshold", threshold, low_open=True, high_open=True)
        self.radius = check_positive("radius", radius)
        self.encoding = check_choice("encoding", encoding, CLICK_ENCODINGS)
        self.batch_size = check_int("batch_size", batch_size)

    def _inputs(self, image: Any, clicks: Any) -> torch.Tensor:
        """The model's input for one image: its channels, then the positive and negative click maps."""
        if not isinstance(image, torch.Tensor) or image.ndim != 3 or not image.is_floating_point():
            raise ValueError(f"image must be a float C×H×W tensor in [0, 1], got {getattr(image, 'shape', type(image).__name__)}.")
        return torch.cat([image.cpu().float(), click_maps(clicks, tuple(image.shape[-2:]), self.radius, self.encoding)])

    @torch.no_grad()
    def predict(self, images: Sequence[torch.Tensor], clicks: Sequence[Any]) -> torch.Tensor:
        """N×H×W probabilities for N images of one size and their N lists of clicks, in batches of ``batch_size``."""
        if len(images) != len(clicks):
            raise ValueError(f"clicks has {len(clicks)} lists for {len(images)} images; pass one list of clicks per image.")
        x = torch.stack([self._inputs(im, c) for im, c in zip(images, clicks)])
        device = next(self.model.parameters()).device
        was_training = self.model.training
        self.model.eval()
        try:
            out = [_probabilities(self.model(b.to(device))).cpu() for b in x.split(self.batch_size)]
        finally:
            self.model.train(was_training)
        probs = torch.cat(out)
        empty = torch.tensor([len(c) == 0 for c in clicks])
        probs[empty] = 0.0
        return probs

    def __call__(self, image: torch.Tensor, clicks: Any) -> torch.Tensor:
        """H×W probabilities of the object that ``clicks`` point at in ``image``."""
        return self.predict([image], [clicks])[0]

    def mask(self, image: torch.Tensor, clicks: Any) -> torch.Tensor:
        """The H×W bool mask: probabilities above ``threshold``."""
        return self(image, clicks) > self.threshold

    def __repr__(self) -> str:
        return (f"ClickSegmenter({type(self.model).__name__}, threshold={self.threshold}, radius={self.radius}, "
                f"encoding={self.encoding!r})")


def noc(ious: Any, target: float, max_clicks: int | None = None) -> int:
    """Number of clicks to reach IoU ``target``: the first k with ious[k-1] >= target; ``max_clicks`` if never.

    ``ious`` holds one object's IoU after 1, 2, ... clicks; ``max_clicks`` defaults to its length (only the
    first ``max_clicks`` values count).
    """
    values = np.asarray(ious, dtype=np.float64).reshape(-1)
    if values.size == 0 or np.isnan(values).any():
        raise ValueError("ious must hold one IoU per click count (1, 2, ...), none NaN; e.g. ious=[0.6, 0.8, 0.9].")
    check_fraction("target", target, low_open=True)
    limit = check_int("max_clicks", values.size if max_clicks is None else max_clicks)
    reached = np.nonzero(values[:limit] >= target)[0]
    return int(reached[0]) + 1 if reached.size else limit


def mask_iou(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Per-mask IoU of N×H×W bool masks (1.0 where both are empty)."""
    inter = (pred & true).flatten(1).sum(1).double()
    union = (pred | true).flatten(1).sum(1).double()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


@dataclass
class ClickEvaluation:
    """What :func:`evaluate_clicks` found: IoU curves, their mean, and NoC at each IoU target."""

    ious: np.ndarray  # objects × max_clicks: IoU of each object after 1..max_clicks clicks
    noc: dict[float, float]  # IoU target -> mean number of clicks to reach it
    max_clicks: int
    clicks: list[list[Click]] = field(default_factory=list, repr=False)  # every object's clicks

    @property
    def num_objects(self) -> int:
        """How many objects were evaluated."""
        return int(self.ious.shape[0])

    @property
    def mean_iou(self) -> np.ndarray:
        """The mean IoU over objects after 1, 2, ..., max_clicks clicks (index k-1 for k clicks)."""
        return self.ious.mean(0)

    def iou_at(self, clicks: int) -> float:
        """The mean IoU after ``clicks`` clicks."""
        return float(self.mean_iou[check_int("clicks", clicks, maximum=self.max_clicks) - 1])

    def summary(self) -> dict[str, float]:
        """The headline figures: mean IoU after 1, 2, 3 clicks, NoC at each target, and the number of objects."""
        out = {f"iou@{k}": round(self.iou_at(k), 4) for k in (1, 2, 3) if k <= self.max_clicks}
        out.update({f"noc@{round(100 * t)}": round(v, 3) for t, v in self.noc.items()})
        out["objects"] = self.num_objects
        return out

    def __str__(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.summary().items())


def _segmenter(model_or_segmenter: Any) -> Any:
    """A ClickSegmenter for a model; a segmenter or any callable(image, clicks) is used as it is."""
    if isinstance(model_or_segmenter, nn.Module):
        return ClickSegmenter(model_or_segmenter)
    if not callable(model_or_segmenter):
        raise ValueError(f"model_or_segmenter must be a click model, a ClickSegmenter or a callable(image, clicks), "
                         f"got {type(model_or_segmenter).__name__}.")
    return model_or_segmenter


def _predict_all(segmenter: Any, images: list[torch.Tensor], clicks: list[list[Click]]) -> torch.Tensor:
    """N×H×W bool masks of every object for its clicks (one batched pass for a ClickSegmenter)."""
    if isinstance(segmenter, ClickSegmenter):
        return segmenter.predict(images, clicks) > segmenter.threshold
    out = []
    for image, c in zip(images, clicks):
        p = segmenter(image, list(c))
        p = torch.as_tensor(np.asarray(p) if not isinstance(p, torch.Tensor) else p)
        out.append(p.bool() if p.dtype == torch.bool else p > 0.5)
    return torch.stack(out)


def evaluate_clicks(model_or_segmenter: Any, dataset: Any, max_clicks: int = 20,
                    iou_targets: Sequence[float] = (0.85, 0.9)) -> ClickEvaluation:
    """The standard interactive-segmentation evaluation of a click model on every object of ``dataset``.

    Each object starts with :func:`first_click`; after each prediction, :func:`next_click` adds a click
    where the mask is most wrong, up to ``max_clicks``. All objects go through the model together, one
    batched pass per click count. ``dataset`` is a :class:`ClickDataset` or an instance dataset (wrapped
    in one); ``model_or_segmenter`` a click model, a :class:`ClickSegmenter` or any callable(image, clicks)
    returning H×W probabilities (or a bool mask). NoC counts ``max_clicks`` for an object never reaching a target.
    """
    segmenter = _segmenter(model_or_segmenter)
    check_int("max_clicks", max_clicks)
    targets = [check_fraction("iou_targets", t, low_open=True) for t in iou_targets]
    data = dataset if isinstance(dataset, ClickDataset) else ClickDataset(dataset)
    pairs = [data.object(i) for i in range(data.num_objects)]
    images, truths = [p[0] for p in pairs], torch.stack([p[1] for p in pairs])
    clicks: list[list[Click]] = [[first_click(t)] for t in truths]
    ious = np.zeros((len(pairs), max_clicks))
    preds = torch.zeros_like(truths)
    todo = list(range(len(pairs)))  # objects whose clicks changed since their last prediction
    for k in range(max_clicks):
        if todo:
            preds[todo] = _predict_all(segmenter, [images[i] for i in todo], [clicks[i] for i in todo])
        ious[:, k] = mask_iou(preds, truths).numpy()
        todo = []
        for i in range(len(pairs)) if k + 1 < max_clicks else ():
            click = next_click(preds[i], truths[i], clicks[i])
            if click is not None:
                clicks[i].append(click)
                todo.append(i)
    scores = {t: float(np.mean([noc(row, t, max_clicks) for row in ious])) for t in targets}
    return ClickEvaluation(ious, scores, max_clicks, clicks)
