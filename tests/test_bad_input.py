"""Bad input across the public API: every call below must raise a TypeError or ValueError whose message names
the argument that is wrong (so a learner knows what to fix).

One row per (function, bad input): ``row(function, what is wrong, call, argument named in the message)``. The
kinds of bad input are: wrong dtype, wrong shape, out-of-range value, NaN, empty input and unknown name (plus a
wrong type where a tensor is expected). Functions are taken from the modules' ``__all__``; rows marked
``xfail`` (strict) document a missing check, with the reason.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest
import torch

from course_lib import baselines, convolution, inference, instances, labels, recipes, runtime, sampling, selection
from course_lib import losses as L
from course_lib import metrics as M
from course_lib import transforms as T
from course_lib import validation as V
from course_lib.data import catalog, targets
from course_lib.models import blocks, factory
from course_lib.viz import masks as viz_masks
from course_lib.viz import palettes


class Row(NamedTuple):
    """One bad call: the function's qualified name, what is wrong, the call, and the argument the error must name."""

    function: str
    bad: str
    call: Callable[[], Any]
    argument: str
    xfail: str | None = None


def lab(*shape: int) -> torch.Tensor:
    """A label map of zeros (int64)."""
    return torch.zeros(shape, dtype=torch.int64)


def flt(*shape: int) -> torch.Tensor:
    """A float tensor of 0.5s."""
    return torch.full(shape, 0.5)


NAN = torch.full((4, 4), math.nan)
IMG = torch.rand(3, 8, 8)
MASKS = torch.ones(2, 4, 4, dtype=torch.bool)
LOGITS_MC = torch.zeros(1, 3, 4, 4)
LOGITS_BIN = torch.zeros(1, 1, 4, 4)


def _m(fn: str, bad: str, call: Callable[[], Any], argument: str, xfail: str | None = None) -> Row:
    return Row(fn, bad, call, argument, xfail)


