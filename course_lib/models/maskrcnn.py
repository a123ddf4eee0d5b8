"""A small torchvision Mask R-CNN (tiny conv backbone + FPN) that trains on a laptop CPU at 128×128.

Introduced in lesson 06 (instance segmentation). About 1.3 M parameters with the defaults.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..validation import check_int

__all__ = ["TinyFPNBackbone", "build_maskrcnn"]


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class TinyFPNBackbone(nn.Module):
    """Five stride-2 conv stages (strides 2..32) feeding a feature pyramid on strides 4, 8, 16, 32 (+ pooled 64).

    Returns an OrderedDict of feature maps named "0".."3" and "pool", each ``out_channels`` wide,
    which is what torchvision's detection heads expect.
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 16, out_channels: int = 64) -> None:
        super().__init__()
        from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool

        w = [base_channels * m for m in (1, 2, 4, 8, 8)]
        self.stem = nn.Sequential(_conv(in_channels, w[0], stride=2), _conv(w[0], w[0]))  # stride 2
        self.stages = nn.ModuleList(
            nn.Sequential(_conv(w[i], w[i + 1], stride=2), _conv(w[i + 1], w[i + 1])) for i in range(4)
        )  # strides 4, 8, 16, 32
        self.fpn = FeaturePyramidNetwork(w[1:], out_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        x = self.stem(x)
        feats: OrderedDict[str, torch.Tensor] = OrderedDict()
        for i, stage in enumerate(self.stages):
            x = stage(x)
            feats[str(i)] = x
        return self.fpn(feats)


def build_maskrcnn(
    in_channels: int = 3,
    num_classes: int = 2,
    image_size: int = 128,
    base_channels: int = 16,
    fpn_channels: int = 64,
    anchor_sizes: tuple[int, ...] = (8, 16, 32, 64, 128),
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0),
    representation_size: int = 128,
    mask_channels: int = 32,
    rpn_batch_size_per_image: int = 128,
    box_batch_size_per_image: int = 128,
    detections_per_image: int = 50,
    box_score_thresh: float = 0.05,
    image_mean: tuple[float, ...] | None = None,
    image_std: tuple[float, ...] | None = None,
) -> nn.Module:
    """torchvision ``MaskRCNN`` on :class:`TinyFPNBackbone`, tuned for small images (``num_classes`` counts background).

    Images are resized so that their sides are ``image_size`` (min_size = max_size = image_size).
    One anchor size per pyramid level (strides 4..64); RPN/ROI sample counts are reduced for speed.
    """
    from torchvision.models.detection import MaskRCNN

    for arg, value in (
        ("in_channels", in_channels), ("image_size", image_size), ("base_channels", base_channels),
        ("fpn_channels", fpn_channels), ("representation_size", representation_size), ("mask_channels", mask_channels),
        ("rpn_batch_size_per_image", rpn_batch_size_per_image), ("box_batch_size_per_image", box_batch_size_per_image),
        ("detections_per_image", detections_per_image),
    ):
        check_int(arg, value)
    if check_int("num_classes", num_classes) < 2:
        raise ValueError(f"num_classes={num_classes!r} must count the background too: 2 for one object class.")
    if len(anchor_sizes) != 5:
        raise ValueError(f"anchor_sizes={anchor_sizes!r} needs 5 sizes, one per pyramid level (strides 4, 8, 16, 32, 64).")
    image_mean, image_std = _normalisation(in_channels, image_mean, image_std)
    return MaskRCNN(
        TinyFPNBackbone(in_channels, base_channels, fpn_channels),
        num_classes=None,
        min_size=image_size,
        max_size=image_size,
        image_mean=image_mean,
        image_std=image_std,
        **_rpn_options(anchor_sizes, aspect_ratios, rpn_batch_size_per_image),
        **_roi_options(num_classes, fpn_channels, representation_size, mask_channels, box_batch_size_per_image),
        box_detections_per_img=detections_per_image,
        box_score_thresh=box_score_thresh,
    )


def _normalisation(
    in_channels: int, image_mean: tuple[float, ...] | None, image_std: tuple[float, ...] | None
) -> tuple[list[float], list[float]]:
    """The per-channel mean and std the model normalises with (ImageNet's for RGB when not given)."""
    if image_mean is None:
        image_mean = (0.485, 0.456, 0.406) if in_channels == 3 else (0.5,) * in_channels
    if image_std is None:
        image_std = (0.229, 0.224, 0.225) if in_channels == 3 else (0.25,) * in_channels
    if len(image_mean) != in_channels or len(image_std) != in_channels:
        raise ValueError(f"image_mean and image_std need {in_channels} values (one per input channel).")
    return list(image_mean), list(image_std)


def _rpn_options(anchor_sizes: tuple[int, ...], aspect_ratios: tuple[float, ...], batch_size: int) -> dict:
    """MaskRCNN's region-proposal settings: one anchor size per pyramid level, fewer proposals than the default."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    anchors = AnchorGenerator(sizes=tuple((int(s),) for s in anchor_sizes), aspect_ratios=(tuple(aspect_ratios),) * 5)
    return dict(
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=600,
        rpn_post_nms_top_n_train=300,
        rpn_pre_nms_top_n_test=300,
        rpn_post_nms_top_n_test=100,
        rpn_batch_size_per_image=batch_size,
    )


def _roi_options(num_classes: int, fpn_channels: int, representation_size: int, mask_channels: int, batch_size: int) -> dict:
    """MaskRCNN's box and mask heads, sized down for small images and the tiny backbone."""
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.ops import MultiScaleRoIAlign

    levels = ["0", "1", "2", "3"]
    return dict(
        box_roi_pool=MultiScaleRoIAlign(featmap_names=levels, output_size=7, sampling_ratio=2),
        box_head=TwoMLPHead(fpn_channels * 7 * 7, representation_size),
        box_predictor=FastRCNNPredictor(representation_size, num_classes),
        box_batch_size_per_image=batch_size,
        mask_roi_pool=MultiScaleRoIAlign(featmap_names=levels, output_size=14, sampling_ratio=2),
        mask_head=MaskRCNNHeads(fpn_channels, (mask_channels, mask_channels), dilation=1),
        mask_predictor=MaskRCNNPredictor(mask_channels, mask_channels, num_classes),
    )
