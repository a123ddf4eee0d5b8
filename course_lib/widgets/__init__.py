"""Interactive explorers for the lessons (ipywidgets); each also draws a static first view.

Every explorer returns an object whose widgets can be set from Python (that is how they are tested)
and which displays itself in a notebook.
"""

from __future__ import annotations

import importlib

__all__ = ["KernelExplorer", "kernel_explorer", "AugmentationExplorer", "augmentation_explorer",
           "ThresholdExplorer", "threshold_explorer", "ClickSegmentWidget", "click_segment_widget"]

_WHERE = {
    "KernelExplorer": "kernels", "kernel_explorer": "kernels",
    "AugmentationExplorer": "augment", "augmentation_explorer": "augment",
    "ThresholdExplorer": "threshold", "threshold_explorer": "threshold",
    "ClickSegmentWidget": "clicks", "click_segment_widget": "clicks",
}


def __getattr__(name: str):
    """Import an explorer's module only when it is first used (keeps ``import course_lib`` light)."""
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}; explorers: {', '.join(__all__)}")
