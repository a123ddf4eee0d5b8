"""The canvas of a synthetic street scene: camera layout, class/material/depth maps and painting into them.

A scene is painted into three B×H×W maps — class label, material (an index into a per-image colour
table) and nearness (a z-buffer) — and the colours are looked up once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .drawing import pixel_grid, uniform

__all__ = [
    "STREET_CLASSES", "ROAD", "SIDEWALK", "LANE", "BUILDING", "VEGETATION", "SKY", "CAR", "PEDESTRIAN", "POLE",
    "Material", "StreetScene", "new_scene",
]

STREET_CLASSES = ("road", "sidewalk", "lane marking", "building", "vegetation", "sky", "car", "pedestrian", "pole/sign")
ROAD, SIDEWALK, LANE, BUILDING, VEGETATION, SKY, CAR, PEDESTRIAN, POLE = range(9)


class Material:
    """Slots of the per-image colour table (one colour per image and slot); ranges hold several variants."""

    SKY, FACADE, GLASS, GREEN, ROAD, WALK, PAINT, BARK, FOLIAGE = 0, 1, 17, 18, 20, 21, 22, 23, 24
    METAL, SIGN, PERSON, CAR, LIGHT, PLATE, TYRE, COUNT = 25, 26, 28, 37, 41, 42, 43, 44
    LEAFY = (GREEN, GREEN + 1, FOLIAGE)


@dataclass
class StreetScene:
    """Pixel grids, camera layout (B×1×1 each) and the maps a street scene is painted into."""

    g: torch.Generator
    b: int
    h: int
    w: int
    yp: torch.Tensor  # pixel rows 1×H×1 and columns 1×1×W, and the same as fractions of the image
    xp: torch.Tensor
    ys: torch.Tensor
    xs: torch.Tensor
    yh: torch.Tensor  # horizon row and vanishing point, as image fractions
    xv: torch.Tensor
    xl_b: torch.Tensor  # left and right road edges at the bottom row
    xr_b: torch.Tensor
    wl: torch.Tensor  # sidewalk widths at the bottom row
    wr: torch.Tensor
    unit: torch.Tensor  # pixels per "1.5 m" at the bottom row (the road is 5 units wide)
    table: torch.Tensor  # colour of each material in each image, B×Material.COUNT×3
    lab: torch.Tensor
    mat: torch.Tensor
    near: torch.Tensor  # z-buffer: 0 = far away (sky) ... 1 = bottom image row
    shade: torch.Tensor  # per-pixel light: shadows, tiles, bumpers

    def u(self, lo: float, hi: float) -> torch.Tensor:
        """One uniform number per image (B×1×1)."""
        return uniform(self.g, (self.b, 1, 1), lo, hi)

    def paint(self, mask: torch.Tensor, material: int | torch.Tensor, cls: int | torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """Paint ``mask`` where it is nearer than what is there; returns the pixels painted."""
        mask = mask & (depth >= self.near)
        self.lab = torch.where(mask, torch.as_tensor(cls, dtype=torch.uint8), self.lab)
        self.mat = torch.where(mask, torch.as_tensor(material, dtype=torch.uint8), self.mat)
        self.near = torch.where(mask, depth, self.near)
        return mask

    def ground_row(self, tk: torch.Tensor) -> torch.Tensor:
        """Pixel row where something at nearness ``tk`` stands."""
        return (self.yh + tk * (1 - self.yh)) * self.h

    def walk_x(self, tk: torch.Tensor, s: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """Pixel column at lateral fraction s across the left or right sidewalk, at nearness tk."""
        left_x = self.xv + (self.xl_b - self.xv) * tk - s * self.wl * tk
        right_x = self.xv + (self.xr_b - self.xv) * tk + s * self.wr * tk
        return torch.where(right, right_x, left_x) * self.w

    def depth(self, t: torch.Tensor) -> torch.Tensor:
        """A nearness per image (or per row) expanded to B×H×W."""
        return t.expand(self.b, self.h, self.w)


def new_scene(g: torch.Generator, b: int, h: int, w: int) -> StreetScene:
    """An empty (all sky) scene with a random camera: horizon, vanishing point, road and sidewalk edges."""
    yp, xp = pixel_grid(h, w)

    def u(lo: float, hi: float) -> torch.Tensor:
        return uniform(g, (b, 1, 1), lo, hi)

    yh, xv = u(0.30, 0.48), u(0.30, 0.70)
    xl_b, xr_b = u(-0.35, 0.15), u(0.85, 1.35)
    wl, wr = u(0.12, 0.45), u(0.12, 0.45)
    return StreetScene(
        g=g, b=b, h=h, w=w, yp=yp, xp=xp, ys=yp / h, xs=xp / w,
        yh=yh, xv=xv, xl_b=xl_b, xr_b=xr_b, wl=wl, wr=wr, unit=0.2 * (xr_b - xl_b) * w,
        table=torch.zeros(b, Material.COUNT, 3),
        lab=torch.full((b, h, w), SKY, dtype=torch.uint8),
        mat=torch.full((b, h, w), Material.SKY, dtype=torch.uint8),
        near=torch.zeros(b, h, w),
        shade=torch.ones(b, h, w),
    )
