"""Things standing in a synthetic street: trees, poles with signs, pedestrians and cars (seen from behind)."""

from __future__ import annotations

import torch

from .drawing import pick_colours, smooth_noise, uniform
from .street_scene import CAR, PEDESTRIAN, POLE, ROAD, VEGETATION, Material, StreetScene

__all__ = ["CAR_COLOURS", "CAR_PROBS", "CLOTHES", "CLOTHES_PROBS", "draw_trees", "draw_poles", "draw_pedestrians", "draw_cars"]

CAR_COLOURS = [
    (0.45, 0.45, 0.46), (0.60, 0.61, 0.62), (0.88, 0.88, 0.87), (0.10, 0.10, 0.11),
    (0.62, 0.10, 0.10), (0.14, 0.24, 0.52), (0.16, 0.30, 0.20), (0.70, 0.62, 0.45), (0.32, 0.33, 0.35),
]
CAR_PROBS = [0.18, 0.16, 0.16, 0.14, 0.1, 0.09, 0.05, 0.04, 0.08]
CLOTHES = [
    (0.12, 0.12, 0.14), (0.45, 0.45, 0.47), (0.20, 0.25, 0.45), (0.60, 0.15, 0.12), (0.25, 0.38, 0.22),
    (0.80, 0.78, 0.72), (0.55, 0.45, 0.30), (0.70, 0.55, 0.20),
]
CLOTHES_PROBS = [0.2, 0.15, 0.2, 0.1, 0.1, 0.1, 0.08, 0.07]
_SKIN = [(0.85, 0.68, 0.55), (0.60, 0.42, 0.30), (0.35, 0.24, 0.18)]
_SKIN_PROBS = [0.5, 0.3, 0.2]
_SIGN_COLOURS = [(0.75, 0.1, 0.1), (0.1, 0.25, 0.7), (0.9, 0.9, 0.9), (0.85, 0.7, 0.1)]
_SIGN_PROBS = [0.3, 0.3, 0.25, 0.15]
_CAR_ODDS = (0.75, 0.5, 0.35, 0.2)  # chance of each of the four cars


def draw_trees(sc: StreetScene) -> None:
    """Up to three street trees (trunk and lumpy crown) at the outer edge of the sidewalks."""
    b, h, w, g = sc.b, sc.h, sc.w, sc.g
    lumpy = 0.45 * smooth_noise(g, b, h, w, 3).squeeze(1)
    for _ in range(3):
        present = sc.u(0, 1) < 0.35
        tk, right = sc.u(0.15, 0.9), sc.u(0, 1) < 0.5
        xc, yg, up = sc.walk_x(tk, sc.u(0.65, 0.95), right), sc.ground_row(tk), sc.unit * tk
        yc, r = yg - sc.u(2.2, 3.2) * up, sc.u(0.8, 1.3) * up
        crown = present & (((sc.xp - xc) ** 2 + (sc.yp - yc) ** 2) / r**2 + lumpy < 1)
        trunk = present & ((sc.xp - xc).abs() < (0.08 * up).clamp(min=0.5)) & (sc.yp < yg) & (sc.yp > yc)
        depth = sc.depth(tk)
        sc.paint(trunk, Material.BARK, VEGETATION, depth)
        sc.paint(crown, Material.FOLIAGE, VEGETATION, depth)
    sc.table[:, Material.BARK] = torch.tensor([0.30, 0.22, 0.15]) * uniform(g, (b, 1), 0.7, 1.3)
    sc.table[:, Material.FOLIAGE] = torch.tensor([0.20, 0.38, 0.12]) + uniform(g, (b, 3), -0.08, 0.1)


def draw_poles(sc: StreetScene) -> None:
    """Up to two poles on the sidewalks, some carrying a square sign."""
    xp, yp = sc.xp, sc.yp
    for j in range(2):
        present = sc.u(0, 1) < 0.4
        tk, right = sc.u(0.15, 0.95), sc.u(0, 1) < 0.5
        xc, yg, up = sc.walk_x(tk, sc.u(0.7, 0.95), right), sc.ground_row(tk), sc.unit * tk
        top = yg - sc.u(2.5, 4.0) * up
        depth = sc.depth(tk)
        sc.paint(present & ((xp - xc).abs() < (0.05 * up).clamp(min=0.5)) & (yp < yg) & (yp > top), Material.METAL, POLE, depth)
        half_sign = sc.u(0.18, 0.28) * up
        sign = present & (sc.u(0, 1) < 0.6) & ((xp - xc).abs() < half_sign) & ((yp - top - half_sign).abs() < half_sign)
        sc.paint(sign, Material.SIGN + j, POLE, depth)
        sc.table[:, Material.SIGN + j] = pick_colours(sc.g, _SIGN_COLOURS, _SIGN_PROBS, sc.b)
    sc.table[:, Material.METAL] = uniform(sc.g, (sc.b, 1), 0.35, 0.65) + uniform(sc.g, (sc.b, 3), -0.02, 0.02)


