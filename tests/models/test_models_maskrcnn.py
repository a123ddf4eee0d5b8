"""The small Mask R-CNN: torchvision's model with a tiny backbone, trainable on CPU."""

from __future__ import annotations

import torch

from course_lib.models import TinyFPNBackbone, create


def _target(n=2, size=96):
    masks = torch.zeros(n, size, size, dtype=torch.uint8)
    boxes = []
    for i in range(n):
        r, c = 10 + 40 * i, 15 + 30 * i
        masks[i, r : r + 20, c : c + 25] = 1
        boxes.append([c, r, c + 25, r + 20])
    return {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.ones(n, dtype=torch.int64), "masks": masks}


def test_backbone_levels_and_channels():
    bb = TinyFPNBackbone(out_channels=32)
    feats = bb(torch.rand(1, 3, 128, 128))
    assert list(feats) == ["0", "1", "2", "3", "pool"]
    assert [f.shape[-1] for f in feats.values()] == [32, 16, 8, 4, 2]
    assert all(f.shape[1] == 32 for f in feats.values())


def test_train_mode_returns_all_losses_and_they_backpropagate():
    torch.manual_seed(0)
    model = create("maskrcnn", num_classes=2).train()
    losses = model([torch.rand(3, 96, 96), torch.rand(3, 96, 96)], [_target(), _target(1)])
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"}
    total = sum(losses.values())
    total.backward()
    assert model.backbone.stem[0][0].weight.grad is not None


def test_small_image_settings():
    model = create("maskrcnn", image_size=96, detections_per_image=10)
    assert model.transform.min_size == (96,) and model.transform.max_size == 96
    assert model.roi_heads.detections_per_img == 10
    assert model.rpn.anchor_generator.sizes[0] == (8,)