METRICS = [
    _m("metrics.confusion_matrix", "float labels", lambda: M.confusion_matrix(flt(4, 4), lab(4, 4), 2), "pred"),
    _m("metrics.confusion_matrix", "NaN labels", lambda: M.confusion_matrix(lab(4, 4), NAN, 2), "target"),
    _m("metrics.confusion_matrix", "shape mismatch", lambda: M.confusion_matrix(lab(4, 4), lab(4, 5), 2), "shape"),
    _m("metrics.confusion_matrix", "label out of range", lambda: M.confusion_matrix(lab(4, 4), lab(4, 4) + 7, 2), "target"),
    _m("metrics.confusion_matrix", "num_classes 0", lambda: M.confusion_matrix(lab(4, 4), lab(4, 4), 0), "num_classes"),
    _m("metrics.confusion_matrix", "num_classes a name", lambda: M.confusion_matrix(lab(4, 4), lab(4, 4), "two"), "num_classes"),
    _m("metrics.confusion_matrix", "not a tensor", lambda: M.confusion_matrix("abc", lab(4, 4), 2), "pred"),
    _m("metrics.iou", "unknown average", lambda: M.iou(lab(4, 4), lab(4, 4), 2, average="mean"), "average"),
    _m("metrics.iou", "float ignore_index", lambda: M.iou(lab(4, 4), lab(4, 4), 2, ignore_index=0.5), "ignore_index"),
    _m("metrics.dice", "binary with 3 classes", lambda: M.dice(lab(4, 4), lab(4, 4), 3, average="binary"), "average"),
    _m("metrics.dice", "NaN pred", lambda: M.dice(NAN, lab(4, 4), 2), "pred"),
    _m("metrics.pixel_accuracy", "unknown average", lambda: M.pixel_accuracy(lab(4, 4), lab(4, 4), 2, average="binary"), "average"),
    _m("metrics.mean_class_accuracy", "negative num_classes", lambda: M.mean_class_accuracy(lab(4, 4), lab(4, 4), -1), "num_classes"),
    _m("metrics.iou_from_confusion", "not square", lambda: M.iou_from_confusion(torch.ones(2, 3)), "cm"),
    _m("metrics.iou_from_confusion", "empty", lambda: M.iou_from_confusion(torch.ones(0, 0)), "cm"),
    _m("metrics.dice_from_confusion", "negative counts", lambda: M.dice_from_confusion(-torch.ones(2, 2)), "cm"),
    _m("metrics.dice_from_confusion", "NaN counts", lambda: M.dice_from_confusion(torch.full((2, 2), math.nan)), "cm"),
    _m("metrics.accuracy_from_confusion", "unknown average", lambda: M.accuracy_from_confusion(torch.ones(2, 2), average="x"), "average"),
    _m("metrics.SegmentationMeter", "num_classes 0", lambda: M.SegmentationMeter(0), "num_classes"),
    _m("metrics.boundary_f1", "shape mismatch", lambda: M.boundary_f1(lab(4, 4), lab(5, 4)), "shape"),
    _m("metrics.boundary_f1", "negative tolerance", lambda: M.boundary_f1(lab(4, 4), lab(4, 4), tolerance=-1), "tolerance"),
    _m("metrics.boundary_f1", "unknown reduction", lambda: M.boundary_f1(lab(4, 4), lab(4, 4), reduction="avg"), "reduction"),
    _m("metrics.hausdorff95", "percentile > 100", lambda: M.hausdorff95(lab(4, 4), lab(4, 4), percentile=150), "percentile"),
    _m("metrics.hausdorff95", "NaN spacing", lambda: M.hausdorff95(lab(4, 4), lab(4, 4), spacing=(math.nan, 1.0)), "spacing"),
    _m("metrics.mask_iou_matrix", "2-D masks", lambda: M.mask_iou_matrix(lab(4, 4), MASKS), "a"),
    _m("metrics.mask_iou_matrix", "size mismatch", lambda: M.mask_iou_matrix(MASKS, torch.ones(1, 5, 5, dtype=torch.bool)), "b"),
    _m("metrics.match_instances", "iou_threshold > 1", lambda: M.match_instances(MASKS, MASKS, iou_threshold=1.5), "iou_threshold"),
    _m("metrics.match_instances", "too few scores", lambda: M.match_instances(MASKS, MASKS, scores=[0.5]), "scores"),
    _m("metrics.masks_from_instance_ids", "float ids", lambda: M.masks_from_instance_ids(flt(4, 4)), "ids"),
    _m("metrics.masks_from_instance_ids", "3-D ids", lambda: M.masks_from_instance_ids(lab(2, 4, 4)), "ids"),
    _m("metrics.mask_average_precision", "iou_threshold NaN", lambda: M.mask_average_precision([], [], iou_threshold=math.nan), "iou_threshold"),
    _m("metrics.mask_ap_per_class", "max_detections 0", lambda: M.mask_ap_per_class([], [], max_detections=0), "max_detections"),
    _m("metrics.binary_scores", "NaN threshold", lambda: M.binary_scores(flt(4, 4), lab(4, 4), threshold=math.nan), "threshold"),
    _m("metrics.binary_scores", "mask shape", lambda: M.binary_scores(flt(4, 4), lab(4, 4), mask=lab(3, 3)), "mask"),
    _m("metrics.binary_scores", "NaN pred", lambda: M.binary_scores(NAN, lab(4, 4)), "pred"),
    _m("metrics.roc_auc", "NaN scores", lambda: M.roc_auc(NAN, lab(4, 4)), "scores"),
    _m("metrics.roc_auc", "shape mismatch", lambda: M.roc_auc(flt(4, 4), lab(3, 4)), "shape"),
    _m("metrics.best_threshold", "unknown metric", lambda: M.best_threshold(flt(4, 4), lab(4, 4), metric="f2"), "metric"),
    _m("metrics.cldice", "target not binary", lambda: M.cldice(flt(4, 4), lab(4, 4) + 3), "target"),
    _m("metrics.vessel_width_map", "4-D target", lambda: M.vessel_width_map(lab(1, 2, 4, 4)), "target"),
    _m("metrics.recall_by_width", "unsorted bins", lambda: M.recall_by_width(flt(4, 4), lab(4, 4), bins=(4, 2, 0)), "bins"),
]

