"""Tests of course_lib.metrics.instance (mask IoU, matching, mask AP) against brute force, torchmetrics and
pycocotools."""

from __future__ import annotations

import contextlib
import io
import math
import warnings

import numpy as np
import pytest
import torch

from course_lib import metrics as M


# ------------------------------------------------------------------------------------------- instance helpers
def _rect_masks(rng, n, h=32, w=32):
    m = np.zeros((n, h, w), bool)
    for i in range(n):
        y, x = rng.integers(0, h - 6), rng.integers(0, w - 6)
        dy, dx = rng.integers(3, 12, size=2)
        m[i, y : y + dy, x : x + dx] = True
    return m


def test_mask_iou_matrix_matches_brute_force_and_accepts_mask_rcnn_layout(close):
    rng = np.random.default_rng(0)
    a, b = _rect_masks(rng, 5), _rect_masks(rng, 3)
    ref = np.array([[(x & y).sum() / (x | y).sum() for y in b] for x in a])
    close(M.mask_iou_matrix(torch.from_numpy(a), torch.from_numpy(b)), ref)
    probs = torch.from_numpy(a).float()[:, None] * 0.9  # N×1×H×W probabilities, as Mask R-CNN returns
    close(M.mask_iou_matrix(probs, b.astype(np.uint8)), ref)
    assert M.mask_iou_matrix(np.zeros((0, 32, 32), bool), b).shape == (0, 3)
    with pytest.raises(ValueError, match="masks_from_instance_ids"):
        M.mask_iou_matrix(np.full((1, 4, 4), 3), b[:, :4, :4])


def test_masks_from_instance_ids():
    ids = torch.tensor([[0, 1, 1], [0, 3, 3], [5, 5, 0]])
    masks = M.masks_from_instance_ids(ids)
    assert masks.shape == (3, 3, 3) and masks.dtype == torch.bool
    assert masks.sum((1, 2)).tolist() == [2, 2, 2]
    assert torch.equal(masks.sum(0), ids != 0)


def test_match_instances_greedy_by_score(close):
    t = torch.zeros(2, 10, 10, dtype=torch.bool)
    t[0, :5, :5] = True
    t[1, 5:, 5:] = True
    p = torch.zeros(3, 10, 10, dtype=torch.bool)
    p[0, :5, :4] = True  # IoU 0.8 with true 0
    p[1, :5, :5] = True  # IoU 1.0 with true 0
    p[2, 0, 9] = True  # matches nothing
    by_order = M.match_instances(p, t)  # no scores: pred 0 comes first and takes true 0
    assert by_order.matches.tolist() == [[0, 0]]
    assert by_order.unmatched_pred.tolist() == [1, 2] and by_order.unmatched_true.tolist() == [1]
    by_score = M.match_instances(p, t, scores=torch.tensor([0.1, 0.9, 0.5]))
    assert by_score.matches.tolist() == [[1, 0]]
    close(by_score.matched_iou, [1.0])
    assert by_score.iou_matrix.shape == (3, 2)
    assert M.match_instances(p, t, iou_threshold=0.85).matches.tolist() == [[1, 0]]
    # a prediction overlapping two objects takes the one with the highest IoU, not the first or last above threshold
    wide = torch.zeros(1, 10, 10, dtype=torch.bool)
    wide[0, :5, :6] = True  # IoU 25/30 with a 5×5 square at the left, 15/40 with a 5×5 square shifted by 3
    two = torch.zeros(2, 10, 10, dtype=torch.bool)
    two[1, :5, :5] = True
    two[0, :5, 3:8] = True
    close(M.mask_iou_matrix(wide, two), [[15 / 40, 25 / 30]])
    assert M.match_instances(wide, two, iou_threshold=0.3).matches.tolist() == [[0, 1]]
    assert M.match_instances(wide, two.flip(0), iou_threshold=0.3).matches.tolist() == [[0, 0]]
    with pytest.raises(ValueError, match="iou_threshold"):
        M.match_instances(p, t, iou_threshold=1.5)
    with pytest.raises(ValueError, match="scores has 2 values"):
        M.match_instances(p, t, scores=[0.1, 0.2])


def _instance_case(seed, n_img=4, n_cls=3, every_image_has_truth=True):
    rng = np.random.default_rng(seed)
    preds, targets = [], []
    for _ in range(n_img):
        nt = int(rng.integers(1 if every_image_has_truth else 0, 5))
        tm, tl = _rect_masks(rng, nt), rng.integers(0, n_cls, nt)
        pm, pl = [], []
        for k in range(nt):  # most objects are found, slightly off, sometimes with the wrong class
            if rng.random() < 0.8:
                pm.append(np.roll(tm[k], tuple(rng.integers(-2, 3, size=2)), axis=(0, 1)))
                pl.append(tl[k] if rng.random() < 0.85 else rng.integers(0, n_cls))
        for m in _rect_masks(rng, int(rng.integers(0, 3))):  # plus some false positives
            pm.append(m)
            pl.append(rng.integers(0, n_cls))
        pm = np.array(pm, bool).reshape(-1, 32, 32)
        preds.append(
            dict(
                masks=torch.from_numpy(pm),
                scores=torch.from_numpy(rng.random(len(pm))).float(),
                labels=torch.tensor(pl, dtype=torch.long),
            )
        )
        targets.append(dict(masks=torch.from_numpy(tm), labels=torch.from_numpy(tl)))
    return preds, targets


