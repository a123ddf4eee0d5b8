"""synthetic-streets: street scenes seen from a car, with the nine classes of :data:`STREET_CLASSES`.

The street (facades, ground, lane markings, shadows) is drawn here, the things standing in it in
:mod:`.street_objects`; both paint into a :class:`~.street_scene.StreetScene`, coloured at the end.
"""

from __future__ import annotations

import torch

from .drawing import finish, pick_colours, smooth_noise, uniform
from .street_objects import draw_cars, draw_pedestrians, draw_poles, draw_trees
from .street_scene import BUILDING, LANE, ROAD, SIDEWALK, SKY, STREET_CLASSES, VEGETATION, Material, StreetScene, new_scene

__all__ = ["STREET_CLASSES", "FACADE_COLOURS", "FACADE_PROBS", "render_streets"]

FACADE_COLOURS = [
    (0.55, 0.55, 0.55), (0.42, 0.42, 0.44), (0.68, 0.66, 0.62), (0.78, 0.70, 0.56),
    (0.58, 0.33, 0.26), (0.85, 0.84, 0.80), (0.32, 0.31, 0.30), (0.62, 0.52, 0.42),
]
FACADE_PROBS = [0.2, 0.15, 0.15, 0.12, 0.12, 0.1, 0.08, 0.08]
_WALK_COLOURS = [(0.60, 0.60, 0.58), (0.50, 0.50, 0.50), (0.72, 0.66, 0.56), (0.58, 0.40, 0.36), (0.38, 0.38, 0.38)]
_WALK_PROBS = [0.3, 0.25, 0.2, 0.1, 0.15]
_SEGMENTS = 7  # facade segments along each side of the street (k + 1 with the nearest one)


class _Facade:
    """One side's facade columns: nearness ``tc`` and depth ``zc`` per column (B×1×W), segment index per column."""

    def __init__(self, sc: StreetScene, side: int) -> None:
        b, k, g = sc.b, _SEGMENTS, sc.g
        d = (sc.xv - sc.xs) if side == 0 else (sc.xs - sc.xv)
        span = (sc.xv - (sc.xl_b - sc.wl)) if side == 0 else ((sc.xr_b + sc.wr) - sc.xv)
        self.tc = d / span  # nearness of the facade column: 1 at the bottom image corner, 0 at the vanishing point
        self.zc = 1.0 / self.tc.clamp(min=1e-3)
        lengths = uniform(g, (b, k), 0.4, 3.0)
        bps = 1.0 + torch.cumsum(lengths, 1) - uniform(g, (b, 1), 0, 1) * lengths[:, :1]
        self.seg = (self.zc.view(b, sc.w, 1) > bps.view(b, 1, k)).sum(-1)  # B×W segment index 0..k
        self.sc = sc

    def per_seg(self, values: torch.Tensor) -> torch.Tensor:
        """Spread one value per segment (B×(k+1)) over the columns (B×1×W)."""
        return torch.gather(values, 1, self.seg).view(self.sc.b, 1, self.sc.w)

    def draw(self, lo: float, hi: float) -> torch.Tensor:
        """A uniform value per segment, spread over the columns."""
        return self.per_seg(uniform(self.sc.g, (self.sc.b, _SEGMENTS + 1), lo, hi))


