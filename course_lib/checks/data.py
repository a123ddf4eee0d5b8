"""Exercises of lesson 02 (data preprocessing and augmentation): flips, mask resizing, normalisation, class weights.

The reference answers here are also what the lesson uses after each exercise, so the notebook
runs on even when an exercise is left open.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from .core import Case, compare
from .registry import register

__all__ = [
    "joint_hflip_reference",
    "resize_mask_reference",
    "normalize_reference",
    "class_weights_reference",
]

LESSON = "02_data"


# ---------------------------------------------------------------------------------------------------
# reference answers
# ---------------------------------------------------------------------------------------------------
def joint_hflip_reference(image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference answer: mirror a C×H×W image and its H×W mask left-right (the last axis) together."""
    if image.ndim != 3 or mask.ndim != 2 or tuple(image.shape[-2:]) != tuple(mask.shape):
        raise ValueError(f"image {tuple(image.shape)} and mask {tuple(mask.shape)} must be C×H×W and H×W of the same H×W.")
    return image.flip(-1), mask.flip(-1)


def resize_mask_reference(mask: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Reference answer: resize an integer H×W label map to ``size`` = (h, w) with nearest neighbour, keeping its dtype."""
    if mask.ndim != 2 or mask.is_floating_point():
        raise ValueError(f"mask must be an integer H×W label map; got shape {tuple(mask.shape)}, dtype {mask.dtype}.")
    out = F.interpolate(mask[None, None].float(), size=tuple(int(s) for s in size), mode="nearest-exact")
    return out[0, 0].round().to(mask.dtype)


def normalize_reference(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Reference answer: ``(image - mean) / std`` per channel of a C×H×W float image."""
    if image.ndim != 3 or len(mean) != image.shape[0] or len(std) != image.shape[0]:
        raise ValueError(f"need one mean and one std per channel: image {tuple(image.shape)}, {len(mean)} means, {len(std)} stds.")
    m = torch.as_tensor(mean, dtype=image.dtype, device=image.device).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=image.dtype, device=image.device).view(-1, 1, 1)
    return (image - m) / s


def class_weights_reference(counts: torch.Tensor) -> torch.Tensor:
    """Reference answer: median-frequency class weights (float32); classes that never occur get weight 0."""
    counts = torch.as_tensor(counts)
    if counts.ndim != 1 or (counts < 0).any() or counts.sum() <= 0:
        raise ValueError("counts must be a 1-D tensor of non-negative pixel counts with at least one pixel.")
    freq = counts.double() / counts.sum()
    present = freq > 0
    median = torch.quantile(freq[present], 0.5)
    weights = torch.zeros_like(freq)
    weights[present] = median / freq[present]
    return weights.float()


# ---------------------------------------------------------------------------------------------------
# checkers that recognise the common mistakes
# ---------------------------------------------------------------------------------------------------
def _diagnose(case: Case, got: Any, mistakes: list[tuple[Any, str]]) -> str | None:
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    for wrong, explanation in mistakes:
        try:
            if compare(wrong, got, case.atol, case.rtol) is None:
                return f"{reason} {explanation}"
        except Exception:  # a mistake that cannot even be compared is not this one
            continue
    return reason


def _joint_hflip_checker(case: Case, got: Any) -> str | None:
    image, mask = case.args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "return a pair (image, mask): `return flipped_image, flipped_mask`."
    exp_img, exp_mask = case.expected
    got_img, got_mask = got
    reason = compare(exp_img, got_img, case.atol, case.rtol, path="the image")
    if reason:
        if isinstance(got_img, torch.Tensor) and got_img.shape == image.shape:
            if torch.equal(got_img, image.flip(-2)):
                return reason + " You flipped top-bottom (axis -2); a horizontal flip mirrors left-right, the last axis (-1)."
            if torch.equal(got_img, image.flip(0)):
                return reason + " You reversed the colour channels (axis 0); flip the last axis (-1), the width."
            if torch.equal(got_img, image):
                return reason + " The image is unchanged: flip it as well as the mask."
        return reason
    reason = compare(exp_mask, got_mask, case.atol, case.rtol, path="the mask")
    if reason:
        if isinstance(got_mask, torch.Tensor) and torch.equal(got_mask, mask):
            return reason + " The mask was not flipped: image and mask must get the SAME flip, or the labels no longer fit the pixels."
        if isinstance(got_mask, torch.Tensor) and got_mask.shape == mask.shape and torch.equal(got_mask, mask.flip(0)):
            return reason + " You flipped the mask top-bottom; for an H×W mask left-right is axis -1 (or 1)."
        return reason
    return None