LOSSES = [
    _m("losses.bce_loss", "int logits", lambda: L.bce_loss(lab(1, 4, 4), lab(1, 4, 4)), "logits"),
    _m("losses.bce_loss", "logits not a tensor", lambda: L.bce_loss([[0.0]], lab(1, 1)), "logits"),
    _m("losses.bce_loss", "target 2", lambda: L.bce_loss(LOGITS_BIN, lab(1, 4, 4) + 2), "target"),
    _m("losses.bce_loss", "NaN target", lambda: L.bce_loss(LOGITS_BIN, NAN[None]), "target"),
    _m("losses.bce_loss", "unknown reduction", lambda: L.bce_loss(LOGITS_BIN, lab(1, 4, 4), reduction="avg"), "reduction"),
    _m("losses.cross_entropy_loss", "float target", lambda: L.cross_entropy_loss(LOGITS_MC, flt(1, 4, 4)), "target"),
    _m("losses.cross_entropy_loss", "class id out of range", lambda: L.cross_entropy_loss(LOGITS_MC, lab(1, 4, 4) + 3), "target"),
    _m("losses.cross_entropy_loss", "shape mismatch", lambda: L.cross_entropy_loss(LOGITS_MC, lab(1, 5, 4)), "shape"),
    _m("losses.cross_entropy_loss", "weight length", lambda: L.cross_entropy_loss(LOGITS_MC, lab(1, 4, 4), weight=[1.0]), "weight"),
    _m("losses.cross_entropy_loss", "NaN weight", lambda: L.cross_entropy_loss(LOGITS_MC, lab(1, 4, 4), weight=[1.0, math.nan, 1.0]), "weight"),
    _m("losses.soft_dice_loss", "negative smooth", lambda: L.soft_dice_loss(LOGITS_MC, lab(1, 4, 4), smooth=-1.0), "smooth"),
    _m("losses.soft_dice_loss", "reduction sum", lambda: L.soft_dice_loss(LOGITS_MC, lab(1, 4, 4), reduction="sum"), "reduction"),
    _m("losses.focal_loss", "negative gamma", lambda: L.focal_loss(LOGITS_MC, lab(1, 4, 4), gamma=-1.0), "gamma"),
    _m("losses.focal_loss", "binary alpha > 1", lambda: L.focal_loss(LOGITS_BIN, lab(1, 4, 4), alpha=2.0), "alpha"),
    _m("losses.focal_loss", "NaN gamma", lambda: L.focal_loss(LOGITS_MC, lab(1, 4, 4), gamma=math.nan), "gamma"),
    _m("losses.combined_loss", "negative ce_weight", lambda: L.combined_loss(LOGITS_MC, lab(1, 4, 4), ce_weight=-1.0), "ce_weight"),
    _m("losses.combined_loss", "class_weights for binary", lambda: L.combined_loss(LOGITS_BIN, lab(1, 4, 4), class_weights=[1.0]), "class_weights"),
    _m("losses.create_loss", "unknown name", lambda: L.create_loss("hinge"), "hinge"),
    _m("losses.class_pixel_counts", "float masks", lambda: L.class_pixel_counts(flt(4, 4), 2), "masks"),
    _m("losses.class_pixel_counts", "num_classes 0", lambda: L.class_pixel_counts(lab(4, 4), 0), "num_classes"),
    _m("losses.median_frequency_weights", "negative power", lambda: L.median_frequency_weights(lab(4, 4), 2, power=-1.0), "power"),
]

