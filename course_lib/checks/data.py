"""Exercises of lesson 02 (data preprocessing and augmentation): flips, mask resizing, normalisation, class weights.

The reference answers here are also what the lesson uses after each exercise, so the notebook
runs on even when an exercise is left open.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from .core import Case, Mistake, compare
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
# checkers (structural reasons) and the typical mistakes, recognised by name
# ---------------------------------------------------------------------------------------------------
def _joint_hflip_checker(case: Case, got: Any) -> str | None:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"return a pair (image, mask), not {type(got).__name__}{' of ' + str(len(got)) if isinstance(got, (tuple, list)) else ''}."
    exp_img, exp_mask = case.expected
    got_img, got_mask = got
    return (compare(exp_img, got_img, case.atol, case.rtol, path="the image")
            or compare(exp_mask, got_mask, case.atol, case.rtol, path="the mask"))


def _hflip_part(case: Case, got: Any, reason: str) -> tuple[str, torch.Tensor, Any] | None:
    """Which part of the pair failed ('image' or 'mask'), its input and what the learner returned for it."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return None
    for index, part in enumerate(("image", "mask")):
        if reason.startswith(f"the {part} "):
            return part, case.args[index], got[index]
    return None


def _hflip_part_is(case: Case, got: Any, reason: str, part_wanted: str, how) -> bool:
    found = _hflip_part(case, got, reason)
    if found is None or found[0] != part_wanted or not isinstance(found[2], torch.Tensor):
        return False
    part, original, returned = found
    candidate = how(original)
    return (candidate.shape == returned.shape and torch.equal(candidate, returned)
            and not torch.equal(candidate, original.flip(-1)))


def _hflip_vertical(case: Case, got: Any, reason: str) -> bool:
    return (_hflip_part_is(case, got, reason, "image", lambda t: t.flip(-2))
            or _hflip_part_is(case, got, reason, "mask", lambda t: t.flip(-2)))


_JOINT_HFLIP_MISTAKES = (
    Mistake(
        "mask not flipped",
        lambda image, mask: (image.flip(-1), mask),
        "the image is mirrored but the mask is not: image and mask must get the SAME flip, or the labels no "
        "longer sit on their pixels.",
        detect=lambda case, got, reason: _hflip_part_is(case, got, reason, "mask", lambda t: t),
    ),
    Mistake(
        "image not flipped",
        lambda image, mask: (image, mask.flip(-1)),
        "the image came back unchanged: flip it as well as the mask, the same way.",
        detect=lambda case, got, reason: _hflip_part_is(case, got, reason, "image", lambda t: t),
    ),
    Mistake(
        "flipped top-bottom",
        lambda image, mask: (image.flip(-2), mask.flip(-2)),
        "you mirrored top and bottom (the height axis, -2); a horizontal flip mirrors left and right, the width, "
        "which is the last axis of both the C×H×W image and the H×W mask.",
        detect=_hflip_vertical,
    ),
    Mistake(
        "colour channels reversed",
        lambda image, mask: (image.flip(0), mask.flip(-1)),
        "you flipped axis 0 of the image, which reverses its colour channels (RGB becomes BGR), not its columns; "
        "the width is the last axis.",
        detect=lambda case, got, reason: _hflip_part_is(case, got, reason, "image", lambda t: t.flip(0)),
    ),
)


def _resize_mask_checker(case: Case, got: Any) -> str | None:
    mask, size = case.args
    if isinstance(got, torch.Tensor) and got.is_floating_point():
        return f"the result has dtype {got.dtype}; a label map must stay integer, like the input ({mask.dtype})."
    if isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(case.expected.shape) and got.dtype == mask.dtype:
        new = sorted(set(got.unique().tolist()) - set(mask.unique().tolist()))
        if new:
            return f"the result holds label(s) {new} that are not in the input mask."
        # both nearest conventions are fine: "nearest" (PyTorch's legacy) and "nearest-exact" (pixel centres)
        legacy = F.interpolate(mask[None, None].float(), size=tuple(size), mode="nearest")[0, 0].to(mask.dtype)
        if torch.equal(got, legacy):
            return None
    return compare(case.expected, got, case.atol, case.rtol)


def _invents_labels(case: Case, got: Any) -> bool:
    mask = case.args[0]
    return (isinstance(got, torch.Tensor) and not got.is_floating_point() and got.numel() > 0
            and bool(set(got.unique().tolist()) - set(mask.unique().tolist())))


def _size_swapped(case: Case, got: Any) -> bool:
    h, w = (int(v) for v in case.args[1])
    return isinstance(got, torch.Tensor) and h != w and tuple(got.shape) == (w, h)


