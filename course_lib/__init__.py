"""course_lib: the shared helper library of *Mastering Image Segmentation with Deep Learning*.

Import the topic you need, e.g. ``from course_lib import data, metrics, viz``.
Importing ``course_lib`` itself is cheap: no torch import happens until a topic is used.
"""

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "attention",
    "checks",
    "config",
    "data",
    "losses",
    "metrics",
    "models",
    "prompts",
    "runtime",
    "training",
    "transforms",
    "tuning",
    "viz",
    "widgets",
]