INSTANCES = [
    _m("instances.boxes_from_masks", "2-D masks", lambda: instances.boxes_from_masks(lab(4, 4)), "masks"),
    _m("instances.boxes_from_masks", "not a tensor", lambda: instances.boxes_from_masks([[1]]), "masks"),
    _m("instances.instances_from_ids", "3-D ids", lambda: instances.instances_from_ids(lab(1, 4, 4)), "ids"),
    _m("instances.instances_from_ids", "float ids", lambda: instances.instances_from_ids(flt(4, 4)), "ids", xfail="float id maps are accepted (compared by value)"),
    _m("instances.ids_from_instances", "no 'masks' key", lambda: instances.ids_from_instances({"boxes": torch.zeros(0, 4)}), "masks"),
    _m("instances.connected_components", "connectivity 6", lambda: instances.connected_components(lab(4, 4), connectivity=6), "connectivity"),
    _m("instances.connected_components", "not binary", lambda: instances.connected_components(lab(4, 4) + 3), "mask"),
    _m("instances.instances_from_boundary", "float labels", lambda: instances.instances_from_boundary(flt(4, 4)), "labels"),
    _m("instances.instances_from_boundary", "interior == boundary", lambda: instances.instances_from_boundary(lab(4, 4), 1, 1), "interior"),
    _m("instances.split_touching", "min_distance 0", lambda: instances.split_touching(lab(4, 4), min_distance=0), "min_distance"),
    _m("instances.ids_from_masks", "2-D masks", lambda: instances.ids_from_masks(lab(4, 4)), "masks"),
    _m("instances.ids_from_masks", "threshold 1.5", lambda: instances.ids_from_masks(MASKS, threshold=1.5), "threshold"),
    _m("instances.ids_from_masks", "scores length", lambda: instances.ids_from_masks(MASKS, scores=[1.0]), "scores"),
    _m("instances.detections_from_ids", "probs shape", lambda: instances.detections_from_ids(lab(4, 4), probs=flt(3, 3)), "probs"),
    _m("instances.instance_overlay", "alpha > 1", lambda: instances.instance_overlay(IMG[:, :4, :4], lab(4, 4), alpha=2.0), "alpha"),
    _m("instances.instance_overlay", "ids shape", lambda: instances.instance_overlay(IMG, lab(4, 4)), "ids"),
]

TRANSFORMS = [
    _m("transforms.Resize", "size 0", lambda: T.Resize(0), "size"),
    _m("transforms.RandomHorizontalFlip", "p > 1", lambda: T.RandomHorizontalFlip(p=2.0), "p"),
    _m("transforms.RandomVerticalFlip", "NaN p", lambda: T.RandomVerticalFlip(p=math.nan), "p"),
    _m("transforms.RandomRotate90", "p < 0", lambda: T.RandomRotate90(p=-0.1), "p"),
    _m("transforms.RandomRotation", "degrees 200", lambda: T.RandomRotation(degrees=200), "degrees"),
    _m("transforms.RandomScale", "scale reversed", lambda: T.RandomScale(scale=(2.0, 1.0)), "scale"),
    _m("transforms.RandomAffine", "negative fill_label", lambda: T.RandomAffine(fill_label=-1), "fill_label"),
    _m("transforms.RandomCrop", "size (0, 4)", lambda: T.RandomCrop((0, 4)), "size"),
    _m("transforms.ColorJitter", "brightness 2", lambda: T.ColorJitter(brightness=2.0), "brightness"),
    _m("transforms.GaussianNoise", "sigma > 1", lambda: T.GaussianNoise(sigma=3.0), "sigma"),
    _m("transforms.GaussianBlur", "sigma reversed", lambda: T.GaussianBlur(sigma=(2.0, 1.0)), "sigma"),
    _m("transforms.Normalize", "mean length", lambda: T.Normalize(mean=(0.5,), std=(0.2, 0.2, 0.2)), "mean"),
    _m("transforms.Normalize", "zero std", lambda: T.Normalize(mean=(0.5,) * 3, std=(0.0, 1.0, 1.0)), "std"),
    _m("transforms.Compose", "not callable", lambda: T.Compose([3]), "3"),
    _m("transforms.<call>", "int image", lambda: T.RandomHorizontalFlip()(lab(3, 4, 4), lab(4, 4)), "image"),
    _m("transforms.<call>", "target size", lambda: T.RandomHorizontalFlip()(IMG, lab(4, 4)), "target"),
    _m("transforms.<call>", "float target", lambda: T.RandomHorizontalFlip()(IMG, flt(8, 8)), "target"),
    _m("transforms.denormalize", "mean length", lambda: T.denormalize(IMG, mean=(0.5, 0.5)), "mean"),
    _m("transforms.train_transforms", "unknown strength", lambda: T.train_transforms(32, strength="ultra"), "strength"),
    _m("transforms.train_transforms", "size 0", lambda: T.train_transforms(0), "size"),
    _m("transforms.eval_transforms", "size -1", lambda: T.eval_transforms(-1), "size"),
    _m("transforms.collate_instances", "empty batch", lambda: T.collate_instances([]), "batch", xfail="an empty batch returns two empty lists"),
]