def _resize_mask_checker(case: Case, got: Any) -> str | None:
    mask, size = case.args
    if isinstance(got, torch.Tensor) and got.is_floating_point():
        return (f"the result has dtype {got.dtype}; a label map must stay integer ({mask.dtype}): "
                f"convert back with `.to(mask.dtype)` (or `.long()`).")
    if isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(case.expected.shape) and got.dtype == mask.dtype:
        new = sorted(set(got.unique().tolist()) - set(mask.unique().tolist()))
        if new:
            return (f"the result holds label(s) {new} that are not in the input mask: that is what bilinear (or any "
                    f"averaging) interpolation does — it invents classes between classes. Use mode='nearest'.")
        # both nearest conventions are fine: "nearest" (PyTorch's legacy) and "nearest-exact" (pixel centres)
        legacy = F.interpolate(mask[None, None].float(), size=tuple(size), mode="nearest")[0, 0].to(mask.dtype)
        if torch.equal(got, legacy):
            return None
    if isinstance(got, torch.Tensor) and got.ndim == 4:
        return f"the result has shape {tuple(got.shape)}; remove the batch and channel axes again: `out[0, 0]`."
    return compare(case.expected, got, case.atol, case.rtol)


def _normalize_checker(case: Case, got: Any) -> str | None:
    image, mean, std = case.args
    m = torch.as_tensor(mean, dtype=image.dtype)
    s = torch.as_tensor(std, dtype=image.dtype)
    mistakes = [
        (image / s.view(-1, 1, 1) - m.view(-1, 1, 1), "You divided before subtracting: it is (image − mean) / std."),
        ((image - m.view(-1, 1, 1)) * s.view(-1, 1, 1), "Divide by the standard deviation, do not multiply."),
        ((image - m.view(-1, 1, 1)) / s.view(-1, 1, 1) ** 2, "Divide by the standard deviation, not the variance."),
    ]
    if image.shape[-1] == len(mean):
        mistakes.insert(0, ((image - m) / s, "Your mean and std were applied along the WIDTH (the last axis): reshape them "
                                             "to C×1×1 with `.view(-1, 1, 1)` so they broadcast over the channels."))
    return _diagnose(case, got, mistakes)


def _class_weights_checker(case: Case, got: Any) -> str | None:
    (counts,) = case.args
    if isinstance(got, torch.Tensor) and got.is_floating_point() and got.shape == case.expected.shape and got.dtype != torch.float32:
        got = got.float()  # float64 with the right numbers is fine
    freq = counts.double() / counts.sum()
    present = freq > 0
    lower = torch.zeros_like(freq)
    lower[present] = freq[present].median() / freq[present]  # torch's median: the lower middle value
    if isinstance(got, torch.Tensor) and got.shape == case.expected.shape and compare(lower.float(), got.float()) is None:
        return None
    if isinstance(got, torch.Tensor) and got.is_floating_point() and torch.isinf(got).any():
        return ("the result contains inf: a class with count 0 has frequency 0, and 1 / 0 = inf. "
                "Give classes that never occur weight 0.")
    inverse = torch.zeros_like(freq)
    inverse[present] = 1 / freq[present]
    with_absent = torch.nan_to_num(torch.quantile(freq, 0.5) / freq, posinf=0.0)
    return _diagnose(case, got, [
        (inverse.float(), "That is plain inverse frequency 1/f; median-frequency balancing multiplies it by the median "
                          "frequency, so a typical class gets weight about 1."),
        (freq.float(), "Those are the frequencies themselves; the weight is median(f) / f, large for RARE classes."),
        ((freq / torch.quantile(freq[present], 0.5)).float(), "Upside down: the weight is median(f) / f, not f / median(f)."),
        (with_absent.float(), "Take the median over the classes that occur only (freq > 0), then give absent classes weight 0."),
    ])


