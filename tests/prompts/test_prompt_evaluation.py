"""The click model as a tool and its evaluation (``course_lib.prompts.evaluation``, ``.iterative``): NoC@IoU."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from course_lib import models, prompts, training
from click_shapes import disks


@pytest.fixture(scope="module")
def objects():
    """Two 24×24 images with three and two disks: an instance dataset of (image, id map) pairs."""
    pairs = []
    for centres in ([(6, 6), (6, 14), (17, 10)], [(8, 8), (16, 17)]):
        ids = disks((24, 24), centres)
        pairs.append(((ids > 0).float()[None] * 0.8 + 0.1, ids))
    return prompts.ClickDataset(pairs)


def _oracle(dataset):
    """A perfect segmenter: the mask of the object under the first click, looked up in ``dataset``."""
    def segment(image, clicks):
        row, col, _ = clicks[0]
        for i in range(dataset.num_objects):
            im, mask = dataset.object(i)
            if torch.equal(im, image) and mask[row, col]:
                return mask.float()
        raise AssertionError("the first click is on no object")
    return segment


# ---- NoC ------------------------------------------------------------------------------------------------
def test_noc_is_the_first_click_count_reaching_the_target_else_max_clicks():
    ious = [0.5, 0.84, 0.86, 0.95]
    assert prompts.noc(ious, 0.85) == 3 and prompts.noc(ious, 0.9) == 4 and prompts.noc(ious, 0.5) == 1
    assert prompts.noc(ious, 0.99) == 4
    assert prompts.noc(ious, 0.99, max_clicks=20) == 20  # the usual convention: never reached counts max_clicks
    assert prompts.noc(ious, 0.9, max_clicks=3) == 3  # only the first max_clicks values count
    assert prompts.noc(np.array([0.85]), 0.85) == 1


@pytest.mark.parametrize("args, argument", [(([], 0.85), "ious"), (([0.5, float("nan")], 0.85), "ious"),
                                            (([0.5], 0.0), "target"), (([0.5], 1.5), "target"),
                                            (([0.5], 0.85, 0), "max_clicks")])
def test_noc_refuses_bad_input(args, argument):
    with pytest.raises(ValueError, match=argument):
        prompts.noc(*args)


def test_mask_iou_per_mask_and_one_for_two_empty_masks():
    a = torch.zeros(3, 4, 4, dtype=torch.bool)
    b = a.clone()
    a[0, :2], b[0, :1], b[1, 0, 0] = True, True, True
    assert prompts.mask_iou(a, b).tolist() == [0.5, 0.0, 1.0]


# ---- the protocol ---------------------------------------------------------------------------------------
def test_a_perfect_segmenter_needs_one_click(objects):
    result = prompts.evaluate_clicks(_oracle(objects), objects, max_clicks=5)
    assert result.num_objects == 5 and result.ious.shape == (5, 5)
    assert (result.ious == 1).all() and result.noc == {0.85: 1.0, 0.9: 1.0}
    assert result.summary() == {"iou@1": 1.0, "iou@2": 1.0, "iou@3": 1.0, "noc@85": 1.0, "noc@90": 1.0, "objects": 5}
    assert all(len(c) == 1 and c[0] == prompts.first_click(objects.object(i)[1]) for i, c in enumerate(result.clicks))


def test_a_useless_segmenter_never_reaches_the_targets(objects):
    result = prompts.evaluate_clicks(lambda image, clicks: torch.zeros(image.shape[-2:]), objects, max_clicks=6,
                                     iou_targets=(0.5, 0.85))
    assert (result.ious == 0).all() and result.noc == {0.5: 6.0, 0.85: 6.0}
    for clicks in result.clicks:  # a new positive click on a new pixel every time
        assert len(clicks) == 6 and all(c.positive for c in clicks) and len(set(clicks)) == 6
    assert result.iou_at(6) == 0.0 and "noc@85 6.0" in str(result)


def test_noc_averages_the_objects_clicks(objects):
    oracle = _oracle(objects)
    calls = []

    def slow(image, clicks):  # right from the second click on for the first object only
        calls.append(len(clicks))
        mask = oracle(image, clicks)
        return mask if len(clicks) >= 2 or not torch.equal(mask, objects.object(0)[1].float()) else torch.zeros_like(mask)

    result = prompts.evaluate_clicks(slow, objects, max_clicks=4)
    assert result.noc[0.85] == pytest.approx((2 + 1 + 1 + 1 + 1) / 5)
    assert result.mean_iou.tolist() == pytest.approx([0.8, 1, 1, 1])
    assert calls.count(2) == 1, "objects that are already right are not predicted again"


def test_batched_evaluation_of_a_model_agrees_with_calling_it_object_by_object(objects):
    torch.manual_seed(0)
    model = models.create("unet", in_channels=3, num_classes=2, base_channels=4, depth=2)
    segmenter = prompts.ClickSegmenter(model, batch_size=2)
    batched = prompts.evaluate_clicks(model, objects, max_clicks=3)
    one_by_one = prompts.evaluate_clicks(lambda image, clicks: segmenter(image, clicks), objects, max_clicks=3)
    assert np.allclose(batched.ious, one_by_one.ious) and batched.clicks == one_by_one.clicks


@pytest.mark.parametrize("kwargs, argument", [({"max_clicks": 0}, "max_clicks"), ({"iou_targets": (1.5,)}, "iou_targets"),
                                              ({"model_or_segmenter": "unet"}, "model_or_segmenter")])
def test_evaluate_clicks_refuses_bad_input(objects, kwargs, argument):
    call = {"model_or_segmenter": _oracle(objects), "dataset": objects, **kwargs}
    with pytest.raises(ValueError, match=argument):
        prompts.evaluate_clicks(**call)


# ---- the segmenter --------------------------------------------------------------------------------------
def test_the_segmenter_gives_probabilities_for_plain_triples(objects):
    torch.manual_seed(0)
    model = models.create("unet", in_channels=3, num_classes=2, base_channels=4, depth=2).train()
    segmenter = prompts.ClickSegmenter(model)
    image, _ = objects.object(0)
    p = segmenter(image, [(6, 6, True), (6, 14, False)])
    assert p.shape == (24, 24) and p.dtype == torch.float32 and 0 <= float(p.min()) <= float(p.max()) <= 1
    assert model.training, "the segmenter puts the model back in the mode it found it in"
    assert segmenter(image, []).abs().sum() == 0, "no click, no object"
    assert segmenter.mask(image, [(6, 6, True)]).dtype == torch.bool
    both = segmenter.predict([image, image], [[(6, 6, True)], [(17, 10, True)]])
    assert torch.allclose(both[1], segmenter(image, [(17, 10, True)]), atol=1e-6)
    one_channel = prompts.ClickSegmenter(models.create("unet", in_channels=3, num_classes=1, base_channels=4, depth=2))
    assert one_channel(image, [(6, 6, True)]).shape == (24, 24)


def test_the_segmenter_refuses_bad_input(objects):
    model = models.create("unet", in_channels=3, num_classes=2, base_channels=4, depth=2)
    with pytest.raises(ValueError, match="threshold"):
        prompts.ClickSegmenter(model, threshold=1.0)
    with pytest.raises(ValueError, match="model"):
        prompts.ClickSegmenter(lambda x: x)
    segmenter = prompts.ClickSegmenter(model)
    with pytest.raises(ValueError, match="image"):
        segmenter(torch.zeros(24, 24), [(1, 1, True)])
    with pytest.raises(ValueError, match="clicks"):
        segmenter(torch.zeros(1, 24, 24), [(1, 1)])
    with pytest.raises(ValueError, match="clicks has 1 lists for 2 images"):
        segmenter.predict([torch.zeros(1, 24, 24)] * 2, [[(1, 1, True)]])


# ---- the model in the loop ------------------------------------------------------------------------------
class _Background(nn.Module):
    """Predicts background everywhere (two-class logits)."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([1.0, -1.0]))

    def forward(self, x):
        return self.bias.view(1, 2, 1, 1).expand(x.shape[0], 2, *x.shape[-2:])