OTHERS = [
    _m("baselines.best_threshold", "shape mismatch", lambda: baselines.best_threshold(flt(4, 4), lab(3, 3)), "masks"),
    _m("convolution.conv2d_loops", "3-D image", lambda: convolution.conv2d_loops(np.zeros((2, 4, 4)), np.ones((3, 3))), "image"),
    _m("convolution.conv2d_loops", "empty kernel", lambda: convolution.conv2d_loops(np.zeros((4, 4)), np.ones((0, 0))), "kernel"),
    _m("convolution.conv_output_size", "k 0", lambda: convolution.conv_output_size(8, 0), "k="),
    _m("convolution.transposed_output_size", "negative p", lambda: convolution.transposed_output_size(8, 3, p=-1), "p="),
    _m("convolution.receptive_field", "kernel 0", lambda: convolution.receptive_field([(0, 1)]), "layers"),
    _m("labels.foreground_fraction", "float labels", lambda: labels.foreground_fraction(flt(4, 4)), "label_map"),
    _m("labels.foreground_fraction", "empty", lambda: labels.foreground_fraction(lab(0, 4)), "label_map"),
    _m("labels.class_pixel_counts", "num_classes 0", lambda: labels.class_pixel_counts(lab(4, 4), 0), "num_classes"),
    _m("inference.tile_starts", "tile 0", lambda: inference.tile_starts(64, 0, 0), "tile"),
    _m("inference.tile_starts", "overlap >= tile", lambda: inference.tile_starts(64, 16, 16), "overlap"),
    _m("inference.blend_weights", "unknown mode", lambda: inference.blend_weights(16, mode="cosine"), "mode"),
    _m("inference.pad_to_multiple", "1-D x", lambda: inference.pad_to_multiple(flt(4)), "x"),
    _m("inference.pad_to_multiple", "multiple 0", lambda: inference.pad_to_multiple(flt(1, 3, 4, 4), multiple=0), "multiple"),
    _m("inference.pad_to_multiple", "unknown mode", lambda: inference.pad_to_multiple(flt(1, 3, 4, 4), mode="wrap"), "mode"),
    _m("inference.crop_padding", "pads length", lambda: inference.crop_padding(flt(1, 3, 4, 4), (1, 1)), "pads"),
    _m("inference.flip_average_predict", "one flip as a string",
       lambda: inference.flip_average_predict(torch.nn.Conv2d(3, 2, 1), flt(1, 3, 4, 4), flips="hflip"), "flips"),
    _m("inference.flip_average_predict", "unknown flip",
       lambda: inference.flip_average_predict(torch.nn.Conv2d(3, 2, 1), flt(1, 3, 4, 4), flips=("rot90",)), "flips"),
    _m("models.create", "unknown name", lambda: factory.create("transformer"), "transformer"),
    _m("models.create", "num_classes 0", lambda: factory.create("unet", num_classes=0), "num_classes"),
    _m("models.model_options", "unknown name", lambda: factory.model_options("transformer"), "transformer"),
    _m("models.list_models", "unknown task", lambda: factory.list_models(task="dance"), "task"),
    _m("models.match_size", "size of one value", lambda: blocks.match_size(flt(1, 1, 4, 4), (8,)), "size"),
    _m("data.load", "unknown name", lambda: catalog.load("no-such-data"), "no-such-data"),
    _m("data.load", "unknown split", lambda: catalog.load("synthetic-streets", split="holdout"), "split"),
    _m("data.describe", "unknown name", lambda: catalog.describe("no-such-data"), "no-such-data"),
    _m("data.list_datasets", "unknown kind", lambda: catalog.list_datasets(kind="video"), "kind"),
    _m("data.target_from_ids", "unknown target", lambda: targets.target_from_ids(lab(4, 4), "panoptic"), "target"),
    _m("data.semantic_from_ids", "float ids", lambda: targets.semantic_from_ids(flt(4, 4)), "ids", xfail="float id maps are accepted"),
    _m("data.boundary_from_ids", "3-D ids", lambda: targets.boundary_from_ids(lab(1, 4, 4)), "ids"),
    _m("recipes.get_recipe", "unknown name", lambda: recipes.get_recipe("no-such-recipe"), "no-such-recipe"),
    _m("runtime.pick_device", "unknown device", lambda: runtime.pick_device("tpu"), "tpu"),
    _m("runtime.seed_everything", "negative seed", lambda: runtime.seed_everything(-1), "seed"),
    _m("runtime.set_threads", "0 threads", lambda: runtime.set_threads(0), "n"),
    _m("sampling.sample_log_uniform", "low <= 0", lambda: sampling.sample_log_uniform(-1.0, 1.0, 3), "low"),
    _m("sampling.sample_log_uniform", "NaN high", lambda: sampling.sample_log_uniform(1e-4, math.nan, 3), "high"),
    _m("selection.worst_classes", "not square", lambda: selection.worst_classes(torch.ones(2, 3), ["a", "b"]), "cm"),
    _m("selection.worst_classes", "names length", lambda: selection.worst_classes(torch.ones(2, 2), ["a"]), "class_names"),
    _m("selection.worst_classes", "k 0", lambda: selection.worst_classes(torch.ones(2, 2), ["a", "b"], k=0), "k"),
    _m("validation.check_int", "a name", lambda: V.check_int("epochs", "ten"), "epochs"),
    _m("validation.check_fraction", "NaN", lambda: V.check_fraction("p", math.nan), "p"),
    _m("validation.check_choice", "unknown name", lambda: V.check_choice("mode", "x", ("a", "b")), "mode"),
    _m("validation.check_positive", "NaN", lambda: V.check_positive("lr", math.nan), "lr"),
    _m("viz.colorize", "float labels", lambda: palettes.colorize(flt(4, 4)), "label_map"),
    _m("viz.colorize", "unknown palette", lambda: palettes.colorize(lab(4, 4), palette="no-such-palette"), "palette", xfail="unknown names fall back to the generic palette (by design, for datasets without one)"),
    _m("viz.colorize_labels", "3-D mask", lambda: palettes.colorize_labels(lab(2, 3, 4, 4)), "mask"),
    _m("viz.get_palette", "unknown name", lambda: palettes.get_palette("no-such-palette"), "no-such-palette", xfail="unknown names fall back to the generic palette (by design, for datasets without one)"),
    _m("viz.instance_colors", "negative n", lambda: palettes.instance_colors(-1), "n"),
    _m("viz.overlay", "mask shape", lambda: viz_masks.overlay(IMG, lab(4, 4)), "mask"),
    _m("viz.overlay", "alpha > 1", lambda: viz_masks.overlay(IMG, lab(8, 8), alpha=2.0), "alpha"),
]

ROWS = METRICS + LOSSES + INSTANCES + TRANSFORMS + OTHERS


def _param(r: Row) -> Any:
    """A pytest param of a row, with an id 'function: bad input' and its xfail mark."""
    marks = [pytest.mark.xfail(reason=r.xfail, strict=True)] if r.xfail else []
    return pytest.param(r, id=f"{r.function}: {r.bad}", marks=marks)


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_bad_input_raises_an_error_naming_the_argument(row: Row):
    with pytest.raises((TypeError, ValueError)) as info:
        row.call()
    assert row.argument in str(info.value), f"{row.function} ({row.bad}): message does not name {row.argument!r}"
