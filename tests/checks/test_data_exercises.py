import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from course_lib import transforms
from course_lib.checks import Status, check, exercises_for
from course_lib.checks.data import (class_weights_reference, joint_hflip_reference, normalize_reference,
                                    resize_mask_reference)

REFERENCES = {
    "joint-hflip": joint_hflip_reference,
    "resize-mask": resize_mask_reference,
    "normalize": normalize_reference,
    "class-weights": class_weights_reference,
}


# ---- the references agree with the library and torchvision ---------------------------------------
def test_references_agree_with_library():
    g = torch.Generator().manual_seed(0)
    image, mask = torch.rand(3, 12, 20, generator=g), torch.randint(0, 9, (12, 20), generator=g)
    flipped = transforms.RandomHorizontalFlip(p=1.0)(image, mask)
    assert all(torch.equal(a, b) for a, b in zip(joint_hflip_reference(image, mask), flipped))
    _, resized = transforms.Resize((30, 50))(image, mask)
    assert torch.equal(resize_mask_reference(mask, (30, 50)), resized)
    assert torch.equal(resize_mask_reference(mask, (5, 7)), TF.resize(mask[None], [5, 7], interpolation=InterpolationMode.NEAREST_EXACT)[0])
    normalized, _ = transforms.Normalize()(image, mask)
    assert torch.allclose(normalize_reference(image, transforms.IMAGENET_MEAN, transforms.IMAGENET_STD), normalized, atol=1e-6)


def test_class_weights_reference_values():
    assert torch.allclose(class_weights_reference(torch.tensor([600, 300, 100])), torch.tensor([0.5, 1.0, 3.0]))
    weights = class_weights_reference(torch.tensor([500, 0, 250, 250]))
    assert weights.dtype == torch.float32 and torch.allclose(weights, torch.tensor([0.5, 0.0, 1.0, 1.0]))
    assert torch.allclose(class_weights_reference(torch.tensor([1, 3])), torch.tensor([2.0, 2 / 3]))  # median of 0.25, 0.75 = 0.5


def test_references_reject_bad_input():
    with pytest.raises(ValueError, match="mask"):
        resize_mask_reference(torch.rand(4, 4), (8, 8))
    with pytest.raises(ValueError, match="counts"):
        class_weights_reference(torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="one mean"):
        normalize_reference(torch.rand(3, 2, 2), [0.5], [0.5])


# ---- the checks ----------------------------------------------------------------------------------
def test_lesson_has_checked_exercises_with_visible_hidden_cases_and_hints():
    exercises = exercises_for("02_data")
    assert {e.id for e in exercises} == set(REFERENCES)
    for ex in exercises:
        cases = ex.make_cases()
        assert sum(not c.hidden for c in cases) >= 2 and sum(c.hidden for c in cases) >= 4, ex.id
        assert ex.hint and all(c.description for c in cases if not c.hidden), ex.id


def test_joint_hflip_mistakes():
    image_only = check("joint-hflip", lambda image, mask: (image.flip(-1), mask))
    assert image_only.status == Status.FAILED and "mistake:  mask not flipped:" in image_only.message and "SAME flip" in image_only.message
    mask_only = check("joint-hflip", lambda image, mask: (image, mask.flip(-1)))
    assert "mistake:  image not flipped:" in mask_only.message
    vertical = check("joint-hflip", lambda image, mask: (image.flip(-2), mask.flip(-2)))
    assert vertical.status == Status.FAILED and "mistake:  flipped top-bottom:" in vertical.message
    vertical_mask = check("joint-hflip", lambda image, mask: (image.flip(-1), mask.flip(0)))
    assert "mistake:  flipped top-bottom:" in vertical_mask.message  # only the mask mirrored the wrong way
    channels = check("joint-hflip", lambda image, mask: (image.flip(0), mask.flip(-1)))
    assert channels.status == Status.FAILED and "mistake:  colour channels reversed:" in channels.message
    single = check("joint-hflip", lambda image, mask: image.flip(-1))
    assert single.status == Status.FAILED and "pair" in single.message and "mistake:" not in single.message


def test_joint_hflip_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    first_failure("joint-hflip", lambda image, mask: (image.flip(-1), mask), "mask not flipped")