def test_the_model_in_the_loop_clicks_where_the_model_is_wrong(objects):
    x = torch.stack([objects[i][0] for i in range(3)])
    x[:, 1:] = 0  # no click yet
    masks = torch.stack([objects[i][1] for i in range(3)])
    out = prompts.add_next_clicks(_Background(), x, masks, radius=1.0)
    assert torch.equal(out[:, :1], x[:, :1]) and torch.equal(out[:, 2], x[:, 2])
    for i in range(3):  # everything missed: a positive click in the middle of the object
        row, col, _ = prompts.first_click(masks[i])
        assert out[i, 1, row, col] == 1 and (out[i, 1] - x[i, 1]).sum() == 5


def test_training_with_the_model_in_the_loop_is_seeded(objects):
    def run():
        torch.manual_seed(0)
        model = models.create("unet", in_channels=3, num_classes=2, base_channels=4, depth=2)
        loader = DataLoader(objects, batch_size=2)
        history = training.fit(model, loader, loss_fn="combo", epochs=2, seed=0, progress=False, live_plot=False,
                               metric=None, callbacks=[prompts.IterativeClicks(max_iterations=2, seed=1)])
        return history.train_loss
    assert run() == run()
    with pytest.raises(ValueError, match="max_iterations"):
        prompts.IterativeClicks(max_iterations=-1)
