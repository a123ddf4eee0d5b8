"""Property-based tests of :mod:`course_lib.instances`: id map <-> detection dict <-> masks round-trips, and tight
boxes.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib.instances import (boxes_from_masks, connected_components, detections_from_ids, ids_from_instances,
                                  ids_from_masks, instances_from_ids)
from course_lib.metrics import masks_from_instance_ids

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def id_maps(draw: st.DrawFn) -> torch.Tensor:
    """An H×W int64 id map with arbitrary (gappy, unordered) positive ids and 0 = background."""
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    palette = draw(st.lists(st.integers(1, 40), min_size=1, max_size=5, unique=True))
    values = st.sampled_from([0, *palette])
    return torch.tensor(draw(st.lists(values, min_size=h * w, max_size=h * w)), dtype=torch.int64).reshape(h, w)


def _renumbered(ids: torch.Tensor) -> torch.Tensor:
    """``ids`` with its positive ids renumbered 1..N in increasing order (what a round trip gives back)."""
    present = [int(v) for v in torch.unique(ids) if v > 0]
    out = torch.zeros_like(ids)
    for k, v in enumerate(present, start=1):
        out[ids == v] = k
    return out


@SETTINGS
@given(id_maps(), st.integers(1, 5))
def test_ids_to_instances_and_back(ids, label):
    target = instances_from_ids(ids, label=label)
    n = len(torch.unique(ids[ids > 0]))
    assert target["masks"].shape == (n, *ids.shape) and target["masks"].dtype == torch.uint8
    assert target["labels"].tolist() == [label] * n
    assert target["boxes"].shape == (n, 4) and target["boxes"].dtype == torch.float32
    back = ids_from_instances(target)
    assert back.dtype == torch.int64
    assert torch.equal(back, _renumbered(ids))
    assert torch.equal(ids_from_instances(instances_from_ids(back)), back)  # a renumbered map is a fixed point


@SETTINGS
@given(id_maps())
def test_masks_to_ids_round_trip(ids):
    masks = masks_from_instance_ids(ids)
    assert torch.equal(ids_from_masks(masks), _renumbered(ids))
    assert torch.equal(ids_from_masks(masks.float() * 0.9), _renumbered(ids))  # probability masks, threshold 0.5
    assert torch.equal(ids_from_masks(masks.unsqueeze(1)), _renumbered(ids))  # K×1×H×W as Mask R-CNN gives
    dets = detections_from_ids(ids)
    assert torch.equal(ids_from_masks(dets["masks"], scores=dets["scores"]), _renumbered(ids))


@SETTINGS
@given(id_maps(), st.data())
def test_overlaps_go_to_the_highest_score(ids, data):
    masks = masks_from_instance_ids(ids)
    k = masks.shape[0]
    grown = masks | masks.any(0, keepdim=True)  # every mask now covers the whole foreground: all overlap
    scores = data.draw(st.lists(st.floats(0, 1), min_size=k, max_size=k, unique=True))
    out = ids_from_masks(grown, scores=scores)
    if k:
        best = int(np.argmax(scores)) + 1
        assert torch.equal(out, torch.where(ids > 0, best, 0))
    else:
        assert not out.any()


@SETTINGS
@given(id_maps())
def test_boxes_are_tight(ids):
    masks = masks_from_instance_ids(ids)
    boxes = boxes_from_masks(masks)
    for mask, (x0, y0, x1, y1) in zip(masks, boxes.tolist()):
        ys, xs = torch.nonzero(mask, as_tuple=True)
        assert (x0, y0, x1, y1) == (xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1)
        assert 0 <= x0 < x1 <= ids.shape[1] and 0 <= y0 < y1 <= ids.shape[0]


@SETTINGS
@given(id_maps(), st.sampled_from([4, 8]))
def test_connected_components_partition_the_mask(ids, connectivity):
    mask = ids > 0
    comps = connected_components(mask, connectivity=connectivity)
    assert torch.equal(comps > 0, mask)
    n = int(comps.max())
    assert sorted(torch.unique(comps[comps > 0]).tolist()) == list(range(1, n + 1))
    assert torch.equal(connected_components(comps > 0, connectivity=connectivity), comps)  # idempotent
    if connectivity == 4:  # 8-connectivity merges more: never more components
        assert int(connected_components(mask, connectivity=8).max()) <= n
