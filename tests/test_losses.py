"""Tests of course_lib.losses against torch, torchvision and segmentation_models_pytorch references."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from packaging.version import Version

from course_lib import losses as L

smp_losses = pytest.importorskip("segmentation_models_pytorch.losses")
import segmentation_models_pytorch as smp  # noqa: E402

# smp >= 0.6 computes Dice as (I + s) / (|p|/2 + |t|/2 + s) (Tversky form); ours is the textbook
# (2I + smooth) / (|p| + |t| + smooth), so ours with smooth=2*s equals smp with smooth=s.
SMP_SMOOTH_FACTOR = 2.0 if Version(smp.__version__) >= Version("0.6") else 1.0


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _multi(seed=0, n=2, c=4, h=9, w=11, void=False):
    g = _gen(seed)
    logits = torch.randn(n, c, h, w, generator=g, dtype=torch.float64) * 2
    target = torch.randint(0, c, (n, h, w), generator=g)
    if void:
        target[torch.rand(n, h, w, generator=g) < 0.25] = 255
    return logits, target


def _binary(seed=0, n=2, h=9, w=11, channel=True, void=False):
    g = _gen(seed)
    logits = torch.randn(n, 1, h, w, generator=g, dtype=torch.float64) * 2
    target = (torch.rand(n, h, w, generator=g) < 0.3).long()
    if void:
        target[torch.rand(n, h, w, generator=g) < 0.25] = 255
    return (logits if channel else logits[:, 0]), target


def _close(a, b, tol=1e-10):
    torch.testing.assert_close(
        torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64), rtol=tol, atol=tol
    )


# ------------------------------------------------------------------------------------------- torch references
@pytest.mark.parametrize("pos_weight", [None, 3.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_matches_bce_with_logits(pos_weight, reduction):
    logits, target = _binary(channel=False)
    pw = None if pos_weight is None else torch.tensor(pos_weight, dtype=torch.float64)
    ref = nn.BCEWithLogitsLoss(pos_weight=pw, reduction=reduction)(logits, target.double())
    _close(L.bce_loss(logits, target, pos_weight=pos_weight, reduction=reduction), ref)
    # N×1×H×W logits with an N×H×W target give the same answer
    _close(L.bce_loss(logits[:, None], target, pos_weight=pos_weight, reduction=reduction), ref)


def test_bce_with_soft_and_bool_targets():
    logits, target = _binary(channel=False)
    soft = target.double() * 0.8 + 0.1
    _close(L.bce_loss(logits, soft), F.binary_cross_entropy_with_logits(logits, soft))
    _close(L.bce_loss(logits, target.bool()), F.binary_cross_entropy_with_logits(logits, target.double()))


@pytest.mark.parametrize("weight", [None, [1.0, 2.0, 0.5, 3.0]])
@pytest.mark.parametrize("ignore_index", [None, 255, 1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(weight, ignore_index, reduction):
    logits, target = _multi(void=ignore_index == 255)
    w = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    ref = nn.CrossEntropyLoss(
        weight=w, ignore_index=-100 if ignore_index is None else ignore_index, reduction=reduction
    )(logits, target)
    _close(L.cross_entropy_loss(logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction), ref)


def test_cross_entropy_all_ignored_is_zero_with_gradient_not_nan():
    logits, target = _multi()
    logits.requires_grad_(True)
    target[:] = 255
    assert torch.isnan(F.cross_entropy(logits, target, ignore_index=255))  # what torch does
    loss = L.cross_entropy_loss(logits, target, ignore_index=255)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))
    assert L.bce_loss(_binary()[0], torch.full((2, 9, 11), 255), ignore_index=255).item() == 0.0


# ------------------------------------------------------------------------------------------- smp references
@pytest.mark.parametrize("smooth", [0.0, 1.0])
@pytest.mark.parametrize("ignore_index", [None, 255])
def test_soft_dice_multiclass_matches_smp(smooth, ignore_index):
    logits, target = _multi(c=5, void=ignore_index is not None)
    target[target == 4] = 3  # class 4 absent from the target: contributes 0, counts in the mean (as smp)
    ref = smp_losses.DiceLoss("multiclass", smooth=smooth, ignore_index=ignore_index)(logits, target)
    ours = L.soft_dice_loss(logits, target, ignore_index=ignore_index, smooth=SMP_SMOOTH_FACTOR * smooth)
    _close(ours, ref, tol=1e-7)


@pytest.mark.parametrize("smooth", [0.0, 1.0])
@pytest.mark.parametrize("channel", [True, False])
@pytest.mark.parametrize("ignore_index", [None, 255])
def test_soft_dice_binary_matches_smp(smooth, channel, ignore_index):
    logits, target = _binary(channel=channel, void=ignore_index is not None)
    smp_logits = logits if channel else logits[:, None]
    ref = smp_losses.DiceLoss("binary", smooth=smooth, ignore_index=ignore_index)(smp_logits, target)
    ours = L.soft_dice_loss(logits, target, ignore_index=ignore_index, smooth=SMP_SMOOTH_FACTOR * smooth)
    _close(ours, ref, tol=1e-7)


def test_soft_dice_equals_textbook_formula():
    logits, target = _multi(c=3)
    p = logits.softmax(1)
    t = F.one_hot(target, 3).permute(0, 3, 1, 2).double()
    dims = (0, 2, 3)
    expected = (1 - (2 * (p * t).sum(dims) + 1.0) / (p.sum(dims) + t.sum(dims) + 1.0)).mean()
    _close(L.soft_dice_loss(logits, target, smooth=1.0), expected)
    per_class = L.soft_dice_loss(logits, target, smooth=1.0, reduction="none")
    assert per_class.shape == (3,)
    _close(L.soft_dice_loss(p, target, smooth=1.0, from_logits=False), expected)


@pytest.mark.parametrize("gamma", [0.0, 2.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("ignore_index", [None, 255])
def test_binary_focal_matches_smp_and_torchvision(gamma, alpha, ignore_index):
    from torchvision.ops import sigmoid_focal_loss

    logits, target = _binary(channel=True, void=ignore_index is not None)
    ref = smp_losses.FocalLoss("binary", gamma=gamma, alpha=alpha, ignore_index=ignore_index)(logits, target)
    ours = L.focal_loss(logits, target, gamma=gamma, alpha=alpha, ignore_index=ignore_index)
    _close(ours, ref, tol=1e-9)
    if ignore_index is None:
        tv = sigmoid_focal_loss(
            logits[:, 0], target.double(), alpha=-1 if alpha is None else alpha, gamma=gamma, reduction="mean"
        )
        _close(ours, tv, tol=1e-9)


def test_multiclass_focal_is_softmax_focal_and_gamma0_is_cross_entropy():
    logits, target = _multi(void=True)
    _close(L.focal_loss(logits, target, gamma=0.0, ignore_index=255), F.cross_entropy(logits, target, ignore_index=255))
    # brute force per pixel
    alpha = torch.tensor([0.5, 1.0, 2.0, 1.5], dtype=torch.float64)
    logp = logits.log_softmax(1)
    total, count = 0.0, 0
    for n in range(target.shape[0]):
        for i in range(target.shape[1]):
            for j in range(target.shape[2]):
                k = int(target[n, i, j])
                if k == 255:
                    continue
                lp = logp[n, k, i, j]
                total += -alpha[k] * (1 - lp.exp()) ** 2 * lp
                count += 1
    _close(L.focal_loss(logits, target, gamma=2.0, alpha=alpha.tolist(), ignore_index=255), total / count)
    # smp's multi-class FocalLoss is a different loss (sum of one-vs-rest sigmoid focal terms): it does not agree
    smp_value = smp_losses.FocalLoss("multiclass", gamma=2.0)(logits, target.clamp(max=3))
    assert abs(smp_value.item() - L.focal_loss(logits, target.clamp(max=3)).item()) > 1e-3


def test_focal_down_weights_easy_pixels():
    logits, target = _multi()
    assert L.focal_loss(logits, target, gamma=2.0) < L.focal_loss(logits, target, gamma=0.0)


# ------------------------------------------------------------------------------------------- behaviour
def test_perfect_prediction_gives_dice_loss_near_zero():
    _, target = _multi(c=3)
    logits = F.one_hot(target, 3).permute(0, 3, 1, 2).double() * 40 - 20
    assert L.soft_dice_loss(logits, target).item() < 1e-6
    b = (target > 0).long()
    assert L.soft_dice_loss(b[:, None].double() * 40 - 20, b).item() < 1e-6
    assert L.combined_loss(logits, target).item() < 1e-6
    # and a wrong prediction is far from zero
    assert L.soft_dice_loss(-logits, target).item() > 0.9


@pytest.mark.parametrize(
    "fn",
    [
        lambda lg, t: L.cross_entropy_loss(lg, t, ignore_index=255),
        lambda lg, t: L.soft_dice_loss(lg, t, ignore_index=255),
        lambda lg, t: L.focal_loss(lg, t, ignore_index=255),
        lambda lg, t: L.combined_loss(lg, t, ignore_index=255),
    ],
)
def test_ignored_pixels_do_not_affect_loss_or_gradient(fn):
    logits, target = _multi(void=True)
    void = target == 255
    other = logits.clone()
    other[void.unsqueeze(1).expand_as(other)] = torch.randn(int(void.sum()) * logits.shape[1], dtype=torch.float64) * 10
    a = logits.clone().requires_grad_(True)
    b = other.clone().requires_grad_(True)
    la, lb = fn(a, target), fn(b, target)
    _close(la, lb)
    la.backward()
    lb.backward()
    assert a.grad[void.unsqueeze(1).expand_as(a)].abs().max() == 0
    _close(a.grad, b.grad)


@pytest.mark.parametrize(
    "fn, binary",
    [
        (L.bce_loss, True),
        (L.cross_entropy_loss, False),
        (L.soft_dice_loss, False),
        (L.soft_dice_loss, True),
        (L.focal_loss, False),
        (L.focal_loss, True),
        (L.combined_loss, False),
        (L.combined_loss, True),
    ],
)
def test_gradients_flow_and_are_finite(fn, binary):
    logits, target = _binary() if binary else _multi()
    logits = logits.float().requires_grad_(True)
    loss = fn(logits, target)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_modules_and_factory():
    logits, target = _multi(void=True)
    assert L.create_loss("ce", ignore_index=255)(logits, target) == L.cross_entropy_loss(
        logits, target, ignore_index=255
    )
    assert L.create_loss("Dice", smooth=1.0)(logits, target.clamp(max=3)) == L.soft_dice_loss(
        logits, target.clamp(max=3), smooth=1.0
    )
    focal = L.create_loss("focal", gamma=1.0, alpha=[1.0, 2.0, 1.0, 1.0], ignore_index=255)
    _close(focal(logits, target), L.focal_loss(logits, target, 1.0, [1.0, 2.0, 1.0, 1.0], 255))
    bl, bt = _binary()
    assert L.create_loss("bce", pos_weight=2.0)(bl, bt) == L.bce_loss(bl, bt, pos_weight=2.0)
    _close(L.create_loss("focal", alpha=0.25)(bl, bt), L.focal_loss(bl, bt, alpha=0.25))
    combo = L.create_loss("ce+dice", ce_weight=0.5, dice_weight=2.0, ignore_index=255)
    total = combo(logits, target)
    _close(
        total,
        0.5 * L.cross_entropy_loss(logits, target, ignore_index=255)
        + 2.0 * L.soft_dice_loss(logits, target, ignore_index=255),
    )
    assert set(combo.last_terms) == {"ce", "dice"}
    _close(L.ComboLoss()(bl, bt), L.bce_loss(bl, bt) + L.soft_dice_loss(bl, bt))
    # class weights are buffers: they follow .to(dtype/device) with the model
    ce = L.CrossEntropyLoss(weight=[1.0, 2.0, 3.0, 4.0]).to(torch.float64)
    assert ce.weight.dtype == torch.float64 and "weight" in dict(ce.named_buffers())


def test_factory_errors_list_valid_names_and_options():
    with pytest.raises(ValueError) as err:
        L.create_loss("jaccard")
    for name in ("bce", "ce", "dice", "focal", "combo"):
        assert name in str(err.value)
    with pytest.raises(ValueError) as err:
        L.create_loss("dice", gamma=2.0)
    assert "gamma" in str(err.value) and "smooth" in str(err.value)


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, words",
    [
        (
            lambda: L.cross_entropy_loss(torch.randn(2, 3, 4, 4), torch.zeros(2, 5, 4, dtype=torch.long)),
            ["logits", "target", "(2, 3, 4, 4)", "(2, 5, 4)"],
        ),
        (lambda: L.cross_entropy_loss(torch.randn(2, 3, 4, 4), torch.zeros(2, 4, 4)), ["target", "float32", "long"]),
        (
            lambda: L.cross_entropy_loss(torch.randn(2, 3, 4, 4), torch.full((2, 4, 4), 3)),
            ["target", "class id 3", "ignore_index"],
        ),
        (lambda: L.cross_entropy_loss(torch.randn(2, 1, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long)), ["bce_loss"]),
        (
            lambda: L.cross_entropy_loss(
                torch.zeros(2, 3, 4, 4, dtype=torch.long), torch.zeros(2, 4, 4, dtype=torch.long)
            ),
            ["logits", "float"],
        ),
        (
            lambda: L.cross_entropy_loss(
                torch.randn(2, 3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), weight=[1.0, 2.0]
            ),
            ["weight", "3 values"],
        ),
        (lambda: L.bce_loss(torch.randn(2, 3, 4, 4), torch.zeros(2, 4, 4)), ["bce_loss", "logits", "3 channels"]),
        (lambda: L.bce_loss(torch.randn(2, 1, 4, 4), torch.full((2, 4, 4), 255)), ["target", "255", "ignore_index"]),
        (lambda: L.bce_loss(torch.randn(2, 4, 4), torch.zeros(2, 4, 5)), ["logits", "target", "shape"]),
        (
            lambda: L.soft_dice_loss(torch.randn(2, 3, 4, 4), torch.zeros(3, 4, 4, dtype=torch.long)),
            ["logits", "target", "shape"],
        ),
        (
            lambda: L.soft_dice_loss(torch.randn(2, 3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), smooth=-1),
            ["smooth"],
        ),
        (
            lambda: L.focal_loss(torch.randn(2, 3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), alpha=0.25),
            ["alpha", "one weight per class"],
        ),
        (
            lambda: L.focal_loss(torch.randn(2, 4, 4), torch.zeros(2, 4, 4), alpha=[0.1, 0.9]),
            ["alpha", "float in [0, 1]"],
        ),
        (lambda: L.focal_loss(torch.randn(2, 4, 4), torch.zeros(2, 4, 4), gamma=-1.0), ["gamma"]),
        (lambda: L.bce_loss(torch.randn(2, 4, 4), torch.zeros(2, 4, 4), reduction="avg"), ["reduction", "mean"]),
        (
            lambda: L.combined_loss(torch.randn(2, 1, 4, 4), torch.zeros(2, 4, 4), class_weights=[1.0, 2.0]),
            ["class_weights", "pos_weight"],
        ),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, words):
    with pytest.raises(ValueError) as err:
        call()
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_non_tensor_input_raises_type_error():
    with pytest.raises(TypeError, match="logits"):
        L.bce_loss([0.1, 0.2], torch.zeros(2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_losses_match_cpu():
    logits, target = _multi(void=True)
    dev = torch.device("cuda")
    combo = L.ComboLoss(class_weights=[1.0, 2.0, 1.0, 1.0], ignore_index=255).to(dev)
    _close(
        combo(logits.to(dev), target.to(dev)).cpu(),
        L.ComboLoss(class_weights=[1.0, 2.0, 1.0, 1.0], ignore_index=255)(logits, target),
        tol=1e-6,
    )
    _close(
        L.focal_loss(logits.to(dev), target.to(dev), ignore_index=255).cpu(),
        L.focal_loss(logits, target, ignore_index=255),
        tol=1e-6,
    )


def test_median_frequency_weights_leave_void_out_and_give_absent_classes_zero():
    from course_lib.losses import median_frequency_weights

    masks = torch.tensor([[0, 0, 0, 0, 1, 1, 3, 9, 9]])  # shares 4/7, 2/7, 0, 1/7 once void (9) is left out
    weights = median_frequency_weights(masks, num_classes=4, ignore_index=9)
    assert torch.allclose(weights, torch.tensor([0.5, 1.0, 0.0, 2.0]))
    assert torch.allclose(median_frequency_weights(masks, 4, 9, power=0.5), weights.sqrt())
    for bad, message in (({"power": 0}, "power"), ({"ignore_index": None}, "outside 0..3"), ({"num_classes": 0}, "num_classes")):
        with pytest.raises(ValueError, match=message):
            median_frequency_weights(masks, **{"num_classes": 4, "ignore_index": 9, **bad})
    with pytest.raises(TypeError, match="integer"):
        median_frequency_weights(masks.float(), 4, 9)
