"""The click widget's test picture and an honest click segmenter, shared by the widget tests and the browser test
(which copies this file next to its notebook, so the kernel imports the very same code)."""

import numpy as np
from scipy import ndimage

H, W = 40, 56
A_CENTRE, A_RADIUS, B_CENTRE, B_RADIUS = (20, 18), 11, (20, 38), 10  # centres 20 px apart: the discs touch


def two_discs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(1×H×W image, disc A mask, disc B mask): a bright disc A touching a dimmer disc B on a dark background."""
    rows, cols = np.mgrid[:H, :W]
    a = (rows - A_CENTRE[0]) ** 2 + (cols - A_CENTRE[1]) ** 2 <= A_RADIUS ** 2
    b = ((rows - B_CENTRE[0]) ** 2 + (cols - B_CENTRE[1]) ** 2 <= B_RADIUS ** 2) & ~a
    gray = np.where(a, 0.75, np.where(b, 0.5, 0.15)) + np.random.default_rng(seed).normal(scale=0.02, size=(H, W))
    return np.clip(gray, 0, 1)[None], a, b




def region_segmenter(image, clicks, background: float = 0.35) -> np.ndarray:
    """An honest click segmenter: foreground regions connected to a positive click, split by intensity prototypes.

    A pixel brighter than ``background`` belongs to the object with probability d_neg / (d_pos + d_neg), where
    d_pos (d_neg) is its intensity distance to the nearest positive (negative) click; the mask is the part
    above 0.5 that is connected to a positive click.
    """
    gray = np.asarray(image, dtype=np.float64).mean(axis=0)
    pos = [(r, c) for r, c, p in clicks if p]
    neg = [(r, c) for r, c, p in clicks if not p]
    if not pos:
        return np.zeros_like(gray)
    d_pos = np.min([np.abs(gray - gray[r, c]) for r, c in pos], axis=0)
    score = np.ones_like(gray)
    if neg:
        d_neg = np.min([np.abs(gray - gray[r, c]) for r, c in neg], axis=0)
        score = d_neg / (d_pos + d_neg + 1e-9)
    labels, _ = ndimage.label((gray > background) & (score > 0.5))
    keep = np.isin(labels, [labels[r, c] for r, c in pos if labels[r, c]])
    return np.where(keep, score, 0.0)
