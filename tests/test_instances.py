import numpy as np
import pytest
import torch

from course_lib import instances, metrics
from course_lib.data.targets import boundary_from_ids


def _two_touching() -> torch.Tensor:
    """An id map with two touching discs (ids 1, 2) and one separate disc (id 3) on 32×32."""
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    ids = torch.zeros(32, 32, dtype=torch.int64)
    ids[(yy - 10) ** 2 + (xx - 9) ** 2 <= 25] = 1
    ids[((yy - 10) ** 2 + (xx - 18) ** 2 <= 25) & (ids == 0)] = 2
    ids[(yy - 25) ** 2 + (xx - 24) ** 2 <= 9] = 3
    return ids


def _same_partition(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True if two id maps describe the same objects (ids may be numbered differently)."""
    pairs = set(zip(a.flatten().tolist(), b.flatten().tolist()))
    return len(pairs) == len(torch.unique(a)) == len(torch.unique(b))


def test_connected_components_merges_touching_and_respects_connectivity():
    ids = _two_touching()
    cc = instances.connected_components(ids > 0)
    assert cc.dtype == torch.int64 and int(cc.max()) == 2  # the two touching discs merge
    diagonal = torch.tensor([[1, 0], [0, 1]], dtype=torch.bool)
    assert int(instances.connected_components(diagonal).max()) == 2
    assert int(instances.connected_components(diagonal, connectivity=8).max()) == 1


def test_connected_components_min_size_and_empty():
    mask = torch.zeros(6, 6, dtype=torch.bool)
    mask[0, 0] = True
    mask[3:6, 3:6] = True
    out = instances.connected_components(mask, min_size=2)
    assert int(out.max()) == 1 and out[0, 0] == 0 and bool((out[3:, 3:] == 1).all())
    assert int(instances.connected_components(torch.zeros(4, 4, dtype=torch.bool)).max()) == 0


def test_split_touching_separates_two_discs():
    ids = _two_touching()
    split = instances.split_touching(ids > 0)
    assert int(split.max()) == 3 and int(instances.connected_components(ids > 0).max()) == 2
    match = metrics.match_instances(metrics.masks_from_instance_ids(split), metrics.masks_from_instance_ids(ids), 0.8)
    assert match.matches.shape[0] == 3  # each disc is found again with IoU >= 0.8


def test_instances_from_boundary_recovers_the_true_instances():
    ids = _two_touching()
    out = instances.instances_from_boundary(boundary_from_ids(ids))
    assert _same_partition(out, ids)


def test_ids_from_masks_highest_score_wins_and_roundtrip():
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[0, :2] = True
    masks[1, 1:3] = True
    ids = instances.ids_from_masks(masks, scores=torch.tensor([0.9, 0.2]))
    assert ids[1, 0] == 1 and ids[2, 0] == 2 and ids[3, 0] == 0
    ids = instances.ids_from_masks(masks.float()[:, None] * 0.8, scores=torch.tensor([0.1, 0.2]))  # N×1×H×W probs
    assert ids[1, 0] == 2
    assert instances.ids_from_masks(torch.zeros(0, 3, 5)).shape == (3, 5)


def test_detections_from_ids_scores_are_mean_probabilities():
    ids = _two_touching()
    probs = torch.where(ids == 1, 0.9, 0.5).float()
    det = instances.detections_from_ids(ids, probs)
    assert det["masks"].shape == (3, 32, 32) and det["masks"].dtype == torch.bool
    assert torch.allclose(det["scores"], torch.tensor([0.9, 0.5, 0.5]))
    assert det["labels"].tolist() == [1, 1, 1]
    perfect = metrics.mask_average_precision([det], [{"masks": det["masks"], "labels": det["labels"]}])
    assert perfect == pytest.approx(1.0)


class _FakeDetector(torch.nn.Module):
    """Stands in for Mask R-CNN in eval mode: two detections per image, soft N×1×H×W masks."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def forward(self, images):
        assert not self.training
        self.batches.append(len(images))
        out = []
        for img in images:
            h, w = img.shape[-2:]
            masks = torch.zeros(2, 1, h, w)
            masks[0, 0, :2] = 0.9
            masks[1, 0, :, :2] = 0.3
            out.append({"boxes": torch.zeros(2, 4), "labels": torch.ones(2, dtype=torch.long),
                        "scores": torch.tensor([0.8, 0.1]), "masks": masks})
        return out


def test_predict_instances_batches_thresholds_and_restores_mode():
    model = _FakeDetector().train()
    out = instances.predict_instances(model, torch.rand(3, 1, 8, 6), batch_size=2, score_threshold=0.05)
    assert model.batches == [2, 1] and model.training and len(out) == 3
    assert out[0]["masks"].dtype == torch.bool and out[0]["masks"].shape == (2, 8, 6)
    assert int(out[0]["masks"][0].sum()) == 12 and int(out[0]["masks"][1].sum()) == 0  # 0.3 < mask_threshold
    kept = instances.predict_instances(model, [torch.rand(1, 8, 6)], score_threshold=0.5)
    assert kept[0]["scores"].tolist() == [pytest.approx(0.8)] and kept[0]["boxes"].shape == (1, 4)


def test_instance_overlay_colours_instances_and_outlines():
    ids = _two_touching()
    image = torch.zeros(1, 32, 32)
    out = instances.instance_overlay(image, ids, alpha=0.5)
    assert out.shape == (32, 32, 3) and out.dtype == np.float32
    assert np.allclose(out[ids.numpy() == 0], 0)
    assert not np.allclose(out[10, 9], out[10, 18])  # the two touching discs have different colours
    assert out[10, 9].max() < out[10, 4].max()  # the interior is blended, the outline drawn in full colour


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: instances.connected_components(torch.zeros(2, 4, 4)), "mask"),
        (lambda: instances.connected_components(torch.full((4, 4), 0.5)), "mask"),
        (lambda: instances.connected_components(torch.zeros(4, 4), connectivity=6), "connectivity"),
        (lambda: instances.connected_components(torch.zeros(4, 4), min_size=0), "min_size"),
        (lambda: instances.split_touching(torch.zeros(4, 4), min_distance=0), "min_distance"),
        (lambda: instances.split_touching(torch.zeros(4, 4), min_size=0), "min_size"),
        (lambda: instances.instances_from_boundary(torch.zeros(4, 4, dtype=torch.long), min_size=0), "min_size"),
        (lambda: instances.instances_from_boundary(torch.zeros(4, 4)), "labels"),
        (lambda: instances.ids_from_masks(torch.zeros(4, 4)), "masks"),
        (lambda: instances.ids_from_masks(torch.zeros(2, 4, 4), scores=[1.0]), "scores"),
        (lambda: instances.detections_from_ids(torch.zeros(4, 4, dtype=torch.long), torch.zeros(3, 3)), "probs"),
        (lambda: instances.instance_overlay(torch.zeros(1, 4, 4), torch.zeros(5, 5, dtype=torch.long)), "ids"),
        (lambda: instances.predict_instances(torch.nn.Identity(), torch.zeros(4, 4)), "images"),
    ],
)
def test_bad_input_names_the_argument(call, word):
    with pytest.raises(ValueError, match=word):
        call()
