"""Procedural, seeded datasets that look like real segmentation tasks: street scenes, nuclei, lesions.

Every image is drawn with vectorised torch code, a chunk of images at a time, from a seed derived
from ``(dataset name, split, seed, chunk)``. So the same arguments give the same pixels, the splits
never share an image, and the first ``k`` images of a split do not depend on ``n``.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .base import SegmentationDataset, check_choice, parse_size
from .photos import PHOTO_CLASSES, render_photo_composites

__all__ = [
    "STREET_CLASSES",
    "NUCLEI_CLASSES",
    "LESION_CLASSES",
    "SYNTHETIC_DEFAULT_N",
    "SyntheticDataset",
    "render_streets",
    "render_nuclei",
    "render_lesions",
]

STREET_CLASSES = ("road", "sidewalk", "lane marking", "building", "vegetation", "sky", "car", "pedestrian", "pole/sign")
NUCLEI_CLASSES = ("background", "nucleus")
LESION_CLASSES = ("background", "lesion")
ROAD, SIDEWALK, LANE, BUILDING, VEGETATION, SKY, CAR, PEDESTRIAN, POLE = range(9)

#: Images per split when ``n`` is not given.
SYNTHETIC_DEFAULT_N = {"train": 1000, "val": 200, "test": 200}
_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
_CHUNK = 32


# --------------------------------------------------------------------------------------------------
# small drawing helpers (all batched: B images at once)
# --------------------------------------------------------------------------------------------------
def _u(g: torch.Generator, shape: tuple[int, ...], lo: float, hi: float) -> torch.Tensor:
    """Uniform random numbers in [lo, hi)."""
    return lo + (hi - lo) * torch.rand(shape, generator=g)


def _pick(g: torch.Generator, colours: list[tuple[float, float, float]], probs: list[float], n: int) -> torch.Tensor:
    """``n`` RGB colours drawn from a list with the given probabilities (n×3)."""
    idx = torch.multinomial(torch.tensor(probs, dtype=torch.float32), n, replacement=True, generator=g)
    return torch.tensor(colours, dtype=torch.float32)[idx]


def _smooth_noise(g: torch.Generator, b: int, h: int, w: int, cell: float, c: int = 1) -> torch.Tensor:
    """Smooth random field of about unit variance: a coarse grid of normal noise, upsampled bilinearly."""
    gh, gw = max(2, math.ceil(h / cell) + 2), max(2, math.ceil(w / cell) + 2)
    coarse = torch.randn(b, c, gh, gw, generator=g)
    # bilinear mixing of independent grid values leaves on average 2/3 of the standard deviation
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False) * 1.5


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian blur of a B×C×H×W batch with one sigma (pixels) per image."""
    b, c, h, w = x.shape
    r = max(1, int(math.ceil(3 * float(sigma.max()))))
    k = torch.arange(-r, r + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (k[None] / sigma.view(-1, 1).clamp(min=1e-3)) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C) × (2r+1)
    flat = x.reshape(1, b * c, h, w)
    flat = F.conv2d(F.pad(flat, (r, r, 0, 0), mode="replicate"), kernel.view(b * c, 1, 1, -1), groups=b * c)
    flat = F.conv2d(F.pad(flat, (0, 0, r, r), mode="replicate"), kernel.view(b * c, 1, -1, 1), groups=b * c)
    return flat.view(b, c, h, w)


def _wobbly_ellipse(
    xp: torch.Tensor, yp: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
    theta: torch.Tensor, harm: list[tuple[torch.Tensor, torch.Tensor]],
) -> torch.Tensor:
    """Normalised radius f of an ellipse whose outline wobbles (f < 1 inside); params broadcast against xp, yp.

    ``harm`` holds (amplitude, phase) for the angular harmonics 2, 3, ...: the outline radius is
    ``1 + sum(amp * cos(n * phi + phase))``. cos/sin of n*phi come from complex powers of (u + iv)/rho,
    which is much cheaper than atan2 and cos on every pixel.
    """
    dx, dy = xp - cx, yp - cy
    cos, sin = torch.cos(theta), torch.sin(theta)
    u = (dx * cos + dy * sin) / a
    v = (-dx * sin + dy * cos) / b
    rho = torch.sqrt(u * u + v * v).clamp(min=1e-6)
    c1, s1 = u / rho, v / rho
    cn, sn = c1, s1
    outline = torch.ones_like(rho)
    for amp, phase in harm:
        cn, sn = cn * c1 - sn * s1, sn * c1 + cn * s1  # cos/sin of the next multiple of phi
        outline = outline + amp * (cn * torch.cos(phase) - sn * torch.sin(phase))
    return rho / outline.clamp(min=0.3)


def _finish(
    g: torch.Generator, img: torch.Tensor, noise: tuple[float, float], blur: tuple[float, float]
) -> torch.Tensor:
    """Blur, add Gaussian sensor noise, clip and quantise a B×C×H×W batch in [0, 1] to uint8."""
    b = img.shape[0]
    img = _blur(img, _u(g, (b,), *blur))
    img = img + _u(g, (b, 1, 1, 1), *noise) * torch.randn(img.shape, generator=g)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


