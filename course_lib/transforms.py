"""Transforms for (image, target) pairs that keep masks aligned with their image.

Every transform here is called as ``transform(image, target) -> (image, target)``:

* ``image``: float C×H×W tensor (values in [0, 1] before :class:`Normalize`);
* ``target``: an integer H×W label map, an instance dict (``boxes``, ``labels``, ``masks`` N×H×W),
  or None.

Geometric transforms (resize, flip, rotate, scale, crop) move image and target together; label
maps and masks are resampled with nearest neighbour so no new label values appear (except the
``fill_label`` of pixels that enter from outside the image). Instance boxes are recomputed from
the moved masks, and instances whose mask vanished are dropped. Photometric transforms (colour
jitter, noise, blur) change the image only. Under the hood they use
``torchvision.transforms.v2`` with ``tv_tensors.Image`` and ``tv_tensors.Mask``.
Introduced in lesson 02.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Compose",
    "Resize",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomRotate90",
    "RandomRotation",
    "RandomScale",
    "RandomAffine",
    "RandomCrop",
    "ColorJitter",
    "GaussianNoise",
    "GaussianBlur",
    "Normalize",
    "V2",
    "denormalize",
    "compute_stats",
    "train_transforms",
    "eval_transforms",
    "collate_instances",
    "STRENGTHS",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Target = Any  # torch.Tensor (H×W) | dict[str, torch.Tensor] | None


# --------------------------------------------------------------------------------------------------
# checking inputs, and moving between plain tensors and tv_tensors
# --------------------------------------------------------------------------------------------------
def _check_pair(image: torch.Tensor, target: Target) -> None:
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or not image.is_floating_point():
        got = f"{type(image).__name__} of shape {tuple(image.shape)} and dtype {image.dtype}" if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a float C×H×W tensor (e.g. from load(...)); got {got}.")
    size = tuple(image.shape[-2:])
    if target is None:
        return
    if isinstance(target, dict):
        masks = target.get("masks")
        if not isinstance(masks, torch.Tensor) or masks.ndim != 3:
            raise ValueError("an instance target must be a dict with 'masks' of shape N×H×W (and 'labels', 'boxes').")
        if tuple(masks.shape[-2:]) != size:
            raise ValueError(f"target['masks'] is {tuple(masks.shape[-2:])} but the image is {size}; they must match.")
        return
    if not isinstance(target, torch.Tensor) or target.ndim != 2 or target.is_floating_point():
        got = f"shape {tuple(target.shape)}, dtype {target.dtype}" if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(f"target must be an integer H×W label map, an instance dict or None; got {got}.")
    if tuple(target.shape) != size:
        raise ValueError(f"target is {tuple(target.shape)} but the image is {size}; resize them together (e.g. Resize).")


def _finish_instances(target: dict[str, torch.Tensor], masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """Put moved masks back into an instance dict: drop empty ones, recompute boxes from the masks."""
    from .data.targets import boxes_from_masks

    keep = (masks.flatten(1) != 0).any(1)
    n = masks.shape[0]
    out = {}
    for key, value in target.items():
        if key == "masks":
            continue
        if isinstance(value, torch.Tensor) and value.ndim >= 1 and value.shape[0] == n:
            value = value[keep]
        out[key] = value
    out["masks"] = masks[keep]
    out["boxes"] = boxes_from_masks(out["masks"])
    return out


def _joint(fn: Callable[[torch.Tensor, bool], torch.Tensor], image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
    """Apply ``fn(tensor, is_label)`` to the image and to the target's label map or masks."""
    new_image = fn(image, False)
    if target is None:
        return new_image, None
    if isinstance(target, dict):
        masks = target["masks"]
        if masks.shape[0] == 0:  # no instances: move a blank mask only to learn the new size
            masks = fn(torch.zeros((1, *masks.shape[1:]), dtype=masks.dtype, device=masks.device), True)[:0]
        else:
            masks = fn(masks, True)
        return new_image, _finish_instances(target, masks)
    return new_image, fn(target, True)