_RESIZE_MASK_MISTAKES = (
    Mistake(
        "bilinear for labels",
        lambda mask, size: F.interpolate(mask[None, None].float(), size=tuple(size), mode="bilinear")[0, 0].round().to(mask.dtype),
        "the result invents classes between classes: bilinear (or any averaging) interpolation mixes neighbouring "
        "labels, and halfway between class 0 and class 5 is not class 2. Labels need nearest neighbour.",
        detect=lambda case, got, reason: _invents_labels(case, got),
    ),
    Mistake(
        "left as float",
        lambda mask, size: F.interpolate(mask[None, None].float(), size=tuple(size), mode="nearest")[0, 0],
        "F.interpolate works on floats, so its result is float; a label map must stay integer: convert it back "
        "to the input mask's dtype at the end.",
        detect=lambda case, got, reason: isinstance(got, torch.Tensor) and got.is_floating_point(),
    ),
    Mistake(
        "batch and channel axes kept",
        lambda mask, size: F.interpolate(mask[None, None].float(), size=tuple(size), mode="nearest").to(mask.dtype),
        "the result is still 1×1×h×w: you added a batch and a channel axis for F.interpolate, now take them away "
        "again so an h×w mask comes back.",
        detect=lambda case, got, reason: isinstance(got, torch.Tensor) and got.ndim == 4,
    ),
    Mistake(
        "size as (width, height)",
        lambda mask, size: resize_mask_reference(mask, (size[1], size[0])),
        "your result is w×h: size is (height, width) in PyTorch, rows first (PIL's resize is the one that "
        "takes width first).",
        detect=lambda case, got, reason: _size_swapped(case, got),
    ),
)


def _channel_stats(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    m = torch.as_tensor(mean, dtype=image.dtype).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=image.dtype).view(-1, 1, 1)
    return m, s


