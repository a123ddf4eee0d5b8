"""Predicting whole images with a model trained on patches: sliding windows with blending, or one padded pass.

A model trained on random 64×64 or 128×128 patches can still segment a 565×584 fundus photograph in two ways:

* :func:`whole_image_predict`: pad the image so that height and width are multiples of the network's total
  stride (32 for a U-Net with five down-sampling steps), run the model once, crop the padding off again.
  Fast and exact for a fully convolutional network, but it needs memory for the whole image at once.
* :func:`sliding_window_predict`: cut the image into overlapping ``tile``×``tile`` windows
  (:func:`tile_starts`), predict them in batches and blend the overlaps with weights that trust the centre
  of a window more than its edges (:func:`blend_weights`), where the network saw less context.

:func:`flip_average_predict` is *test-time augmentation*: it predicts each image and its mirror images, flips
those predictions back and averages the logits (two or four opinions of the same scene, for as many times
the compute).

All three return **logits** (N×K×H×W, the input's H×W), so everything after them (``sigmoid``/``softmax``, a
threshold, ``argmax``, a loss) works as it does on the model's own output. Sliding windows blend logits
rather than probabilities for the same reason: the result stays the model's kind of output, whether the model
ends in a sigmoid (K=1) or a softmax (K classes), and it needs no knowledge of which. Where the windows agree,
as they do away from their edges, averaging logits or probabilities gives the same segmentation.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .runtime import resolve_device
from .validation import check_int

__all__ = [
    "BLEND_MODES",
    "tile_starts",
    "blend_weights",
    "pad_to_multiple",
    "crop_padding",
    "sliding_window_predict",
    "whole_image_predict",
    "FLIPS",
    "flip_average_predict",
]

BLEND_MODES = ("gaussian", "linear", "constant")
FLIPS = {"none": (), "hflip": (-1,), "vflip": (-2,), "hvflip": (-2, -1)}  # a flip's name -> the axes it reverses
_PAD_MODES = ("reflect", "replicate", "circular", "constant")
_MIN_WEIGHT = 1e-3  # the smallest blend weight: every pixel of every window counts a little


# ------------------------------------------------------------------------------------------------- validation
def _image_batch(images: Any) -> tuple[torch.Tensor, bool]:
    """``images`` as an N×C×H×W float tensor, and whether a single C×H×W image was given."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(
            f"images must be a torch.Tensor (N×C×H×W or C×H×W), got {type(images).__name__}; "
            f"convert with torch.as_tensor(images)."
        )
    if images.ndim not in (3, 4):
        raise ValueError(
            f"images has shape {tuple(images.shape)}; pass a batch N×C×H×W or one image C×H×W "
            f"(add a channel axis to a grey H×W image with images[None])."
        )
    if not images.is_floating_point():
        raise ValueError(
            f"images has dtype {images.dtype}; pass float images (e.g. images.float() / 255 for 8-bit pixels)."
        )
    return (images.unsqueeze(0), True) if images.ndim == 3 else (images, False)


def _prepare(model: Any, images: Any, device: Any) -> tuple[torch.Tensor, bool, torch.device]:
    """Validate model and images; return (N×C×H×W images, whether one image was given, the device to run on)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    x, single = _image_batch(images)
    if device is not None:
        run_on = resolve_device(device)
        model.to(run_on)
        return x, single, run_on
    for tensor in (*model.parameters(), *model.buffers()):
        return x, single, tensor.device  # where the model already is
    return x, single, x.device


class _EvalMode:
    """Context manager: the model in eval mode and no autograd, every module's train flag restored afterwards."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.flags: list[tuple[nn.Module, bool]] = []
        self.no_grad = torch.no_grad()

    def __enter__(self) -> nn.Module:
        self.flags = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        self.no_grad.__enter__()
        return self.model

    def __exit__(self, *exc: Any) -> None:
        self.no_grad.__exit__(*exc)
        for module, training in self.flags:
            module.training = training