class _Transform:
    """Base class: checks the pair, then calls :meth:`apply`."""

    def __call__(self, image: torch.Tensor, target: Target = None) -> tuple[torch.Tensor, Target]:
        _check_pair(image, target)
        return self.apply(image, target)

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose(_Transform):
    """Apply transforms one after another; torchvision v2 transforms are accepted too (wrapped in :class:`V2`)."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        steps = []
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose got {t!r}, which is not callable; pass transforms like RandomHorizontalFlip().")
            steps.append(V2(t) if _is_v2(t) else t)
        self.transforms = steps

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        for t in self.transforms:
            image, target = t(image, target)
        return image, target

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


def _is_v2(t: object) -> bool:
    from torchvision.transforms import v2

    return isinstance(t, v2.Transform)


def _fill_for(is_label: bool, instance: bool, fill_label: int) -> float | int:
    if not is_label:
        return 0.0
    return 0 if instance else fill_label


class V2(_Transform):
    """Run any ``torchvision.transforms.v2`` transform jointly on the image and its label map or masks."""

    def __init__(self, transform: Callable) -> None:
        self.transform = transform

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision import tv_tensors

        img = tv_tensors.Image(image)
        if target is None:
            return self.transform(img).as_subclass(torch.Tensor), None
        if isinstance(target, dict):
            out_img, masks = self.transform(img, tv_tensors.Mask(target["masks"]))
            return out_img.as_subclass(torch.Tensor), _finish_instances(target, masks.as_subclass(torch.Tensor))
        out_img, mask = self.transform(img, tv_tensors.Mask(target))
        return out_img.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)


# --------------------------------------------------------------------------------------------------
# geometric transforms (image and target together)
# --------------------------------------------------------------------------------------------------
def _size_pair(size: int | Sequence[int], name: str = "size") -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size, size
    if isinstance(size, Sequence) and len(size) == 2 and all(isinstance(s, int) and s > 0 for s in size):
        return int(size[0]), int(size[1])
    raise ValueError(f"{name}={size!r} must be a positive int or a (height, width) pair, e.g. {name}=(64, 96).")


class Resize(_Transform):
    """Resize to ``size`` (int = square, or (H, W)): bilinear with antialiasing for the image, nearest for labels."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _size_pair(size)

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as F

        def resize(x: torch.Tensor, is_label: bool) -> torch.Tensor:
            if tuple(x.shape[-2:]) == self.size:
                return x
            if is_label:  # nearest keeps label values; "exact" puts sample points at pixel centres like bilinear
                y = F.resize(x.unsqueeze(0) if x.ndim == 2 else x, list(self.size), interpolation=InterpolationMode.NEAREST_EXACT)
                return y[0] if x.ndim == 2 else y
            return F.resize(x, list(self.size), interpolation=InterpolationMode.BILINEAR, antialias=True)

        return _joint(resize, image, target)


