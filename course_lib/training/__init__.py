"""Training for segmentation: one loop (:class:`Learner`) with callbacks, and the ``fit`` front the lessons use.

Introduced in lesson 04 (after writing a training loop by hand); used by every training lesson.

* :mod:`~course_lib.training.engine`: ``Learner`` (the loop), ``Callback``, ``CancelFit``.
* :mod:`~course_lib.training.callbacks`: progress bar, live plot, history, early stopping, best weights,
  checkpoints, time budget, gradient clipping, LR schedules.
* :mod:`~course_lib.training.steps`: the step functions (segmentation, detection) and loss resolution.
* :mod:`~course_lib.training.evaluation`: ``evaluate``, ``validate``, ``predict``.
* :mod:`~course_lib.training.fitting`: ``fit``, ``fit_detection``, ``train_one_epoch``.

Shapes: images N×C×H×W; logits N×K×H×W (K classes) or N×1×H×W (binary); targets N×H×W class ids
(binary: 0/1). A batch from a loader is ``(images, targets, ...)`` or a dict with "image"/"mask".
"""

from .callbacks import (BestWeights, Checkpoint, EarlyStopping, GradientClipping, LivePlot, LRScheduler, ProgressBar,
                        Recorder, StepLimit, StepTimer, TimeBudget)
from .engine import EVENTS, Callback, CancelFit, Learner
from .evaluation import METRICS, evaluate, predict, validate
from .fitting import fit, fit_detection, train_one_epoch
from .history import History
from .steps import SegmentationStep, Step, detection_step

__all__ = [
    "METRICS", "History", "fit", "train_one_epoch", "validate", "evaluate", "predict", "fit_detection",
    "Learner", "Callback", "CancelFit", "EVENTS", "Step", "SegmentationStep", "detection_step",
    "Recorder", "GradientClipping", "BestWeights", "Checkpoint", "EarlyStopping", "TimeBudget", "StepLimit",
    "LRScheduler", "LivePlot", "ProgressBar", "StepTimer",
]
