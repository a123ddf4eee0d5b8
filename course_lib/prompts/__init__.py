"""Promptable segmentation, built small: a model that segments the object you click on (Segment Anything's idea).

The model is an ordinary U-Net whose input is the image plus two click maps (positive and negative
clicks); it learns from objects with simulated clicks, and is measured the way interactive segmentation
is measured: how many clicks until the mask is good enough (NoC@85, NoC@90).

>>> from course_lib import data, prompts
>>> test = data.load("synthetic-nuclei", "test", n=12, target="instance")
>>> prompts.first_click(mask)                         # (row, col, True): the object pixel farthest from its edge
>>> prompts.next_click(pred_mask, mask)               # where the prediction is most wrong, or None
>>> segmenter = prompts.ClickSegmenter(model)         # segmenter(image, [(r, c, True), ...]) -> H×W probabilities
>>> prompts.evaluate_clicks(model, test).summary()    # {'iou@1': ..., 'noc@85': ..., ...}

* :mod:`~course_lib.prompts.clicks`: clicks as triples, their maps, and the protocol's first and next click.
* :mod:`~course_lib.prompts.dataset`: :class:`ClickDataset`, training samples with simulated clicks.
* :mod:`~course_lib.prompts.evaluation`: :class:`ClickSegmenter`, :func:`evaluate_clicks`, :func:`noc`.
* :mod:`~course_lib.prompts.iterative`: :class:`IterativeClicks`, RITM's model-in-the-loop clicks for ``training.fit``.
"""

from __future__ import annotations

from .clicks import (CLICK_DEFAULTS, CLICK_ENCODINGS, Click, as_clicks, as_mask, boundary_distance, click_maps,
                     error_distance, first_click, next_click)
from .dataset import ClickDataset, instance_masks, simulate_clicks
from .evaluation import ClickEvaluation, ClickSegmenter, evaluate_clicks, mask_iou, noc
from .iterative import IterativeClicks, add_next_clicks

__all__ = [
    "Click",
    "CLICK_ENCODINGS",
    "CLICK_DEFAULTS",
    "as_clicks",
    "as_mask",
    "click_maps",
    "boundary_distance",
    "error_distance",
    "first_click",
    "next_click",
    "instance_masks",
    "simulate_clicks",
    "ClickDataset",
    "ClickSegmenter",
    "ClickEvaluation",
    "evaluate_clicks",
    "mask_iou",
    "noc",
    "IterativeClicks",
    "add_next_clicks",
]