class RandomHorizontalFlip(_Transform):
    """Mirror image and target left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        _check_prob(p)
        self.p = p

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        if torch.rand(1).item() >= self.p:
            return image, target
        return _joint(lambda x, _: torch.flip(x, dims=[-1]), image, target)


class RandomVerticalFlip(_Transform):
    """Mirror image and target top-bottom with probability ``p`` (fine for microscopy, not for street scenes)."""

    def __init__(self, p: float = 0.5) -> None:
        _check_prob(p)
        self.p = p

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        if torch.rand(1).item() >= self.p:
            return image, target
        return _joint(lambda x, _: torch.flip(x, dims=[-2]), image, target)


class RandomRotate90(_Transform):
    """Rotate image and target by a random multiple of 90° (exact: no resampling); square inputs keep their size."""

    def __init__(self, p: float = 0.75) -> None:
        _check_prob(p)
        self.p = p

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        if float(torch.rand(1)) >= self.p:
            return image, target
        k = int(torch.randint(1, 4, (1,)))
        return _joint(lambda x, _: torch.rot90(x, k, dims=(-2, -1)), image, target)


def _check_prob(p: float) -> None:
    if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p={p!r} must be a probability in [0, 1], e.g. p=0.5.")


class _RandomAffine(_Transform):
    """One random rotation-and-zoom warp applied to image and target (labels: nearest, image: bilinear)."""

    def __init__(self, degrees: float, scale: tuple[float, float] | None, fill_label: int) -> None:
        if not isinstance(fill_label, int) or isinstance(fill_label, bool) or fill_label < 0:
            raise ValueError(f"fill_label={fill_label!r} must be a non-negative int: the label of pixels that enter from outside (0 or the ignore index).")
        self.fill_label = fill_label
        self._degrees, self._scale = degrees, scale

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as F

        angle = float(torch.empty(1).uniform_(-self._degrees, self._degrees)) if self._degrees else 0.0
        scale = float(torch.empty(1).uniform_(*self._scale)) if self._scale else 1.0
        instance = isinstance(target, dict)

        def warp(x: torch.Tensor, is_label: bool) -> torch.Tensor:
            mode = InterpolationMode.NEAREST if is_label else InterpolationMode.BILINEAR
            fill = _fill_for(is_label, instance, self.fill_label)
            batch = x.unsqueeze(0) if x.ndim == 2 else x
            out = F.affine(batch, angle=angle, translate=[0, 0], scale=scale, shear=[0.0, 0.0], interpolation=mode, fill=[fill])
            return out[0] if x.ndim == 2 else out

        return _joint(warp, image, target)


class RandomRotation(_RandomAffine):
    """Rotate image and target by a random angle in [-degrees, degrees] about the centre."""

    def __init__(self, degrees: float = 10.0, fill_label: int = 0) -> None:
        if not isinstance(degrees, (int, float)) or not 0 <= degrees <= 180:
            raise ValueError(f"degrees={degrees!r} must be a number in [0, 180], e.g. degrees=10.")
        super().__init__(float(degrees), None, fill_label)
        self.degrees = degrees


class RandomScale(_RandomAffine):
    """Zoom image and target by a random factor in ``scale`` about the centre, keeping the size."""

    def __init__(self, scale: tuple[float, float] = (0.8, 1.25), fill_label: int = 0) -> None:
        if not (isinstance(scale, Sequence) and len(scale) == 2 and 0 < scale[0] <= scale[1]):
            raise ValueError(f"scale={scale!r} must be a (low, high) pair with 0 < low <= high, e.g. scale=(0.8, 1.25).")
        super().__init__(0.0, (float(scale[0]), float(scale[1])), fill_label)
        self.scale = tuple(scale)


class RandomAffine(_RandomAffine):
    """Rotate by up to ``degrees`` and zoom by a factor in ``scale`` in ONE warp (labels are resampled once)."""

    def __init__(self, degrees: float = 10.0, scale: tuple[float, float] = (0.8, 1.25), fill_label: int = 0) -> None:
        if not isinstance(degrees, (int, float)) or not 0 <= degrees <= 180:
            raise ValueError(f"degrees={degrees!r} must be a number in [0, 180], e.g. degrees=10.")
        if not (isinstance(scale, Sequence) and len(scale) == 2 and 0 < scale[0] <= scale[1]):
            raise ValueError(f"scale={scale!r} must be a (low, high) pair with 0 < low <= high, e.g. scale=(0.8, 1.25).")
        super().__init__(float(degrees), (float(scale[0]), float(scale[1])), fill_label)
        self.degrees, self.scale = degrees, tuple(scale)


class RandomCrop(_Transform):
    """Cut a random ``size`` window from image and target (padding first if the image is smaller)."""

    def __init__(self, size: int | Sequence[int], fill_label: int = 0) -> None:
        self.size = _size_pair(size)
        if not isinstance(fill_label, int) or fill_label < 0:
            raise ValueError(f"fill_label={fill_label!r} must be a non-negative int (0 or the ignore index).")
        self.fill_label = fill_label

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        h, w = image.shape[-2:]
        th, tw = self.size
        pad_h, pad_w = max(th - h, 0), max(tw - w, 0)
        instance = isinstance(target, dict)
        if pad_h or pad_w:  # pad right/bottom so the window fits
            def pad(x: torch.Tensor, is_label: bool) -> torch.Tensor:
                return torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), value=_fill_for(is_label, instance, self.fill_label))

            image, target = _joint(pad, image, target)
            h, w = h + pad_h, w + pad_w
        top = int(torch.randint(0, h - th + 1, (1,)))
        left = int(torch.randint(0, w - tw + 1, (1,)))
        return _joint(lambda x, _: x[..., top : top + th, left : left + tw], image, target)


# --------------------------------------------------------------------------------------------------
# photometric transforms (image only)
# --------------------------------------------------------------------------------------------------
class ColorJitter(_Transform):
    """Randomly change brightness, contrast, saturation and hue of the image (saturation/hue: RGB only)."""

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2, saturation: float = 0.2, hue: float = 0.0) -> None:
        for name, value, top in (("brightness", brightness, 1.0), ("contrast", contrast, 1.0), ("saturation", saturation, 1.0), ("hue", hue, 0.5)):
            if not isinstance(value, (int, float)) or not 0 <= value <= top:
                raise ValueError(f"{name}={value!r} must be a number in [0, {top}], e.g. {name}=0.2.")
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision.transforms import v2

        colour = image.shape[0] == 3
        jitter = v2.ColorJitter(
            brightness=self.brightness or None,
            contrast=self.contrast or None,
            saturation=(self.saturation or None) if colour else None,
            hue=(self.hue or None) if colour else None,
        )
        return jitter(image).clamp(0, 1), target


class GaussianNoise(_Transform):
    """Add Gaussian noise with a random standard deviation in [0, sigma] to the image, then clip to [0, 1]."""

    def __init__(self, sigma: float = 0.03) -> None:
        if not isinstance(sigma, (int, float)) or not 0 <= sigma <= 1:
            raise ValueError(f"sigma={sigma!r} must be in [0, 1], e.g. sigma=0.03.")
        self.sigma = sigma

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        std = float(torch.rand(1)) * self.sigma
        return (image + std * torch.randn_like(image)).clamp(0, 1), target


class GaussianBlur(_Transform):
    """Blur the image with a Gaussian of random sigma in ``sigma`` (applied with probability ``p``)."""

    def __init__(self, sigma: tuple[float, float] = (0.1, 1.5), p: float = 0.5) -> None:
        if not (isinstance(sigma, Sequence) and len(sigma) == 2 and 0 < sigma[0] <= sigma[1]):
            raise ValueError(f"sigma={sigma!r} must be a (low, high) pair with 0 < low <= high, e.g. (0.1, 1.5).")
        _check_prob(p)
        self.sigma, self.p = tuple(sigma), p

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision.transforms.v2 import functional as F

        if torch.rand(1).item() >= self.p:
            return image, target
        s = float(torch.empty(1).uniform_(*self.sigma))
        k = 2 * math.ceil(3 * s) + 1
        return F.gaussian_blur(image, kernel_size=[k, k], sigma=[s, s]), target


class Normalize(_Transform):
    """Standardise each channel: ``(image - mean) / std`` (ImageNet statistics by default)."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        if len(mean) != len(std) or any(s <= 0 for s in std):
            raise ValueError(f"mean={tuple(mean)} and std={tuple(std)} must have one positive std per mean value.")
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        if image.shape[0] != len(self.mean):
            raise ValueError(
                f"Normalize has {len(self.mean)} channel statistics but the image has {image.shape[0]} channels; "
                f"use compute_stats(dataset) for this data, or load(..., channels={len(self.mean)})."
            )
        mean = torch.tensor(self.mean, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        return (image - mean) / std, target


def denormalize(image: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """Undo :class:`Normalize` (C×H×W or B×C×H×W), e.g. to show a normalised image."""
    shape = (-1, 1, 1) if image.ndim == 3 else (1, -1, 1, 1)
    m = torch.tensor(tuple(mean), dtype=image.dtype, device=image.device).view(shape)
    s = torch.tensor(tuple(std), dtype=image.dtype, device=image.device).view(shape)
    return image * s + m


def compute_stats(dataset: Any, max_samples: int | None = 200) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) of the images of a dataset (the first ``max_samples``), for :class:`Normalize`."""
    n = len(dataset)
    if n == 0:
        raise ValueError("dataset is empty; compute_stats needs at least one image.")
    count = min(n, max_samples) if max_samples else n
    total = total_sq = None
    pixels = 0
    for i in range(count):
        image = dataset[i][0].to(torch.float64)
        flat = image.flatten(1)
        total = flat.sum(1) if total is None else total + flat.sum(1)
        total_sq = (flat**2).sum(1) if total_sq is None else total_sq + (flat**2).sum(1)
        pixels += flat.shape[1]
    mean = total / pixels
    std = (total_sq / pixels - mean**2).clamp(min=0).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


# --------------------------------------------------------------------------------------------------
# ready-made pipelines and batching
# --------------------------------------------------------------------------------------------------
STRENGTHS = {
    # flip, scale range, rotation degrees, colour jitter, noise sigma, blur probability
    "none": (0.0, None, 0, 0.0, 0.0, 0.0),
    "light": (0.5, (0.9, 1.1), 5, 0.1, 0.0, 0.0),
    "medium": (0.5, (0.75, 1.25), 10, 0.2, 0.02, 0.0),
    "strong": (0.5, (0.6, 1.4), 20, 0.3, 0.04, 0.3),
}


def train_transforms(
    size: int | Sequence[int] | None = None,
    strength: str = "medium",
    *,
    ignore_index: int | None = None,
    normalize: bool | tuple[Sequence[float], Sequence[float]] = False,
    vertical_flip: bool = False,
) -> Compose:
    """Augmentation for training: resize, flip, one random rotate-and-zoom, colour jitter, noise (blur when strong).

    ``strength`` is one of 'none', 'light', 'medium', 'strong'. Pixels that enter from outside the
    image get ``ignore_index`` in label maps (or 0 if None). ``normalize=True`` adds ImageNet
    statistics; pass ``(mean, std)`` for your own.
    """
    if strength not in STRENGTHS:
        raise ValueError(f"strength={strength!r} is not known; use one of {', '.join(STRENGTHS)}.")
    flip, scale, degrees, jitter, noise, blur = STRENGTHS[strength]
    fill = 0 if ignore_index is None else int(ignore_index)
    steps: list[Callable] = []
    if size is not None:
        steps.append(Resize(size))
    if flip:
        steps.append(RandomHorizontalFlip(flip))
        if vertical_flip:
            steps.append(RandomVerticalFlip(flip))
    if scale or degrees:  # one warp, so label maps are resampled only once
        steps.append(RandomAffine(degrees, scale or (1.0, 1.0), fill_label=fill))
    if jitter:
        steps.append(ColorJitter(jitter, jitter, jitter, 0.0))
    if noise:
        steps.append(GaussianNoise(noise))
    if blur:
        steps.append(GaussianBlur((0.1, 1.0), p=blur))
    steps += _normalize_step(normalize)
    return Compose(steps)


def eval_transforms(
    size: int | Sequence[int] | None = None, *, normalize: bool | tuple[Sequence[float], Sequence[float]] = False
) -> Compose:
    """The deterministic counterpart of :func:`train_transforms`: resize (and normalise)."""
    steps: list[Callable] = [] if size is None else [Resize(size)]
    return Compose(steps + _normalize_step(normalize))


def _normalize_step(normalize: bool | tuple) -> list[Callable]:
    if normalize is True:
        return [Normalize()]
    if normalize is False or normalize is None:
        return []
    if isinstance(normalize, tuple) and len(normalize) == 2:
        return [Normalize(*normalize)]
    raise ValueError(f"normalize={normalize!r} must be True, False or a (mean, std) pair.")


def collate_instances(batch: Sequence[tuple[torch.Tensor, dict]]) -> tuple[list[torch.Tensor], list[dict]]:
    """DataLoader ``collate_fn`` for detection targets: a list of images and a list of target dicts."""
    images, targets = [], []
    for item in batch:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValueError("collate_instances expects (image, target) pairs, as datasets from load() return.")
        images.append(item[0])
        targets.append(item[1])
    return images, targets