# --------------------------------------------------------------------------------------------------
# synthetic-streets
# --------------------------------------------------------------------------------------------------
_FACADE_COLOURS = [
    (0.55, 0.55, 0.55), (0.42, 0.42, 0.44), (0.68, 0.66, 0.62), (0.78, 0.70, 0.56),
    (0.58, 0.33, 0.26), (0.85, 0.84, 0.80), (0.32, 0.31, 0.30), (0.62, 0.52, 0.42),
]
_FACADE_PROBS = [0.2, 0.15, 0.15, 0.12, 0.12, 0.1, 0.08, 0.08]
_CAR_COLOURS = [
    (0.45, 0.45, 0.46), (0.60, 0.61, 0.62), (0.88, 0.88, 0.87), (0.10, 0.10, 0.11),
    (0.62, 0.10, 0.10), (0.14, 0.24, 0.52), (0.16, 0.30, 0.20), (0.70, 0.62, 0.45), (0.32, 0.33, 0.35),
]
_CAR_PROBS = [0.18, 0.16, 0.16, 0.14, 0.1, 0.09, 0.05, 0.04, 0.08]
_CLOTHES = [
    (0.12, 0.12, 0.14), (0.45, 0.45, 0.47), (0.20, 0.25, 0.45), (0.60, 0.15, 0.12), (0.25, 0.38, 0.22),
    (0.80, 0.78, 0.72), (0.55, 0.45, 0.30), (0.70, 0.55, 0.20),
]
_CLOTHES_PROBS = [0.2, 0.15, 0.2, 0.1, 0.1, 0.1, 0.08, 0.07]


# material slots of the colour table used by render_streets (one colour per image and slot)
_M_SKY, _M_FACADE, _M_GLASS, _M_GREEN, _M_ROAD, _M_WALK, _M_PAINT, _M_BARK, _M_FOLIAGE = 0, 1, 17, 18, 20, 21, 22, 23, 24
_M_METAL, _M_SIGN, _M_PERSON, _M_CAR, _M_LIGHT, _M_PLATE, _M_TYRE, _N_MATERIALS = 25, 26, 28, 37, 41, 42, 43, 44
_LEAFY = (_M_GREEN, _M_GREEN + 1, _M_FOLIAGE)