def _run(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"the model returned {type(out).__name__}; these helpers need a model that returns one N×K×H×W "
            f"logits tensor (wrap it, e.g. lambda x: model(x)['out'] inside an nn.Module)."
        )
    if out.ndim != 4 or out.shape[0] != x.shape[0] or tuple(out.shape[-2:]) != tuple(x.shape[-2:]):
        raise ValueError(
            f"for an input of shape {tuple(x.shape)} the model returned shape {tuple(out.shape)}; it must return "
            f"N×K×H×W logits of the input's height and width (a fully convolutional segmentation model)."
        )
    return out


# ------------------------------------------------------------------------------------------------- tiling
def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of ``tile``-long windows that cover [0, length), neighbours sharing ≥ ``overlap`` pixels.

    The windows step forward by ``tile - overlap``; the last window is moved back to end exactly at ``length``
    (it then overlaps its neighbour by more). If ``length <= tile`` the single start is 0 (pad the image up to
    the tile, as :func:`sliding_window_predict` does). The number of windows is the smallest that can work.
    """
    length = check_int("length", length)
    tile = check_int("tile", tile)
    overlap = check_int("overlap", overlap, minimum=0, maximum=tile - 1)
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile - overlap))
    return starts + [length - tile]


def blend_weights(tile: int, overlap: int | None = None, mode: str = "gaussian") -> torch.Tensor:
    """tile×tile float32 weights (max 1, never 0) for blending overlapping windows: trust the centre more.

    ``"gaussian"``: a Gaussian bump with sigma = tile / 8 in each direction (as nnU-Net), floored at 1e-3.
    ``"linear"``: 1 in the middle, falling linearly over the ``overlap`` pixels next to each edge
    (default ``tile // 4``) to 1 / (overlap + 1) at the edge. ``"constant"``: all ones (a plain average).
    """
    tile = check_int("tile", tile)
    if mode not in BLEND_MODES:
        raise ValueError(f"mode={mode!r} is not a blend mode; use one of {', '.join(map(repr, BLEND_MODES))}.")
    overlap = tile // 4 if overlap is None else check_int("overlap", overlap, minimum=0, maximum=tile - 1)
    pos = torch.arange(tile, dtype=torch.float64)
    if mode == "constant":
        ramp = torch.ones(tile, dtype=torch.float64)
    elif mode == "linear":
        edge_distance = torch.minimum(pos, tile - 1 - pos)  # 0 at either edge
        ramp = ((edge_distance + 1) / (overlap + 1)).clamp(max=1.0)
    else:
        sigma = tile / 8
        ramp = torch.exp(-0.5 * ((pos - (tile - 1) / 2) / sigma) ** 2)
    weights = ramp[:, None] * ramp[None, :]
    weights = weights / weights.max()
    return weights.clamp(min=_MIN_WEIGHT).float()


# ------------------------------------------------------------------------------------------------- padding
def _pad_index(size: int, before: int, after: int, mode: str, device: torch.device) -> torch.Tensor:
    """Source indices along one axis for a padded axis of ``before + size + after`` entries."""
    idx = torch.arange(-before, size + after, device=device)
    if mode == "replicate" or size == 1:
        return idx.clamp(0, size - 1)
    if mode == "circular":
        return idx.remainder(size)
    period = 2 * (size - 1)  # reflect without repeating the edge pixel: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    idx = idx.remainder(period)
    return torch.where(idx < size, idx, period - idx)


def _pad(x: torch.Tensor, pads: tuple[int, int, int, int], mode: str, value: float) -> torch.Tensor:
    top, bottom, left, right = pads
    if not any(pads):
        return x
    if mode == "constant":
        return F.pad(x, (left, right, top, bottom), mode="constant", value=value)
    h, w = x.shape[-2:]
    if h == 0 or w == 0:
        raise ValueError(f"cannot {mode}-pad an empty image of size {h}×{w}; use mode='constant'.")
    rows = _pad_index(h, top, bottom, mode, x.device)
    cols = _pad_index(w, left, right, mode, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def pad_to_multiple(
    x: torch.Tensor, multiple: int = 32, mode: str = "reflect", value: float = 0.0
) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Pad the last two axes up to multiples of ``multiple``; returns (padded, (top, bottom, left, right)).

    The padding is split evenly between the two sides (the odd pixel goes to the bottom/right). ``mode``:
    ``"reflect"`` (mirror without repeating the edge, any amount, any dtype), ``"replicate"``, ``"circular"``
    or ``"constant"`` (filled with ``value``). Works on H×W, C×H×W and N×C×H×W; undo it with :func:`crop_padding`.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor (H×W, C×H×W or N×C×H×W), got {type(x).__name__}.")
    if x.ndim < 2:
        raise ValueError(f"x has shape {tuple(x.shape)}; it needs at least two axes (…×H×W).")
    multiple = check_int("multiple", multiple)
    if mode not in _PAD_MODES:
        raise ValueError(f"mode={mode!r} is not a padding mode; use one of {', '.join(map(repr, _PAD_MODES))}.")
    h, w = x.shape[-2:]
    extra_h, extra_w = -h % multiple, -w % multiple
    pads = (extra_h // 2, extra_h - extra_h // 2, extra_w // 2, extra_w - extra_w // 2)
    return _pad(x, pads, mode, value), pads


def _check_pads(pads: Any) -> tuple[int, int, int, int]:
    ok = isinstance(pads, (tuple, list)) and len(pads) == 4
    ok = ok and all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in pads)
    if not ok:
        raise ValueError(
            f"pads={pads!r} must be four non-negative ints (top, bottom, left, right), as pad_to_multiple returns."
        )
    return tuple(pads)  # type: ignore[return-value]


def crop_padding(y: torch.Tensor, pads: Sequence[int]) -> torch.Tensor:
    """Remove ``pads = (top, bottom, left, right)`` from the last two axes (the inverse of :func:`pad_to_multiple`)."""
    if not isinstance(y, torch.Tensor) or y.ndim < 2:
        raise TypeError(f"y must be a torch.Tensor with at least two axes (…×H×W), got {type(y).__name__}.")
    top, bottom, left, right = _check_pads(pads)
    h, w = y.shape[-2:]
    if top + bottom > h or left + right > w:
        raise ValueError(
            f"pads={tuple(pads)} remove more than y's {h}×{w} pixels; pass the pads of the same image "
            f"(did you pad, then resize?)."
        )
    return y[..., top : h - bottom, left : w - right]


# ------------------------------------------------------------------------------------------------- prediction
def sliding_window_predict(
    model: nn.Module,
    images: torch.Tensor,
    tile: int = 256,
    overlap: int = 64,
    batch_size: int = 8,
    blend: str = "gaussian",
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Logits N×K×H×W of whole images from overlapping tile×tile windows, blended with :func:`blend_weights`.

    ``images``: N×C×H×W (or one C×H×W image, giving K×H×W) floats, prepared as for training. Images smaller
    than a tile are reflect-padded up to it. The model runs in eval mode without autograd, ``batch_size``
    windows at a time, on ``device`` (default: where the model's parameters are; a given device moves the
    model there); afterwards every module's train/eval state is what it was. The result is on the images' device.
    """
    x, single, run_on = _prepare(model, images, device)
    tile = check_int("tile", tile)
    overlap = check_int("overlap", overlap, minimum=0, maximum=tile - 1)
    batch_size = check_int("batch_size", batch_size)
    if blend not in BLEND_MODES:
        raise ValueError(f"blend={blend!r} is not a blend mode; use one of {', '.join(map(repr, BLEND_MODES))}.")
    _, _, h, w = x.shape
    pad_h, pad_w = max(tile - h, 0), max(tile - w, 0)
    pads = (pad_h // 2, pad_h - pad_h // 2, pad_w // 2, pad_w - pad_w // 2)
    big_h, big_w = h + pad_h, w + pad_w
    windows = [(r, c) for r in tile_starts(big_h, tile, overlap) for c in tile_starts(big_w, tile, overlap)]
    weights = blend_weights(tile, overlap, blend).to(run_on)
    norm = torch.zeros((big_h, big_w), device=run_on)  # the sum of the weights that reach each pixel (all > 0)
    for r, c in windows:
        norm[r : r + tile, c : c + tile] += weights

    outputs = []
    with _EvalMode(model):
        for image in x:
            padded = _pad(image.to(run_on), pads, "reflect", 0.0)
            total: torch.Tensor | None = None
            for first in range(0, len(windows), batch_size):
                chunk = windows[first : first + batch_size]
                batch = torch.stack([padded[:, r : r + tile, c : c + tile] for r, c in chunk])
                logits = _run(model, batch).float()
                if total is None:
                    total = logits.new_zeros((logits.shape[1], big_h, big_w))
                for (r, c), out in zip(chunk, logits):
                    total[:, r : r + tile, c : c + tile] += out * weights
            assert total is not None  # tile_starts always gives at least one window
            outputs.append(crop_padding(total / norm, pads).to(images.device))
    result = torch.stack(outputs)
    return result[0] if single else result


def whole_image_predict(
    model: nn.Module,
    images: torch.Tensor,
    multiple: int = 32,
    batch_size: int = 4,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Logits N×K×H×W from one pass per image: reflect-pad H and W to a multiple of ``multiple``, predict, crop back.

    ``multiple`` is the network's total stride (32 for five 2× down-samplings). Same conventions as
    :func:`sliding_window_predict`: eval mode and no autograd, train state restored, C×H×W in gives K×H×W out.
    """
    x, single, run_on = _prepare(model, images, device)
    multiple = check_int("multiple", multiple)
    batch_size = check_int("batch_size", batch_size)
    outputs = []
    with _EvalMode(model):
        for first in range(0, x.shape[0], batch_size):
            padded, pads = pad_to_multiple(x[first : first + batch_size].to(run_on), multiple, mode="reflect")
            outputs.append(crop_padding(_run(model, padded).float(), pads).to(images.device))
    result = torch.cat(outputs)
    return result[0] if single else result


def flip_average_predict(
    model: nn.Module,
    images: torch.Tensor,
    flips: Sequence[str] = ("none", "hflip"),
    batch_size: int = 8,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Test-time augmentation: mean logits N×K×H×W of the images under each of ``flips``, every prediction flipped back.

    ``flips`` names views from :data:`FLIPS` ("none", "hflip" left-right, "vflip" up-down, "hvflip" both); use only
    flips the training augmentation used (a street scene is never upside down). Costs one forward pass per view.
    Same conventions as :func:`whole_image_predict`: eval mode and no autograd, train state restored.
    """
    x, single, run_on = _prepare(model, images, device)
    batch_size = check_int("batch_size", batch_size)
    if isinstance(flips, str) or not len(flips):
        raise ValueError(f"flips={flips!r} must be a non-empty list of view names from {', '.join(map(repr, FLIPS))}, "
                         f"e.g. flips=('none', 'hflip').")
    unknown = [f for f in flips if f not in FLIPS]
    if unknown:
        raise ValueError(f"flips has unknown view(s) {unknown}; use some of {', '.join(map(repr, FLIPS))}.")
    outputs = []
    with _EvalMode(model):
        for first in range(0, x.shape[0], batch_size):
            batch = x[first : first + batch_size].to(run_on)
            total = None
            for name in flips:
                axes = FLIPS[name]
                view = batch.flip(axes) if axes else batch
                logits = _run(model, view).float()
                logits = logits.flip(axes) if axes else logits
                total = logits if total is None else total + logits
            assert total is not None
            outputs.append((total / len(flips)).to(images.device))
    result = torch.cat(outputs)
    return result[0] if single else result