# ---------------------------------------------------------------------------------------------------
# exercises
# ---------------------------------------------------------------------------------------------------
def _coded_pair(c: int, h: int, w: int, seed: int, num_classes: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.randint(0, num_classes, (h, w), generator=g)
    image = torch.rand(c, h, w, generator=g)
    return image, mask


@register(
    "joint-hflip",
    lesson=LESSON,
    title="Flip an image and its mask together",
    hint="Both get the same left-right flip: `image.flip(-1)` mirrors the last axis (width) of C×H×W, "
    "`mask.flip(-1)` the width of H×W. Return them as a pair: `return image.flip(-1), mask.flip(-1)`.",
    checker=_joint_hflip_checker,
)
def _joint_hflip_cases() -> list[Case]:
    image = torch.arange(2 * 2 * 3, dtype=torch.float32).view(2, 2, 3)
    mask = torch.tensor([[0, 1, 2], [0, 0, 3]])
    street, street_mask = _coded_pair(3, 4, 6, seed=7)
    cases = [
        Case((image, mask), expected=joint_hflip_reference(image, mask),
             description="2-channel 2×3 image 0..11 with a 2×3 mask [[0, 1, 2], [0, 0, 3]]: columns reversed in both"),
        Case((street, street_mask), expected=joint_hflip_reference(street, street_mask),
             description="random RGB 4×6 image with a random 4×6 mask"),
    ]
    for seed, (c, h, w) in enumerate([(1, 5, 5), (3, 1, 7), (3, 8, 3), (4, 6, 9), (3, 3, 3)], start=20):
        img, m = _coded_pair(c, h, w, seed)
        cases.append(Case((img, m), expected=joint_hflip_reference(img, m), hidden=True, description=f"random {c}×{h}×{w} image and mask"))
    return cases


@register(
    "resize-mask",
    lesson=LESSON,
    title="Resize a label map with nearest neighbour",
    hint="F.interpolate wants a float N×C×H×W tensor: `F.interpolate(mask[None, None].float(), size=size, "
    "mode='nearest')[0, 0]`, then back to the mask's integer dtype with `.to(mask.dtype)`. Never bilinear for labels.",
    checker=_resize_mask_checker,
)
def _resize_mask_cases() -> list[Case]:
    two = torch.tensor([[0, 0, 5, 5], [0, 0, 5, 5]])
    g = torch.Generator().manual_seed(2)
    blocks = torch.randint(0, 9, (4, 6), generator=g).repeat_interleave(4, 0).repeat_interleave(4, 1)  # 16×24
    cases = [
        Case((two, (4, 8)), expected=resize_mask_reference(two, (4, 8)),
             description="2×4 mask with classes 0 and 5 doubled to 4×8: only 0 and 5 may appear, never 2 or 3"),
        Case((blocks, (8, 12)), expected=resize_mask_reference(blocks, (8, 12)),
             description="16×24 mask of 4×4 blocks of classes 0..8, halved to 8×12"),
    ]
    for seed, (h, w, size) in enumerate([(7, 9, (14, 18)), (32, 32, (16, 16)), (10, 10, (10, 10)), (12, 20, (30, 50))], start=30):
        g = torch.Generator().manual_seed(seed)
        m = torch.randint(0, 6, (h // 2 + 1, w // 2 + 1), generator=g).repeat_interleave(2, 0).repeat_interleave(2, 1)[:h, :w]
        cases.append(Case((m, size), expected=resize_mask_reference(m, size), hidden=True,
                          description=f"random {h}×{w} mask resized to {size[0]}×{size[1]}"))
    small = torch.tensor([[1, 2], [3, 4]], dtype=torch.uint8)
    cases.append(Case((small, (4, 4)), expected=resize_mask_reference(small, (4, 4)), hidden=True,
                      description="a uint8 mask keeps its dtype"))
    return cases


@register(
    "normalize",
    lesson=LESSON,
    title="Normalise an image per channel",
    hint="Turn mean and std into C×1×1 tensors, `torch.tensor(mean).view(-1, 1, 1)`, so they broadcast over H and W, "
    "then return `(image - mean) / std`.",
    checker=_normalize_checker,
)
def _normalize_cases() -> list[Case]:
    image = torch.tensor([[[0.5, 0.5, 0.5]], [[0.2, 0.4, 0.6]], [[1.0, 0.0, 1.0]]])  # 3×1×3
    mean, std = [0.5, 0.4, 0.5], [0.25, 0.2, 0.5]
    g = torch.Generator().manual_seed(3)
    rgb = torch.rand(3, 4, 5, generator=g)
    imagenet = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    cases = [
        Case((image, mean, std), expected=normalize_reference(image, mean, std),
             description="3×1×3 image, mean [0.5, 0.4, 0.5], std [0.25, 0.2, 0.5] (channel 0 becomes all 0)"),
        Case((rgb, *imagenet), expected=normalize_reference(rgb, *imagenet),
             description="random 3×4×5 image with the ImageNet mean and std"),
    ]
    for seed, (c, h, w) in enumerate([(1, 6, 6), (3, 3, 3), (4, 2, 7), (3, 16, 16)], start=40):
        g = torch.Generator().manual_seed(seed)
        img = torch.rand(c, h, w, generator=g)
        m = (torch.rand(c, generator=g) * 0.5 + 0.25).tolist()
        s = (torch.rand(c, generator=g) * 0.3 + 0.1).tolist()
        cases.append(Case((img, m, s), expected=normalize_reference(img, m, s), hidden=True,
                          description=f"random {c}×{h}×{w} image, random mean and std"))
    return cases


@register(
    "class-weights",
    lesson=LESSON,
    title="Median-frequency class weights",
    hint="freq = counts / counts.sum(); take the median of freq over the classes that occur (freq > 0); "
    "weight = median / freq for those classes and 0 for absent ones. Return a float tensor.",
    checker=_class_weights_checker,
)
def _class_weights_cases() -> list[Case]:
    visible = [
        (torch.tensor([600, 300, 100]), "counts [600, 300, 100]: frequencies 0.6, 0.3, 0.1, median 0.3 -> weights [0.5, 1, 3]"),
        (torch.tensor([500, 0, 250, 250]), "counts [500, 0, 250, 250]: class 1 never occurs -> weight 0; median of the other three is 0.25"),
    ]
    cases = [Case((c,), expected=class_weights_reference(c), description=text) for c, text in visible]
    hidden = [torch.tensor([10]), torch.tensor([1, 1, 1, 1, 1]), torch.tensor([2_979_000, 838_000, 55_000, 3_242_000, 1_474_000, 947_000, 401_000, 44_000, 20_000])]
    g = torch.Generator().manual_seed(50)
    for _ in range(4):
        n = int(torch.randint(2, 12, (1,), generator=g))
        counts = torch.randint(0, 10_000, (n,), generator=g)
        counts[int(torch.randint(0, n, (1,), generator=g))] += 1  # at least one pixel
        hidden.append(counts)
    for c in hidden:
        cases.append(Case((c,), expected=class_weights_reference(c), hidden=True, description=f"counts {c.tolist()}"))
    return cases