def _pycocotools_ap(preds, targets, iou_threshold=0.5):
    mask_utils = pytest.importorskip("pycocotools.mask")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def rle(m):
        r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        r["counts"] = r["counts"].decode()
        return r

    images, anns, dets = [], [], []
    cats = sorted({int(x) for d in preds + targets for x in d["labels"]})
    for i, (p, t) in enumerate(zip(preds, targets)):
        images.append(dict(id=i, height=32, width=32))
        for m, lab in zip(t["masks"].numpy(), t["labels"].tolist()):
            r = rle(m)
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=i,
                    category_id=lab,
                    segmentation=r,
                    area=float(m.sum()),
                    iscrowd=0,
                    bbox=list(mask_utils.toBbox(r)),
                )
            )
        for m, lab, s in zip(p["masks"].numpy(), p["labels"].tolist(), p["scores"].tolist()):
            dets.append(dict(image_id=i, category_id=lab, segmentation=rle(m), score=s))
    gt = COCO()
    gt.dataset = dict(images=images, annotations=anns, categories=[dict(id=c) for c in cats])
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), "segm")
        ev.params.iouThrs = np.array([iou_threshold])
        ev.evaluate()
        ev.accumulate()
    s = ev.eval["precision"][0, :, :, 0, -1]
    return float(np.mean(s[s > -1])) if (s > -1).any() else math.nan


@pytest.mark.parametrize("seed", range(6))
def test_mask_ap50_matches_torchmetrics(seed, close):
    pytest.importorskip("pycocotools")
    from torchmetrics.detection import MeanAveragePrecision

    preds, targets = _instance_case(seed)
    ref = MeanAveragePrecision(iou_type="segm")
    ref.update(preds, targets)
    ours = M.mask_average_precision(preds, targets, iou_threshold=0.5)
    assert 0.0 < ours < 1.0  # a case that exercises both hits and misses
    close(ours, ref.compute()["map_50"].item(), atol=1e-6)


@pytest.mark.parametrize("seed", range(6, 10))
def test_mask_ap_matches_pycocotools_also_with_images_without_truth(seed, close):
    """pycocotools counts detections on images without ground truth as false positives; torchmetrics' segm
    mode drops such images (it registers only images with target masks), so there it can report a higher AP."""
    preds, targets = _instance_case(seed, every_image_has_truth=False)
    assert any(len(t["labels"]) == 0 for t in targets) or seed != 6
    for thr in (0.5, 0.75):
        close(M.mask_average_precision(preds, targets, iou_threshold=thr), _pycocotools_ap(preds, targets, thr))


def test_mask_ap_hand_computed_and_edge_cases():
    t = torch.zeros(2, 16, 16, dtype=torch.bool)
    t[0, :4, :4] = True
    t[1, 8:, 8:] = True
    perfect = [dict(masks=t, scores=torch.tensor([0.9, 0.8]), labels=torch.tensor([1, 1]))]
    targets = [dict(masks=t, labels=torch.tensor([1, 1]))]
    assert M.mask_average_precision(perfect, targets) == pytest.approx(1.0)
    # a confident false positive ranked first, then the two hits: precision 1/2, 2/3 -> envelope 2/3 everywhere
    fp = torch.zeros(1, 16, 16, dtype=torch.bool)
    fp[0, 0, 15] = True
    ranked = [dict(masks=torch.cat([fp, t]), scores=torch.tensor([0.99, 0.9, 0.8]), labels=torch.tensor([1, 1, 1]))]
    assert M.mask_average_precision(ranked, targets) == pytest.approx(2 / 3)
    # one object missed: recall stops at 0.5 -> 51 of 101 recall points have precision 1
    half = [dict(masks=t[:1], scores=torch.tensor([0.9]), labels=torch.tensor([1]))]
    assert M.mask_average_precision(half, targets) == pytest.approx(51 / 101)
    # class-agnostic (no labels), nothing predicted, nothing true
    assert M.mask_average_precision([dict(masks=t, scores=torch.tensor([0.5, 0.4]))], [dict(masks=t)]) == pytest.approx(
        1.0
    )
    empty = dict(
        masks=torch.zeros(0, 16, 16, dtype=torch.bool), scores=torch.zeros(0), labels=torch.zeros(0, dtype=torch.long)
    )
    assert M.mask_average_precision([empty], targets) == 0.0
    assert math.isnan(M.mask_average_precision([empty], [dict(masks=empty["masks"], labels=empty["labels"])]))
    assert M.mask_ap_per_class(ranked, targets) == {1: pytest.approx(2 / 3)}
    with pytest.raises(ValueError, match="preds has 1 images but targets has 2"):
        M.mask_average_precision(perfect, targets * 2)
    with pytest.raises(ValueError, match="scores"):
        M.mask_average_precision([dict(masks=t, labels=torch.tensor([1, 1]))], targets)


def test_mask_ap_warns_when_predicted_and_true_classes_cannot_match():
    from course_lib.metrics import mask_average_precision

    masks = torch.zeros(1, 8, 8, dtype=torch.bool)
    masks[0, 2:5, 2:5] = True
    pred = {"masks": masks, "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}
    with pytest.warns(UserWarning, match="'labels'"):
        assert mask_average_precision([pred], [{"masks": masks}]) == 0.0  # the target has no labels: class 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mask_average_precision([pred], [{"masks": masks, "labels": torch.tensor([1])}]) == pytest.approx(1.0)

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensors_give_the_same_answers(close):
    dev = torch.device("cuda")
    preds, targets = _instance_case(0)
    to = lambda d: {k: v.to(dev) for k, v in d.items()}  # noqa: E731
    close(
        M.mask_average_precision([to(d) for d in preds], [to(d) for d in targets]),
        M.mask_average_precision(preds, targets),
    )