def render_streets(g: torch.Generator, b: int, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``b`` street scenes (uint8 B×3×H×W, uint8 B×H×W labels in :data:`STREET_CLASSES` order).

    The scene is painted into three B×H×W maps — class label, material (an index into a per-image
    colour table) and nearness (a z-buffer) — and the colours are looked up once at the end.
    """
    yp = (torch.arange(h, dtype=torch.float32) + 0.5).view(1, h, 1)
    xp = (torch.arange(w, dtype=torch.float32) + 0.5).view(1, 1, w)
    ys, xs = yp / h, xp / w

    def u(lo: float, hi: float) -> torch.Tensor:
        return _u(g, (b, 1, 1), lo, hi)

    # camera and street layout: horizon row, vanishing point, road and sidewalk edges at the bottom row
    yh, xv = u(0.30, 0.48), u(0.30, 0.70)
    xl_b, xr_b = u(-0.35, 0.15), u(0.85, 1.35)
    wl, wr = u(0.12, 0.45), u(0.12, 0.45)
    unit = 0.2 * (xr_b - xl_b) * w  # pixels per "1.5 m" at the bottom row (the road is 5 units wide)

    table = torch.zeros(b, _N_MATERIALS, 3)  # colour of each material in each image
    lab = torch.full((b, h, w), SKY, dtype=torch.uint8)
    mat = torch.full((b, h, w), _M_SKY, dtype=torch.uint8)
    near = torch.zeros(b, h, w)  # z-buffer: 0 = far away (sky) ... 1 = bottom image row
    shade = torch.ones(b, h, w)  # per-pixel light: shadows, tiles, bumpers

    def paint(mask: torch.Tensor, material: int | torch.Tensor, cls: int | torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """Paint ``mask`` where it is nearer than what is there; returns the pixels painted."""
        nonlocal lab, mat, near
        mask = mask & (depth >= near)
        lab = torch.where(mask, torch.as_tensor(cls, dtype=torch.uint8), lab)
        mat = torch.where(mask, torch.as_tensor(material, dtype=torch.uint8), mat)
        near = torch.where(mask, depth, near)
        return mask

    # --- facades on both sides: buildings with windows, or vegetation, in segments along the street
    v = (yh - ys) / (1 - yh)  # > 0 above the horizon, in camera heights at unit nearness
    for side in (0, 1):
        d = (xv - xs) if side == 0 else (xs - xv)
        span = (xv - (xl_b - wl)) if side == 0 else ((xr_b + wr) - xv)
        tc = d / span  # nearness of the facade column: 1 at the bottom image corner, 0 at the vanishing point
        zc = 1.0 / tc.clamp(min=1e-3)
        k = 7
        lengths = _u(g, (b, k), 0.4, 3.0)
        bps = 1.0 + torch.cumsum(lengths, 1) - _u(g, (b, 1), 0, 1) * lengths[:, :1]
        seg = (zc.view(b, w, 1) > bps.view(b, 1, k)).sum(-1)  # B×W segment index 0..k

        def per_seg(values: torch.Tensor) -> torch.Tensor:
            return torch.gather(values, 1, seg).view(b, 1, w)

        is_veg = per_seg((torch.rand(b, k + 1, generator=g) < 0.28).float()) > 0.5
        rho = torch.where(is_veg, per_seg(_u(g, (b, k + 1), 0.6, 2.2)), per_seg(_u(g, (b, k + 1), 1.5, 7.0)))
        bumps = 1 + 0.3 * _smooth_noise(g, b, 1, w, w / 14).view(b, 1, w) * is_veg
        facade = (tc > 0) & (v > -tc) & (v < rho * bumps * tc)
        height = 1 + v / tc.clamp(min=1e-3)  # height above the ground, in camera heights
        period = per_seg(_u(g, (b, k + 1), 0.25, 0.6))
        storey = per_seg(_u(g, (b, k + 1), 1.3, 2.2))
        duty = per_seg(_u(g, (b, k + 1), 0.35, 0.65))
        floor = torch.frac(height / storey)
        windows = (
            (torch.frac(zc / period + per_seg(_u(g, (b, k + 1), 0, 1))) < duty)
            & (floor > 0.35) & (floor < 0.8) & (height > 0.8) & (height < 1 + rho - 0.4)
        )
        light = _u(g, (b, 1, 1), 0.65, 1.1)
        first = _M_FACADE + 8 * side
        table[:, first : first + 8] = _pick(g, _FACADE_COLOURS, _FACADE_PROBS, b * 8).view(b, 8, 3) * _u(g, (b, 8, 1), 0.85, 1.15) * light
        table[:, _M_GREEN + side] = (torch.tensor([0.22, 0.36, 0.14]) + _u(g, (b, 3), -0.08, 0.08)) * light.view(b, 1)
        material = torch.where(is_veg, _M_GREEN + side, torch.where(windows, _M_GLASS, first + seg.view(b, 1, w)))
        paint(facade, material, torch.where(is_veg, VEGETATION, BUILDING), tc.expand(b, h, w))
    table[:, _M_GLASS] = torch.tensor([0.18, 0.22, 0.30]) + _u(g, (b, 3), -0.08, 0.15)

    # --- ground: road between the edge lines, sidewalks outside them
    t = (ys - yh) / (1 - yh)
    tp = t.clamp(min=1e-3)
    z = 1.0 / tp
    ground = (t > 0) & (lab == SKY)  # below the horizon and not a facade
    xl = xv + (xl_b - xv) * tp
    xr = xv + (xr_b - xv) * tp
    road = ground & (xs > xl) & (xs < xr)
    row_depth = tp.expand(b, h, w)
    paint(road, _M_ROAD, ROAD, row_depth)
    paint(ground & ~road, _M_WALK, SIDEWALK, row_depth)
    table[:, _M_ROAD] = _u(g, (b, 1), 0.22, 0.52) + _u(g, (b, 3), -0.025, 0.025)
    table[:, _M_WALK] = _pick(
        g, [(0.60, 0.60, 0.58), (0.50, 0.50, 0.50), (0.72, 0.66, 0.56), (0.58, 0.40, 0.36), (0.38, 0.38, 0.38)],
        [0.3, 0.25, 0.2, 0.1, 0.15], b,
    )
    tiles = torch.frac(z * u(1.0, 3.0)) < 0.12
    shade = torch.where((lab == SIDEWALK) & tiles, 0.85, shade)
    shade = torch.where(lab == ROAD, 1 + 0.1 * _smooth_noise(g, b, h, w, 6).squeeze(1), shade)

    # --- lane markings: a dashed centre line (dashes shrink with distance) and sometimes solid edge lines
    half = u(0.006, 0.013) * tp
    xm = xv + (xl_b + (xr_b - xl_b) * u(0.4, 0.6) - xv) * tp
    dashes = (torch.frac(z * u(0.5, 1.2) + u(0, 1)) < u(0.35, 0.6)) | (u(0, 1) < 0.2)
    lines = ((xs - xm).abs() < half) & dashes & (u(0, 1) < 0.8)
    edge_off = 0.04 * (xr_b - xl_b) * tp
    edges = (((xs - xl - edge_off).abs() < half) | ((xs - xr + edge_off).abs() < half)) & (u(0, 1) < 0.4)
    paint(road & (lines | edges), _M_PAINT, LANE, row_depth)
    yellow = torch.rand(b, 1, generator=g) < 0.3
    fresh = torch.where(yellow, torch.tensor([0.85, 0.75, 0.30]), torch.tensor([0.90, 0.90, 0.88]))
    wear = _u(g, (b, 1), 0.55, 1.0)
    table[:, _M_PAINT] = table[:, _M_ROAD] * (1 - wear) + fresh * wear

    # --- in sunny scenes one side of the street casts a shadow across the ground
    overcast = torch.rand(b, 1, 1, generator=g) < 0.35
    sunny = (torch.rand(b, 1, 1, generator=g) < 0.5) & ~overcast
    x_sh = xv + (u(-0.3, 0.6) - xv) * tp
    shadow = sunny & ground & torch.where(u(0, 1) < 0.5, xs < x_sh, xs > 1 - x_sh)
    shade = torch.where(shadow, shade * u(0.5, 0.72), shade)

    def ground_row(tk: torch.Tensor) -> torch.Tensor:
        return (yh + tk * (1 - yh)) * h  # pixel row where something at nearness tk stands

    def walk_x(tk: torch.Tensor, s: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """Pixel column at lateral fraction s across the left or right sidewalk, at nearness tk."""
        left_x = xv + (xl_b - xv) * tk - s * wl * tk
        right_x = xv + (xr_b - xv) * tk + s * wr * tk
        return torch.where(right, right_x, left_x) * w

    # --- street trees at the outer edge of the sidewalks
    lumpy = 0.45 * _smooth_noise(g, b, h, w, 3).squeeze(1)
    for _ in range(3):
        present = u(0, 1) < 0.35
        tk, right = u(0.15, 0.9), u(0, 1) < 0.5
        xc, yg, up = walk_x(tk, u(0.65, 0.95), right), ground_row(tk), unit * tk
        yc, r = yg - u(2.2, 3.2) * up, u(0.8, 1.3) * up
        crown = present & (((xp - xc) ** 2 + (yp - yc) ** 2) / r**2 + lumpy < 1)
        trunk = present & ((xp - xc).abs() < (0.08 * up).clamp(min=0.5)) & (yp < yg) & (yp > yc)
        depth = tk.expand(b, h, w)
        paint(trunk, _M_BARK, VEGETATION, depth)
        paint(crown, _M_FOLIAGE, VEGETATION, depth)
    table[:, _M_BARK] = torch.tensor([0.30, 0.22, 0.15]) * _u(g, (b, 1), 0.7, 1.3)
    table[:, _M_FOLIAGE] = torch.tensor([0.20, 0.38, 0.12]) + _u(g, (b, 3), -0.08, 0.1)

    # --- poles, some carrying a sign
    for j in range(2):
        present = u(0, 1) < 0.4
        tk, right = u(0.15, 0.95), u(0, 1) < 0.5
        xc, yg, up = walk_x(tk, u(0.7, 0.95), right), ground_row(tk), unit * tk
        top = yg - u(2.5, 4.0) * up
        depth = tk.expand(b, h, w)
        paint(present & ((xp - xc).abs() < (0.05 * up).clamp(min=0.5)) & (yp < yg) & (yp > top), _M_METAL, POLE, depth)
        half_sign = u(0.18, 0.28) * up
        sign = present & (u(0, 1) < 0.6) & ((xp - xc).abs() < half_sign) & ((yp - top - half_sign).abs() < half_sign)
        paint(sign, _M_SIGN + j, POLE, depth)
        table[:, _M_SIGN + j] = _pick(g, [(0.75, 0.1, 0.1), (0.1, 0.25, 0.7), (0.9, 0.9, 0.9), (0.85, 0.7, 0.1)], [0.3, 0.3, 0.25, 0.15], b)
    table[:, _M_METAL] = _u(g, (b, 1), 0.35, 0.65) + _u(g, (b, 3), -0.02, 0.02)

    # --- pedestrians on the sidewalks, sometimes crossing the road
    for j in range(3):
        present = u(0, 1) < 0.4
        tk, right = 0.12 + 0.8 * u(0, 1) ** 1.3, u(0, 1) < 0.5
        road_x = (xv + (xl_b - xv) * tk + u(0.1, 0.9) * (xr_b - xl_b) * tk) * w
        xc = torch.where(u(0, 1) < 0.15, road_x, walk_x(tk, u(0.1, 0.8), right))
        yg, size_ = ground_row(tk), 1.15 * unit * tk
        rx, ry = (xp - xc) / size_, (yg - yp) / size_  # body coordinates: feet at ry = 0, top of head at 1
        stride = u(-0.06, 0.06) * (0.47 - ry)
        head = rx**2 + (ry - 0.9) ** 2 < 0.01
        torso = (rx.abs() < 0.14) & (ry > 0.45) & (ry < 0.8)
        legs = (ry >= 0) & (ry <= 0.47) & (((rx - 0.05 - stride).abs() < 0.045) | ((rx + 0.05 + stride).abs() < 0.045))
        first = _M_PERSON + 3 * j
        part = torch.where(head, first, torch.where(torso, first + 1, first + 2))
        paint(present & (head | torso | legs), part, PEDESTRIAN, tk.expand(b, h, w))
        table[:, first] = _pick(g, [(0.85, 0.68, 0.55), (0.60, 0.42, 0.30), (0.35, 0.24, 0.18)], [0.5, 0.3, 0.2], b)
        table[:, first + 1] = _pick(g, _CLOTHES, _CLOTHES_PROBS, b)
        table[:, first + 2] = _pick(g, _CLOTHES, _CLOTHES_PROBS, b)

    # --- cars on the road (some parked at the edge), seen from behind, with a shadow underneath
    for j, prob in enumerate((0.75, 0.5, 0.35, 0.2)):
        present = u(0, 1) < prob
        tk = 0.1 + 0.85 * u(0, 1) ** 1.3
        parked = u(0, 1) < 0.25
        lane = torch.where(parked, torch.where(u(0, 1) < 0.5, u(0.06, 0.14), u(0.86, 0.94)), u(0.2, 0.8))
        xc = (xv + (xl_b - xv) * tk + lane * (xr_b - xl_b) * tk) * w
        yg, up = ground_row(tk), unit * tk
        rx, ry = (xp - xc) / up, (yg - yp) / up
        ax = rx.abs()
        wheels = (ry >= 0) & (ry < 0.25) & (ax > 0.36) & (ax < 0.56)
        body = (ry >= 0.12) & (ry < 0.62) & (ax < 0.6 - 0.08 * ((ry - 0.5) / 0.12).clamp(min=0))
        cabin_w = 0.5 - 0.14 * (ry - 0.62) / 0.38
        cabin = (ry >= 0.62) & (ry < 1.0) & (ax < cabin_w)
        window = (ry >= 0.66) & (ry < 0.95) & (ax < cabin_w - 0.07)
        lights = (ry >= 0.45) & (ry < 0.55) & (ax > 0.44) & (ax < 0.58)
        plate = (ry >= 0.24) & (ry < 0.34) & (ax < 0.12)
        under = present & (lab == ROAD) & (ry > -0.06) & (ry < 0.05) & (ax < 0.7) & (tk >= near)
        shade = torch.where(under, shade * 0.45, shade)
        part = torch.where(wheels, _M_TYRE, torch.where(window, _M_GLASS, _M_CAR + j))
        part = torch.where(lights, _M_LIGHT, torch.where(plate, _M_PLATE, part))
        painted = paint(present & (wheels | body | cabin), part, CAR, tk.expand(b, h, w))
        shade = torch.where(painted & (ry > 0.12) & (ry < 0.2), shade * 0.88, shade)  # bumper
        table[:, _M_CAR + j] = _pick(g, _CAR_COLOURS, _CAR_PROBS, b)
    table[:, _M_LIGHT] = torch.tensor([0.75, 0.08, 0.08])
    table[:, _M_PLATE] = torch.tensor([0.92, 0.92, 0.85])
    table[:, _M_TYRE] = torch.tensor([0.06, 0.06, 0.07])

    # --- colour the scene: look up materials, add grain, leaf texture, sky with clouds, glass reflections
    flat_mat = mat.long().view(b, 1, h * w).expand(b, 3, h * w)
    img = torch.gather(table.transpose(1, 2), 2, flat_mat).view(b, 3, h, w)
    grain = 0.06 * torch.randn(b, 1, h, w, generator=g)
    leaves = 0.55 + 0.45 * _smooth_noise(g, b, h, w, 1.6).clamp(-1.2, 1.5)
    leafy = (mat == _LEAFY[0]) | (mat == _LEAFY[1]) | (mat == _LEAFY[2])
    texture = torch.where(leafy.unsqueeze(1), leaves, 1 + grain)
    clouds = ((_smooth_noise(g, b, h, w, h / 4) - 0.3) * u(0.0, 0.6).unsqueeze(1)).clamp(0, 1)
    texture = torch.where((mat == _M_GLASS).unsqueeze(1), 0.8 + 0.5 * clouds, texture)
    img = img * texture * shade.unsqueeze(1)
    top = torch.tensor([0.30, 0.48, 0.82]) + _u(g, (b, 3), -0.08, 0.08)
    hor = torch.tensor([0.76, 0.82, 0.90]) + _u(g, (b, 3), -0.06, 0.06)
    grey = _u(g, (b, 1), 0.50, 0.85) + _u(g, (b, 3), -0.03, 0.03)
    top = torch.where(overcast.view(b, 1), grey * 0.9, top).view(b, 3, 1, 1)
    hor = torch.where(overcast.view(b, 1), grey, hor).view(b, 3, 1, 1)
    frac = (ys / yh).clamp(0, 1).unsqueeze(1)
    sky = (top * (1 - frac) + hor * frac) * (1 - clouds) + 0.92 * clouds
    img = torch.where((mat == _M_SKY).unsqueeze(1), sky, img)

    # --- atmosphere and camera: haze with distance, exposure, colour cast, gamma, vignette, noise, blur
    haze = (u(0.0, 0.45) * (1 - near) ** 6).unsqueeze(1)
    img = img * (1 - haze) + hor * haze
    img = img * u(0.55, 1.35).unsqueeze(1) * _u(g, (b, 3, 1, 1), 0.88, 1.12)
    img = img.clamp(0, 1) ** u(0.8, 1.25).unsqueeze(1)
    img = img * (1 - u(0.0, 0.5).unsqueeze(1) * ((xs - 0.5) ** 2 + (ys - 0.5) ** 2))
    return _finish(g, img, noise=(0.005, 0.035), blur=(0.3, 0.8)), lab



# --------------------------------------------------------------------------------------------------
# synthetic-nuclei
# --------------------------------------------------------------------------------------------------
def render_nuclei(g: torch.Generator, b: int, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``b`` fluorescence-like images of touching nuclei (uint8 B×1×H×W, int32 B×H×W instance ids)."""
    scale = min(h, w) / 64
    k = 18  # at most 18 nuclei per image
    yp = (torch.arange(h, dtype=torch.float32) + 0.5).view(1, 1, h, 1)
    xp = (torch.arange(w, dtype=torch.float32) + 0.5).view(1, 1, 1, w)

    # centres: most nuclei crowd around 1-3 cluster centres, so many touch or overlap
    count = torch.randint(4, 19, (b, 1), generator=g)
    n_clusters = torch.randint(1, 4, (b, 1), generator=g)
    centres = torch.stack([_u(g, (b, 3), 0.15, 0.85) * w, _u(g, (b, 3), 0.15, 0.85) * h], -1)  # B×3×2
    which = (torch.rand(b, k, generator=g) * n_clusters).long()
    spread = _u(g, (b, 1, 1), 5, 14) * scale
    clustered = torch.gather(centres, 1, which.unsqueeze(-1).expand(b, k, 2)) + spread * torch.randn(b, k, 2, generator=g)
    scattered = torch.stack([_u(g, (b, k), 0, 1) * w, _u(g, (b, k), 0, 1) * h], -1)
    pos = torch.where(torch.rand(b, k, 1, generator=g) < 0.7, clustered, scattered)
    a = _u(g, (b, k), 3.5, 8.0) * scale
    bb = a * _u(g, (b, k), 0.6, 1.0)
    radius = (a + bb) / 2

    # accept a nucleus only if it does not sit almost on top of an earlier one (touching is fine)
    valid = torch.arange(k).view(1, k) < count
    for i in range(1, k):
        dist = (pos[:, :i] - pos[:, i : i + 1]).norm(dim=-1)
        too_close = (dist < 0.65 * (radius[:, :i] + radius[:, i : i + 1])) & valid[:, :i]
        valid[:, i] &= ~too_close.any(1)

    # evaluate each nucleus only in a small window around its centre (much cheaper than the full image)
    reach = int(math.ceil(8.0 * scale * 1.25)) + 1  # largest radius times the largest outline wobble
    p = 2 * reach
    x0 = pos[..., 0].floor().long() - reach  # B×K window corners
    y0 = pos[..., 1].floor().long() - reach
    offs = torch.arange(p)
    ix = (x0.unsqueeze(-1) + offs).view(b, k, 1, p)  # pixel columns of each window
    iy = (y0.unsqueeze(-1) + offs).view(b, k, p, 1)

    def per_k(x: torch.Tensor) -> torch.Tensor:
        return x.view(b, k, 1, 1)

    harm = [(per_k(_u(g, (b, k), 0, 0.12)), per_k(_u(g, (b, k), 0, 6.3))) for _ in range(2)]
    f = _wobbly_ellipse(
        ix + 0.5, iy + 0.5, per_k(pos[..., 0]), per_k(pos[..., 1]), per_k(a), per_k(bb), per_k(_u(g, (b, k), 0, math.pi)), harm
    )  # B×K×P×P normalised radius

    # each pixel belongs to the nucleus it is most inside of: pack (f, k) into one integer and take
    # the minimum per pixel with scatter_reduce; pixels outside the image go to a spare slot
    usable = (f < 1) & per_k(valid) & (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    key = (f.clamp(max=1) * 2**20).long() * 32 + torch.arange(k).view(1, k, 1, 1)
    none = 2**20 * 32 + 31
    key = torch.where(usable, key, none)
    where_ = torch.where(usable, iy.clamp(0, h - 1) * w + ix.clamp(0, w - 1), h * w)
    best = torch.full((b, h * w + 1), none, dtype=torch.long)
    best.scatter_reduce_(1, where_.view(b, -1), key.view(b, -1), reduce="amin")
    best = best[:, : h * w].view(b, h, w)
    inside = best < none
    owner = torch.where(inside, best % 32, 0)
    fmin = torch.where(inside, (best // 32).float() / 2**20, torch.ones(1))

    # drop slivers (< 4 px, e.g. cut by the image border), then renumber ids 1..N per image
    ids = torch.where(inside, owner + 1, 0).view(b, -1)
    area = torch.zeros(b, k + 1).scatter_add_(1, ids, torch.ones_like(ids, dtype=torch.float32))
    keep = area >= 4
    keep[:, 0] = False
    lut = torch.cumsum(keep.long(), 1) * keep.long()
    ids = torch.gather(lut, 1, ids).view(b, h, w)
    inside = ids > 0

    # intensity: per-nucleus brightness, a soft edge profile and chromatin texture
    bright = _u(g, (b, k), 0.25, 1.0)
    level = torch.gather(bright, 1, owner.view(b, -1)).view(b, h, w)
    profile = 0.55 + 0.45 * (1 - fmin.clamp(max=1) ** 2)
    chromatin = 1 + 0.25 * _smooth_noise(g, b, h, w, 2 * scale).squeeze(1)
    nuclei = torch.where(inside, level * profile * chromatin.clamp(0.3, 1.8), torch.zeros(1))

    # background: offset, gradient, haze and a few out-of-focus debris blobs (not nuclei)
    ys, xs = yp[0] / h, xp[0] / w
    angle = _u(g, (b, 1, 1), 0, 2 * math.pi)
    gradient = (xs * torch.cos(angle) + ys * torch.sin(angle) + 1) / 2
    background = _u(g, (b, 1, 1), 0.02, 0.12) + _u(g, (b, 1, 1), 0, 0.15) * gradient
    background = background + 0.03 * _smooth_noise(g, b, h, w, 16).squeeze(1)
    for _ in range(3):
        cx, cy = _u(g, (b, 1, 1), 0, w), _u(g, (b, 1, 1), 0, h)
        r = _u(g, (b, 1, 1), 2, 6) * scale
        amp = _u(g, (b, 1, 1), 0.05, 0.25) * (torch.rand(b, 1, 1, generator=g) < 0.6)
        background = background + amp * torch.exp(-((xs - cx / w) ** 2 * w * w + (ys - cy / h) ** 2 * h * h) / (2 * r * r))

    img = (background + nuclei).unsqueeze(1)
    img = _blur(img, _u(g, (b,), 0.5, 1.3) * scale).clamp(min=0)
    photons = _u(g, (b, 1, 1, 1), 20, 200)  # shot noise: Poisson(img * photons) / photons, Gaussian approximation
    img = img + torch.sqrt(img / photons) * torch.randn(img.shape, generator=g)
    img = _finish(g, img, noise=(0.005, 0.03), blur=(0.0, 0.01))
    return img, ids.to(torch.int32)


# --------------------------------------------------------------------------------------------------
# synthetic-lesions
# --------------------------------------------------------------------------------------------------
def render_lesions(
    g: torch.Generator, b: int, h: int, w: int, empty_fraction: float = 0.2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``b`` grey scan-like slices with an organ and low-contrast lesions (uint8 B×1×H×W, uint8 B×H×W labels)."""
    s = min(h, w)
    yp = (torch.arange(h, dtype=torch.float32) + 0.5).view(1, h, 1)
    xp = (torch.arange(w, dtype=torch.float32) + 0.5).view(1, 1, w)

    def u(lo: float, hi: float) -> torch.Tensor:
        return _u(g, (b, 1, 1), lo, hi)

    def harmonics(n: int, amp: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(u(0, amp), u(0, 2 * math.pi)) for _ in range(n)]

    # body outline with a bright fat rim, a bright "spine", and darker soft tissue
    bcx, bcy = w * u(0.46, 0.54), h * u(0.46, 0.54)
    f_body = _wobbly_ellipse(xp, yp, bcx, bcy, w * u(0.40, 0.48), h * u(0.34, 0.45), u(-0.2, 0.2), harmonics(3, 0.04))
    body = f_body < 1
    soft = u(0.22, 0.42)
    img = torch.where(body, soft, u(0.0, 0.06).expand(b, h, w))
    img = torch.where(body & (f_body > u(0.88, 0.94)), u(0.55, 0.8), img)
    spine = (xp - bcx) ** 2 + (yp - (bcy + h * u(0.22, 0.3))) ** 2 < (s * u(0.05, 0.08)) ** 2
    img = torch.where(spine & body, u(0.7, 0.95), img)

    # the organ: an irregular blob, brighter than soft tissue on average, with smooth texture
    ocx, ocy = bcx + w * u(-0.1, 0.1), bcy + h * u(-0.12, 0.05)
    oa, ob, otheta = s * u(0.22, 0.34), s * u(0.18, 0.3), u(0, math.pi)
    f_organ = _wobbly_ellipse(xp, yp, ocx, ocy, oa, ob, otheta, harmonics(3, 0.1))
    organ = (f_organ < 1) & body
    tissue = soft + u(0.03, 0.25)
    texture = 1 + 0.06 * _smooth_noise(g, b, h, w, 6).squeeze(1) + 0.04 * _smooth_noise(g, b, h, w, 2).squeeze(1)
    img = torch.where(organ, tissue * texture, img)

    # distractors: small round vessels inside the organ, bright or dark
    def in_organ(reach: float) -> tuple[torch.Tensor, torch.Tensor]:
        """A random point inside the organ's ellipse, at most ``reach`` of the way to its outline."""
        ang, rad = u(0, 2 * math.pi), u(0, reach).sqrt()
        lx, ly = rad * oa * torch.cos(ang), rad * ob * torch.sin(ang)  # in the organ's own frame
        return ocx + lx * torch.cos(otheta) - ly * torch.sin(otheta), ocy + lx * torch.sin(otheta) + ly * torch.cos(otheta)

    for _ in range(4):
        vx, vy = in_organ(0.8)
        r = u(1.0, 2.5) * s / 64
        vessel = organ & ((xp - vx) ** 2 + (yp - vy) ** 2 < r * r) & (u(0, 1) < 0.7)
        img = torch.where(vessel, tissue * torch.where(u(0, 1) < 0.6, u(1.25, 1.6), u(0.55, 0.8)), img)

    # lesions: 80% of images have one (some two); hypo- or hyper-intense by 25-45% of the local tissue
    lab = torch.zeros(b, h, w, dtype=torch.bool)
    has = u(0, 1) >= empty_fraction
    for j in range(2):
        present = has & ((u(0, 1) < 0.3) if j else torch.ones(b, 1, 1, dtype=torch.bool))
        lx, ly = in_organ(0.6)
        la = u(3.0, 9.0) * s / 64
        f_les = _wobbly_ellipse(xp, yp, lx, ly, la, la * u(0.6, 1.0), u(0, math.pi), harmonics(3, 0.15))
        lesion = present & organ & (f_les < 1)
        lab |= lesion
        sign = torch.where(u(0, 1) < 0.65, -1.0, 1.0)
        weight = torch.sigmoid((1 - f_les) / 0.08) * (present & organ)
        mottle = 1 + 0.1 * _smooth_noise(g, b, h, w, 1.5).squeeze(1)
        rim = ((f_les > 0.85) & (f_les < 1.1) & (u(0, 1) < 0.4)).float() * 0.06 * (present & organ)
        img = img * (1 + sign * u(0.25, 0.45) * weight * mottle - sign * rim)

    # scanner: smooth bias field, gain, blur and Rician noise
    ys, xs = yp / h, xp / w
    angle = u(0, 2 * math.pi)
    bias = 1 + u(0.1, 0.35) * ((xs - 0.5) * torch.cos(angle) + (ys - 0.5) * torch.sin(angle)) * 2
    bias = bias + 0.08 * _smooth_noise(g, b, h, w, 24).squeeze(1)
    img = (img * bias * u(0.75, 1.25) + u(-0.04, 0.04)).unsqueeze(1)
    img = _blur(img, _u(g, (b,), 0.4, 0.9) * s / 64)
    sigma = _u(g, (b, 1, 1, 1), 0.015, 0.045)
    real = img + sigma * torch.randn(img.shape, generator=g)
    imag = sigma * torch.randn(img.shape, generator=g)
    img = torch.sqrt(real**2 + imag**2)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8), lab.to(torch.uint8)


# --------------------------------------------------------------------------------------------------
# the dataset class
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    render: Callable[..., tuple[torch.Tensor, torch.Tensor]]
    default_size: tuple[int, int]
    native_channels: int
    has_instances: bool
    class_names: tuple[str, ...]


_SPECS = {
    "synthetic-streets": _Spec(render_streets, (64, 96), 3, False, STREET_CLASSES),
    "synthetic-nuclei": _Spec(render_nuclei, (64, 64), 1, True, NUCLEI_CLASSES),
    "synthetic-lesions": _Spec(render_lesions, (64, 64), 1, False, LESION_CLASSES),
    "photo-composites": _Spec(render_photo_composites, (64, 64), 3, False, PHOTO_CLASSES),
}


@contextmanager
def _single_threaded() -> Iterator[None]:
    """Run torch ops on one thread: drawing uses many small ops, which extra threads only slow down."""
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _chunk_seed(name: str, split: str, seed: int, chunk: int) -> int:
    """A 63-bit seed for one chunk, mixed from the dataset name, split, user seed and chunk number."""
    entropy = [seed, zlib.crc32(name.encode()), _SPLIT_CODES[split], chunk]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


class SyntheticDataset(SegmentationDataset):
    """A seeded procedural dataset; images are drawn lazily, 32 at a time, and kept in memory.

    With DataLoader workers, call :meth:`generate_all` first: workers then share the drawn images
    instead of each drawing them again every epoch.
    """

    def __init__(
        self,
        name: str,
        split: str = "train",
        *,
        n: int | None = None,
        size: int | tuple[int, int] | None = None,
        seed: int = 0,
        target: str = "semantic",
        channels: int | None = None,
        transform: Callable | None = None,
        empty_fraction: float | None = None,
    ) -> None:
        check_choice("name", name, tuple(_SPECS))
        spec = _SPECS[name]
        self.has_instances = spec.has_instances
        check_choice("split", split, ("train", "val", "test", "all"))
        if split == "all":
            raise ValueError(f"split='all' is not available for {name!r}: synthetic splits are separate; use 'train', 'val' or 'test'.")
        if n is None:
            n = SYNTHETIC_DEFAULT_N.get(split, 0)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1 or n > 1_000_000:
            raise ValueError(f"n={n!r} must be a positive int (number of images), e.g. n=200.")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative int, e.g. seed=0.")
        self._render_kwargs: dict[str, float] = {}
        if empty_fraction is not None:
            if name != "synthetic-lesions":
                raise ValueError(f"empty_fraction is an option of 'synthetic-lesions' only, not of {name!r}.")
            if not 0.0 <= float(empty_fraction) <= 1.0:
                raise ValueError(f"empty_fraction={empty_fraction!r} must be in [0, 1], e.g. 0.2.")
            self._render_kwargs["empty_fraction"] = float(empty_fraction)
        size_hw = parse_size(size) or spec.default_size
        super().__init__(
            name=name,
            split=split,
            num_classes=len(spec.class_names),
            class_names=spec.class_names,
            ignore_index=None,
            target=target,
            size=None,  # drawn at the requested size, never resized
            channels=channels,
            transform=transform,
        )
        self.image_size = size_hw
        self.n = int(n)
        self.seed = int(seed)
        self._spec = spec
        self._chunks: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def __len__(self) -> int:
        return self.n

    def _chunk(self, c: int) -> tuple[torch.Tensor, torch.Tensor]:
        if c not in self._chunks:
            g = torch.Generator().manual_seed(_chunk_seed(self.name, self.split, self.seed, c))
            h, w = self.image_size
            with _single_threaded():
                self._chunks[c] = self._spec.render(g, _CHUNK, h, w, **self._render_kwargs)
        return self._chunks[c]

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self._chunk(index // _CHUNK)
        return images[index % _CHUNK], labels[index % _CHUNK]

    def generate_all(self, workers: int | None = None) -> "SyntheticDataset":
        """Draw every image now rather than on first access (in ``workers`` threads, default: up to 2); returns self."""
        todo = [c for c in range((self.n + _CHUNK - 1) // _CHUNK) if c not in self._chunks]
        if workers is None:
            workers = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers={workers!r} must be a positive int, e.g. workers=2.")
        with _single_threaded():  # torch ops release the GIL, so chunks are drawn in parallel threads
            if workers == 1 or len(todo) < 2:
                for c in todo:
                    self._chunk(c)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    list(pool.map(self._chunk, todo))
        return self

    def __repr__(self) -> str:
        h, w = self.image_size
        return (
            f"SyntheticDataset(name={self.name!r}, split={self.split!r}, n={self.n}, size=({h}, {w}), "
            f"seed={self.seed}, target={self.target_type!r}, num_classes={self.num_classes})"
        )
