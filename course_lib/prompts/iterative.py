"""Training with the model in the loop (RITM's iterative click sampling), as a callback of ``training.fit``.

Simulated clicks alone teach a model to answer made-up mistakes. RITM (Sofiiuk et al. 2022) lets the model
make its own: before a training step, the model (in eval mode, without gradients) predicts the batch,
the protocol's :func:`~course_lib.prompts.clicks.next_click` is added where each prediction is most wrong,
and this repeats 0..``max_iterations`` times; the step then learns from the batch with those clicks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..training import Callback
from ..training.steps import model_output, split_batch
from ..validation import check_choice, check_int, check_positive
from .clicks import CLICK_DEFAULTS, CLICK_ENCODINGS, click_maps, next_click

__all__ = ["IterativeClicks", "add_next_clicks"]


@torch.no_grad()
def add_next_clicks(model: torch.nn.Module, inputs: torch.Tensor, masks: torch.Tensor,
                    radius: float = CLICK_DEFAULTS["radius"], encoding: str = CLICK_DEFAULTS["encoding"]) -> torch.Tensor:
    """``inputs`` (N×(C+2)×H×W, click maps last) with one more click each, where ``model``'s prediction is most wrong."""
    was_training = model.training
    model.eval()
    try:
        logits = model_output(model(inputs))
    finally:
        model.train(was_training)
    preds = logits[:, 0] > 0 if logits.shape[1] == 1 else logits.argmax(1) == 1
    out = inputs.clone()
    shape = tuple(inputs.shape[-2:])
    for i in range(inputs.shape[0]):
        click = next_click(preds[i].cpu(), masks[i].cpu() > 0)
        if click is not None:
            out[i, -2:] = torch.maximum(out[i, -2:], click_maps([click], shape, radius, encoding).to(out.device))
    return out


class IterativeClicks(Callback):
    """Before each training step, add 0..``max_iterations`` clicks where the model itself is wrong (RITM).

    The number of extra clicks is drawn per batch from a generator seeded with ``seed``; ``radius`` and
    ``encoding`` must be the ones the dataset draws its clicks with.
    """

    order = -10  # before anything else looks at the batch

    def __init__(self, max_iterations: int = CLICK_DEFAULTS["iterations"], radius: float = CLICK_DEFAULTS["radius"],
                 encoding: str = CLICK_DEFAULTS["encoding"], seed: int = 0) -> None:
        self.max_iterations = check_int("max_iterations", max_iterations, minimum=0)
        self.radius = check_positive("radius", radius)
        self.encoding = check_choice("encoding", encoding, CLICK_ENCODINGS)
        self.seed = check_int("seed", seed, minimum=0)
        self.rng = np.random.default_rng(self.seed)

    def before_fit(self, learner: Any) -> None:
        """Start the draws again from ``seed``."""
        self.rng = np.random.default_rng(self.seed)

    def before_batch(self, learner: Any) -> None:
        """Replace the batch's inputs by ones with the model's corrective clicks added."""
        iterations = int(self.rng.integers(0, self.max_iterations + 1))
        if iterations == 0:
            return
        inputs, masks = split_batch(learner.batch)
        if masks is None or not isinstance(learner.batch, (tuple, list)):
            raise ValueError("IterativeClicks needs (inputs, masks) batches, as a ClickDataset gives.")
        inputs = inputs.to(learner.device)
        for _ in range(iterations):
            inputs = add_next_clicks(learner.model, inputs, masks, self.radius, self.encoding)
        learner.batch = (inputs, *learner.batch[1:])

    def __repr__(self) -> str:
        return f"IterativeClicks(max_iterations={self.max_iterations}, radius={self.radius}, encoding={self.encoding!r})"