def test_resize_mask_mistakes():
    bilinear = check("resize-mask", lambda m, s: F.interpolate(m[None, None].float(), size=s, mode="bilinear")[0, 0].round().to(m.dtype))
    assert bilinear.status == Status.FAILED and "mistake:  bilinear for labels:" in bilinear.message and "invents classes" in bilinear.message
    float_out = check("resize-mask", lambda m, s: F.interpolate(m[None, None].float(), size=s, mode="nearest")[0, 0])
    assert float_out.status == Status.FAILED and "must stay integer" in float_out.message and "mistake:  left as float:" in float_out.message
    batched = check("resize-mask", lambda m, s: F.interpolate(m[None, None].float(), size=s, mode="nearest").to(m.dtype))
    assert batched.status == Status.FAILED and "mistake:  batch and channel axes kept:" in batched.message
    swapped = check("resize-mask", lambda m, s: F.interpolate(m[None, None].float(), size=(s[1], s[0]), mode="nearest")[0, 0].to(m.dtype))
    assert swapped.status == Status.FAILED and "mistake:  size as (width, height):" in swapped.message
    legacy = check("resize-mask", lambda m, s: F.interpolate(m[None, None].float(), size=s, mode="nearest")[0, 0].to(m.dtype))
    assert legacy.status == Status.PASSED  # PyTorch's older 'nearest' convention is fine too


def test_resize_mask_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    first_failure("resize-mask", lambda m, s: F.interpolate(m[None, None].float(), size=s, mode="bilinear")[0, 0].long(),
                  "bilinear for labels")


def test_normalize_mistakes():
    width = check("normalize", lambda image, mean, std: (image - torch.tensor(mean)) / torch.tensor(std))
    assert width.status == Status.FAILED and "mistake:  mean and std along the width:" in width.message and "WIDTH" in width.message
    order = check("normalize", lambda image, mean, std: image / torch.tensor(std).view(-1, 1, 1) - torch.tensor(mean).view(-1, 1, 1))
    assert order.status == Status.FAILED and "mistake:  divided before subtracting:" in order.message
    times = check("normalize", lambda image, mean, std: (image - torch.tensor(mean).view(-1, 1, 1)) * torch.tensor(std).view(-1, 1, 1))
    assert "mistake:  multiplied by std:" in times.message


def test_normalize_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    first_failure("normalize", lambda image, mean, std: (image - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1) ** 2,
                  "divided by the variance")


def test_class_weights_mistakes():
    inverse = check("class-weights", lambda c: 1 / (c / c.sum()))
    assert inverse.status == Status.FAILED and "mistake:  plain inverse frequency:" in inverse.message
    with_zero = check("class-weights", lambda c: torch.where(c > 0, 1 / (c / c.sum()), 0.0).float())
    assert with_zero.status == Status.FAILED and "mistake:  plain inverse frequency:" in with_zero.message and "median" in with_zero.message
    upside_down = check("class-weights", lambda c: (c / c.sum()) / (c / c.sum())[c > 0].median())
    assert upside_down.status == Status.FAILED and "mistake:  upside down:" in upside_down.message
    freqs = check("class-weights", lambda c: c.double() / c.sum())  # float64 is recognised too
    assert "mistake:  frequencies, not weights:" in freqs.message

    def infs(counts):
        freq = counts / counts.sum()
        return (freq[freq > 0].median() / freq).float()

    result = check("class-weights", infs)
    assert result.status == Status.FAILED and "inf" in result.message and "mistake:  absent classes divided by zero:" in result.message

    def median_of_all(counts):
        freq = counts.double() / counts.sum()
        return torch.where(freq > 0, freq.median() / freq, 0.0)

    assert "mistake:  median over absent classes too:" in check("class-weights", median_of_all).message

    def lower_median(counts):  # torch.median takes the lower middle value: accepted
        freq = counts.double() / counts.sum()
        out = torch.zeros_like(freq)
        out[freq > 0] = freq[freq > 0].median() / freq[freq > 0]
        return out

    assert check("class-weights", lower_median).status == Status.PASSED


def test_class_weights_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    first_failure("class-weights", lambda c: (c / c.sum()).float(), "frequencies, not weights")