def _normalize_width(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    return (image - torch.as_tensor(mean, dtype=image.dtype)) / torch.as_tensor(std, dtype=image.dtype)


def _normalize_divided_first(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    m, s = _channel_stats(image, mean, std)
    return image / s - m


def _normalize_multiplied(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    m, s = _channel_stats(image, mean, std)
    return (image - m) * s


def _normalize_variance(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    m, s = _channel_stats(image, mean, std)
    return (image - m) / s ** 2


_NORMALIZE_MISTAKES = (
    Mistake(
        "mean and std along the width",
        _normalize_width,
        "your mean and std were applied along the WIDTH (the last axis): a length-C tensor broadcasts against the "
        "last axis of C×H×W, so give it the shape C×1×1 to line it up with the channels.",
    ),
    Mistake(
        "divided before subtracting",
        _normalize_divided_first,
        "you divided before subtracting: / binds tighter than −, so without brackets only the image is divided "
        "by the std; subtract the mean first, then divide the difference.",
    ),
    Mistake(
        "multiplied by std",
        _normalize_multiplied,
        "divide by the standard deviation, do not multiply: normalising shrinks a channel with a large spread.",
    ),
    Mistake(
        "divided by the variance",
        _normalize_variance,
        "you divided by std squared, the variance; divide by the standard deviation itself.",
    ),
)


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
    return compare(case.expected, got, case.atol, case.rtol)


def _frequencies(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    freq = counts.double() / counts.sum()
    return freq, freq > 0


def _weights_inverse(counts: torch.Tensor) -> torch.Tensor:
    freq, present = _frequencies(counts)
    out = torch.zeros_like(freq)
    out[present] = 1 / freq[present]
    return out.float()


def _weights_upside_down(counts: torch.Tensor) -> torch.Tensor:
    freq, present = _frequencies(counts)
    return (freq / torch.quantile(freq[present], 0.5)).float()


def _weights_median_with_absent(counts: torch.Tensor, lower: bool = False) -> torch.Tensor:
    freq, _ = _frequencies(counts)
    median = freq.median() if lower else torch.quantile(freq, 0.5)
    return torch.nan_to_num(median / freq, posinf=0.0).float()


def _weights_with_inf(counts: torch.Tensor) -> torch.Tensor:
    freq, present = _frequencies(counts)
    return (torch.quantile(freq[present], 0.5) / freq).float()


def _like_float(wrong):
    """Recognise ``wrong``'s numbers in any float dtype (float64 results are accepted too)."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        if not (isinstance(got, torch.Tensor) and got.is_floating_point()):
            return False
        mistake = wrong(*case.args)
        return (compare(case.expected, mistake, case.atol, case.rtol) is not None
                and compare(mistake, got.float(), case.atol, case.rtol) is None)
    return detect


_CLASS_WEIGHTS_MISTAKES = (
    Mistake(
        "absent classes divided by zero",
        _weights_with_inf,
        "the result contains inf: a class with count 0 has frequency 0, and dividing by 0 gives inf. Give "
        "classes that never occur weight 0 instead.",
        detect=lambda case, got, reason: isinstance(got, torch.Tensor) and got.is_floating_point() and bool(torch.isinf(got).any()),
    ),
    Mistake(
        "plain inverse frequency",
        _weights_inverse,
        "that is plain inverse frequency 1/f; median-frequency balancing also multiplies it by the median "
        "frequency, so that a typical class gets a weight of about 1.",
        detect=_like_float(_weights_inverse),
    ),
    Mistake(
        "frequencies, not weights",
        lambda counts: _frequencies(counts)[0].float(),
        "those are the class frequencies themselves; a weight must be LARGE for a rare class, so the frequency "
        "belongs in the denominator.",
        detect=_like_float(lambda counts: _frequencies(counts)[0].float()),
    ),
    Mistake(
        "upside down",
        _weights_upside_down,
        "you divided each frequency by the median, which makes common classes heavy and rare ones light; the "
        "weight is the other way round.",
        detect=_like_float(_weights_upside_down),
    ),
    Mistake(
        "median over absent classes too",
        _weights_median_with_absent,
        "your median includes the classes with frequency 0, which pulls it down; take the median over the classes "
        "that occur only, then give the absent ones weight 0.",
        detect=lambda case, got, reason: (_like_float(_weights_median_with_absent)(case, got, reason)
                                          or _like_float(lambda c: _weights_median_with_absent(c, lower=True))(case, got, reason)),
    ),
)


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
    hints=(
        "A horizontal flip mirrors left and right, so it reverses the width. The mask must get exactly the same "
        "flip as the image, or its labels no longer sit on the right pixels; hand both back together, image first.",
        "`.flip(dims)` reverses the axes you name. The width is the last axis of the C×H×W image and of the H×W "
        "mask alike, so the same negative axis index works for both. Return a tuple (image, mask).",
        "`return image.flip(-1), mask.flip(-1)`",
    ),
    checker=_joint_hflip_checker,
    mistakes=_JOINT_HFLIP_MISTAKES,
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
    hints=(
        "A label map holds class numbers, not brightness: every output pixel must copy the label of one input "
        "pixel, never a mix of neighbours (halfway between class 0 and class 5 is not class 2). The result keeps "
        "the mask's integer type and is a plain h×w map again.",
        "Use `F.interpolate(..., size=size, mode='nearest')`. It wants a float tensor with batch and channel axes "
        "(N×C×H×W): add two leading axes and convert with `.float()` before, then undo both after.",
        "`out = F.interpolate(mask[None, None].float(), size=size, mode='nearest')`, then "
        "`return out[0, 0].to(mask.dtype)`. Never bilinear for labels.",
    ),
    checker=_resize_mask_checker,
    mistakes=_RESIZE_MASK_MISTAKES,
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
    hints=(
        "Each colour channel has its own mean and its own standard deviation. From every pixel of a channel, "
        "subtract that channel's mean, then divide the difference by that channel's std — so every value must "
        "meet the two numbers of its own channel.",
        "Make mean and std tensors with the image's dtype (`torch.as_tensor`) and reshape them to C×1×1 with "
        "`.view(-1, 1, 1)`: a plain length-C tensor would broadcast along the last axis, the width. Mind the "
        "brackets: subtract before you divide.",
        "`m = torch.as_tensor(mean, dtype=image.dtype).view(-1, 1, 1)`, the same for `s` with std, then "
        "`return (image - m) / s`.",
    ),
    mistakes=_NORMALIZE_MISTAKES,
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
    hints=(
        "Turn the counts into each class's share of all pixels. A class's weight compares the median share with "
        "its own share, so a rare class gets a large weight and a typical class about 1. Classes with no pixels "
        "are left out of the median and get weight 0.",
        "Divide the counts by their sum (in float64: `.double()`), select the classes that occur with a boolean "
        "mask (frequency > 0), take the `.median()` of their frequencies, and fill the weights of those classes "
        "into a `torch.zeros_like` tensor, so absent classes stay 0.",
        "`freq = counts.double() / counts.sum()`; `present = freq > 0`; `weights = torch.zeros_like(freq)`; "
        "`weights[present] = freq[present].median() / freq[present]`; `return weights.float()`.",
    ),
    checker=_class_weights_checker,
    mistakes=_CLASS_WEIGHTS_MISTAKES,
)
def _class_weights_cases() -> list[Case]:
    visible = [
        (torch.tensor([600, 300, 100]), "counts [600, 300, 100]: frequencies 0.6, 0.3, 0.1, median 0.3 -> weights [0.5, 1, 3]"),
        (torch.tensor([500, 0, 250, 250]), "counts [500, 0, 250, 250]: class 1 never occurs -> weight 0; median of the other three is 0.25"),
    ]
    cases = [Case((c,), expected=class_weights_reference(c), description=text) for c, text in visible]
    hidden = [torch.tensor([10]), torch.tensor([1, 1, 1, 1, 1]), torch.tensor([0, 100, 300, 600]), torch.tensor([2_979_000, 838_000, 55_000, 3_242_000, 1_474_000, 947_000, 401_000, 44_000, 20_000])]
    g = torch.Generator().manual_seed(50)
    for _ in range(4):
        n = int(torch.randint(2, 12, (1,), generator=g))
        counts = torch.randint(0, 10_000, (n,), generator=g)
        counts[int(torch.randint(0, n, (1,), generator=g))] += 1  # at least one pixel
        hidden.append(counts)
    for c in hidden:
        cases.append(Case((c,), expected=class_weights_reference(c), hidden=True, description=f"counts {c.tolist()}"))
    return cases