def _pedestrian(sc: StreetScene, j: int) -> None:
    """Pedestrian ``j`` (head, torso, striding legs) on a sidewalk, or sometimes crossing the road."""
    present = sc.u(0, 1) < 0.4
    tk, right = 0.12 + 0.8 * sc.u(0, 1) ** 1.3, sc.u(0, 1) < 0.5
    road_x = (sc.xv + (sc.xl_b - sc.xv) * tk + sc.u(0.1, 0.9) * (sc.xr_b - sc.xl_b) * tk) * sc.w
    xc = torch.where(sc.u(0, 1) < 0.15, road_x, sc.walk_x(tk, sc.u(0.1, 0.8), right))
    yg, size_ = sc.ground_row(tk), 1.15 * sc.unit * tk
    rx, ry = (sc.xp - xc) / size_, (yg - sc.yp) / size_  # body coordinates: feet at ry = 0, top of head at 1
    stride = sc.u(-0.06, 0.06) * (0.47 - ry)
    head = rx**2 + (ry - 0.9) ** 2 < 0.01
    torso = (rx.abs() < 0.14) & (ry > 0.45) & (ry < 0.8)
    legs = (ry >= 0) & (ry <= 0.47) & (((rx - 0.05 - stride).abs() < 0.045) | ((rx + 0.05 + stride).abs() < 0.045))
    first = Material.PERSON + 3 * j
    part = torch.where(head, first, torch.where(torso, first + 1, first + 2))
    sc.paint(present & (head | torso | legs), part, PEDESTRIAN, sc.depth(tk))
    sc.table[:, first] = pick_colours(sc.g, _SKIN, _SKIN_PROBS, sc.b)
    sc.table[:, first + 1] = pick_colours(sc.g, CLOTHES, CLOTHES_PROBS, sc.b)
    sc.table[:, first + 2] = pick_colours(sc.g, CLOTHES, CLOTHES_PROBS, sc.b)


def draw_pedestrians(sc: StreetScene) -> None:
    """Up to three pedestrians on the sidewalks, sometimes crossing the road."""
    for j in range(3):
        _pedestrian(sc, j)


def _car_position(sc: StreetScene, prob: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Whether a car is there, its nearness and its centre column (some are parked at the road edge)."""
    present = sc.u(0, 1) < prob
    tk = 0.1 + 0.85 * sc.u(0, 1) ** 1.3
    parked = sc.u(0, 1) < 0.25
    lane = torch.where(parked, torch.where(sc.u(0, 1) < 0.5, sc.u(0.06, 0.14), sc.u(0.86, 0.94)), sc.u(0.2, 0.8))
    xc = (sc.xv + (sc.xl_b - sc.xv) * tk + lane * (sc.xr_b - sc.xl_b) * tk) * sc.w
    return present, tk, xc


def _car(sc: StreetScene, j: int, prob: float) -> None:
    """Car ``j`` seen from behind (body, cabin, window, wheels, lights, plate) with a shadow underneath."""
    present, tk, xc = _car_position(sc, prob)
    yg, up = sc.ground_row(tk), sc.unit * tk
    rx, ry = (sc.xp - xc) / up, (yg - sc.yp) / up
    ax = rx.abs()
    wheels = (ry >= 0) & (ry < 0.25) & (ax > 0.36) & (ax < 0.56)
    body = (ry >= 0.12) & (ry < 0.62) & (ax < 0.6 - 0.08 * ((ry - 0.5) / 0.12).clamp(min=0))
    cabin_w = 0.5 - 0.14 * (ry - 0.62) / 0.38
    cabin = (ry >= 0.62) & (ry < 1.0) & (ax < cabin_w)
    window = (ry >= 0.66) & (ry < 0.95) & (ax < cabin_w - 0.07)
    lights = (ry >= 0.45) & (ry < 0.55) & (ax > 0.44) & (ax < 0.58)
    plate = (ry >= 0.24) & (ry < 0.34) & (ax < 0.12)
    under = present & (sc.lab == ROAD) & (ry > -0.06) & (ry < 0.05) & (ax < 0.7) & (tk >= sc.near)
    sc.shade = torch.where(under, sc.shade * 0.45, sc.shade)
    part = torch.where(wheels, Material.TYRE, torch.where(window, Material.GLASS, Material.CAR + j))
    part = torch.where(lights, Material.LIGHT, torch.where(plate, Material.PLATE, part))
    painted = sc.paint(present & (wheels | body | cabin), part, CAR, sc.depth(tk))
    sc.shade = torch.where(painted & (ry > 0.12) & (ry < 0.2), sc.shade * 0.88, sc.shade)  # bumper
    sc.table[:, Material.CAR + j] = pick_colours(sc.g, CAR_COLOURS, CAR_PROBS, sc.b)


def draw_cars(sc: StreetScene) -> None:
    """Up to four cars on the road, the nearer ones hiding the farther ones."""
    for j, prob in enumerate(_CAR_ODDS):
        _car(sc, j, prob)
    sc.table[:, Material.LIGHT] = torch.tensor([0.75, 0.08, 0.08])
    sc.table[:, Material.PLATE] = torch.tensor([0.92, 0.92, 0.85])
    sc.table[:, Material.TYRE] = torch.tensor([0.06, 0.06, 0.07])