def _windows(f: _Facade, v: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """Rows and columns of windows on the building segments of a facade."""
    height = 1 + v / f.tc.clamp(min=1e-3)  # height above the ground, in camera heights
    period, storey, duty = f.draw(0.25, 0.6), f.draw(1.3, 2.2), f.draw(0.35, 0.65)
    floor = torch.frac(height / storey)
    return (
        (torch.frac(f.zc / period + f.draw(0, 1)) < duty)
        & (floor > 0.35) & (floor < 0.8) & (height > 0.8) & (height < 1 + rho - 0.4)
    )


def _facade_colours(sc: StreetScene, side: int, first: int) -> None:
    """Colours of one side's eight facade materials and its vegetation, under one light level."""
    b, g = sc.b, sc.g
    light = uniform(g, (b, 1, 1), 0.65, 1.1)
    sc.table[:, first : first + 8] = pick_colours(g, FACADE_COLOURS, FACADE_PROBS, b * 8).view(b, 8, 3) * uniform(g, (b, 8, 1), 0.85, 1.15) * light
    sc.table[:, Material.GREEN + side] = (torch.tensor([0.22, 0.36, 0.14]) + uniform(g, (b, 3), -0.08, 0.08)) * light.view(b, 1)


def _draw_facade_side(sc: StreetScene, side: int, v: torch.Tensor) -> None:
    """One side of the street: segments of buildings with windows, or of vegetation."""
    f = _Facade(sc, side)
    b, w = sc.b, sc.w
    is_veg = f.per_seg((torch.rand(b, _SEGMENTS + 1, generator=sc.g) < 0.28).float()) > 0.5
    rho = torch.where(is_veg, f.draw(0.6, 2.2), f.draw(1.5, 7.0))
    bumps = 1 + 0.3 * smooth_noise(sc.g, b, 1, w, w / 14).view(b, 1, w) * is_veg
    facade = (f.tc > 0) & (v > -f.tc) & (v < rho * bumps * f.tc)
    windows = _windows(f, v, rho)
    first = Material.FACADE + 8 * side
    _facade_colours(sc, side, first)
    material = torch.where(is_veg, Material.GREEN + side, torch.where(windows, Material.GLASS, first + f.seg.view(b, 1, w)))
    sc.paint(facade, material, torch.where(is_veg, VEGETATION, BUILDING), sc.depth(f.tc))


def _draw_facades(sc: StreetScene) -> None:
    """Facades on both sides of the street, and the colour of their glass."""
    v = (sc.yh - sc.ys) / (1 - sc.yh)  # > 0 above the horizon, in camera heights at unit nearness
    for side in (0, 1):
        _draw_facade_side(sc, side, v)
    sc.table[:, Material.GLASS] = torch.tensor([0.18, 0.22, 0.30]) + uniform(sc.g, (sc.b, 3), -0.08, 0.15)


class _Ground:
    """Ground geometry per row: nearness ``tp``, distance ``z``, road edges ``xl``/``xr``; masks ``ground``, ``road``."""

    def __init__(self, sc: StreetScene) -> None:
        t = (sc.ys - sc.yh) / (1 - sc.yh)
        self.tp = t.clamp(min=1e-3)
        self.z = 1.0 / self.tp
        self.ground = (t > 0) & (sc.lab == SKY)  # below the horizon and not a facade
        self.xl = sc.xv + (sc.xl_b - sc.xv) * self.tp
        self.xr = sc.xv + (sc.xr_b - sc.xv) * self.tp
        self.road = self.ground & (sc.xs > self.xl) & (sc.xs < self.xr)
        self.depth = sc.depth(self.tp)


def _draw_ground(sc: StreetScene, gr: _Ground) -> None:
    """Road between the edge lines, tiled sidewalks outside them."""
    b, g = sc.b, sc.g
    sc.paint(gr.road, Material.ROAD, ROAD, gr.depth)
    sc.paint(gr.ground & ~gr.road, Material.WALK, SIDEWALK, gr.depth)
    sc.table[:, Material.ROAD] = uniform(g, (b, 1), 0.22, 0.52) + uniform(g, (b, 3), -0.025, 0.025)
    sc.table[:, Material.WALK] = pick_colours(g, _WALK_COLOURS, _WALK_PROBS, b)
    tiles = torch.frac(gr.z * sc.u(1.0, 3.0)) < 0.12
    sc.shade = torch.where((sc.lab == SIDEWALK) & tiles, 0.85, sc.shade)
    sc.shade = torch.where(sc.lab == ROAD, 1 + 0.1 * smooth_noise(g, b, sc.h, sc.w, 6).squeeze(1), sc.shade)


def _draw_lanes(sc: StreetScene, gr: _Ground) -> None:
    """A dashed centre line (dashes shrink with distance) and sometimes solid edge lines, white or yellow."""
    u, xs, tp = sc.u, sc.xs, gr.tp
    half = u(0.006, 0.013) * tp
    xm = sc.xv + (sc.xl_b + (sc.xr_b - sc.xl_b) * u(0.4, 0.6) - sc.xv) * tp
    dashes = (torch.frac(gr.z * u(0.5, 1.2) + u(0, 1)) < u(0.35, 0.6)) | (u(0, 1) < 0.2)
    lines = ((xs - xm).abs() < half) & dashes & (u(0, 1) < 0.8)
    edge_off = 0.04 * (sc.xr_b - sc.xl_b) * tp
    edges = (((xs - gr.xl - edge_off).abs() < half) | ((xs - gr.xr + edge_off).abs() < half)) & (u(0, 1) < 0.4)
    sc.paint(gr.road & (lines | edges), Material.PAINT, LANE, gr.depth)
    yellow = torch.rand(sc.b, 1, generator=sc.g) < 0.3
    fresh = torch.where(yellow, torch.tensor([0.85, 0.75, 0.30]), torch.tensor([0.90, 0.90, 0.88]))
    wear = uniform(sc.g, (sc.b, 1), 0.55, 1.0)
    sc.table[:, Material.PAINT] = sc.table[:, Material.ROAD] * (1 - wear) + fresh * wear


def _cast_shadow(sc: StreetScene, gr: _Ground) -> torch.Tensor:
    """In sunny scenes one side of the street casts a shadow across the ground; returns which scenes are overcast."""
    overcast = torch.rand(sc.b, 1, 1, generator=sc.g) < 0.35
    sunny = (torch.rand(sc.b, 1, 1, generator=sc.g) < 0.5) & ~overcast
    x_sh = sc.xv + (sc.u(-0.3, 0.6) - sc.xv) * gr.tp
    shadow = sunny & gr.ground & torch.where(sc.u(0, 1) < 0.5, sc.xs < x_sh, sc.xs > 1 - x_sh)
    sc.shade = torch.where(shadow, sc.shade * sc.u(0.5, 0.72), sc.shade)
    return overcast


def _textured(sc: StreetScene) -> tuple[torch.Tensor, torch.Tensor]:
    """Material colours with grain, leaf texture and glass reflections (B×3×H×W), and the cloud field."""
    b, h, w, g, mat = sc.b, sc.h, sc.w, sc.g, sc.mat
    flat_mat = mat.long().view(b, 1, h * w).expand(b, 3, h * w)
    img = torch.gather(sc.table.transpose(1, 2), 2, flat_mat).view(b, 3, h, w)
    grain = 0.06 * torch.randn(b, 1, h, w, generator=g)
    leaves = 0.55 + 0.45 * smooth_noise(g, b, h, w, 1.6).clamp(-1.2, 1.5)
    leafy = (mat == Material.LEAFY[0]) | (mat == Material.LEAFY[1]) | (mat == Material.LEAFY[2])
    texture = torch.where(leafy.unsqueeze(1), leaves, 1 + grain)
    clouds = ((smooth_noise(g, b, h, w, h / 4) - 0.3) * sc.u(0.0, 0.6).unsqueeze(1)).clamp(0, 1)
    texture = torch.where((mat == Material.GLASS).unsqueeze(1), 0.8 + 0.5 * clouds, texture)
    return img * texture * sc.shade.unsqueeze(1), clouds


def _sky(sc: StreetScene, img: torch.Tensor, clouds: torch.Tensor, overcast: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Paint a blue (or grey, when overcast) sky with clouds; returns the image and the horizon colour (B×3×1×1)."""
    b, g = sc.b, sc.g
    top = torch.tensor([0.30, 0.48, 0.82]) + uniform(g, (b, 3), -0.08, 0.08)
    hor = torch.tensor([0.76, 0.82, 0.90]) + uniform(g, (b, 3), -0.06, 0.06)
    grey = uniform(g, (b, 1), 0.50, 0.85) + uniform(g, (b, 3), -0.03, 0.03)
    top = torch.where(overcast.view(b, 1), grey * 0.9, top).view(b, 3, 1, 1)
    hor = torch.where(overcast.view(b, 1), grey, hor).view(b, 3, 1, 1)
    frac = (sc.ys / sc.yh).clamp(0, 1).unsqueeze(1)
    sky = (top * (1 - frac) + hor * frac) * (1 - clouds) + 0.92 * clouds
    return torch.where((sc.mat == Material.SKY).unsqueeze(1), sky, img), hor


def _camera(sc: StreetScene, img: torch.Tensor, hor: torch.Tensor) -> torch.Tensor:
    """Haze with distance, exposure, colour cast, gamma, vignette, then blur and sensor noise (uint8)."""
    u = sc.u
    haze = (u(0.0, 0.45) * (1 - sc.near) ** 6).unsqueeze(1)
    img = img * (1 - haze) + hor * haze
    img = img * u(0.55, 1.35).unsqueeze(1) * uniform(sc.g, (sc.b, 3, 1, 1), 0.88, 1.12)
    img = img.clamp(0, 1) ** u(0.8, 1.25).unsqueeze(1)
    img = img * (1 - u(0.0, 0.5).unsqueeze(1) * ((sc.xs - 0.5) ** 2 + (sc.ys - 0.5) ** 2))
    return finish(sc.g, img, noise=(0.005, 0.035), blur_sigma=(0.3, 0.8))


def render_streets(g: torch.Generator, b: int, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``b`` street scenes (uint8 B×3×H×W, uint8 B×H×W labels in :data:`STREET_CLASSES` order)."""
    sc = new_scene(g, b, h, w)
    _draw_facades(sc)
    gr = _Ground(sc)
    _draw_ground(sc, gr)
    _draw_lanes(sc, gr)
    overcast = _cast_shadow(sc, gr)
    draw_trees(sc)
    draw_poles(sc)
    draw_pedestrians(sc)
    draw_cars(sc)
    img, clouds = _textured(sc)
    img, hor = _sky(sc, img, clouds, overcast)
    return _camera(sc, img, hor), sc.lab
