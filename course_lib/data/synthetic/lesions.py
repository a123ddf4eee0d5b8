"""synthetic-lesions: grey scan-like slices of a body with an organ and low-contrast lesions in it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .drawing import Harmonics, blur, pixel_grid, smooth_noise, uniform, wobbly_ellipse

__all__ = ["LESION_CLASSES", "render_lesions"]

LESION_CLASSES = ("background", "lesion")


@dataclass
class _Slice:
    """A batch of B slices being drawn: generator, sizes, pixel grids and the image so far (B×H×W)."""

    g: torch.Generator
    b: int
    h: int
    w: int
    yp: torch.Tensor
    xp: torch.Tensor
    img: torch.Tensor | None = None

    @property
    def s(self) -> int:
        """The shorter side, in pixels."""
        return min(self.h, self.w)

    def u(self, lo: float, hi: float) -> torch.Tensor:
        """One uniform number per image (B×1×1)."""
        return uniform(self.g, (self.b, 1, 1), lo, hi)

    def harmonics(self, n: int, amp: float) -> Harmonics:
        """Random amplitudes (up to ``amp``) and phases of ``n`` outline harmonics."""
        return [(self.u(0, amp), self.u(0, 2 * math.pi)) for _ in range(n)]

    def noise(self, cell: float) -> torch.Tensor:
        """A smooth B×H×W random field of about unit variance."""
        return smooth_noise(self.g, self.b, self.h, self.w, cell).squeeze(1)


@dataclass
class _Organ:
    """The organ: centre, semi-axes and angle of its ellipse, its mask, and its mean tissue brightness."""

    cx: torch.Tensor
    cy: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    theta: torch.Tensor
    mask: torch.Tensor
    tissue: torch.Tensor

    def point(self, sl: _Slice, reach: float) -> tuple[torch.Tensor, torch.Tensor]:
        """A random point inside the organ's ellipse, at most ``reach`` of the way to its outline."""
        ang, rad = sl.u(0, 2 * math.pi), sl.u(0, reach).sqrt()
        lx, ly = rad * self.a * torch.cos(ang), rad * self.b * torch.sin(ang)  # in the organ's own frame
        cos, sin = torch.cos(self.theta), torch.sin(self.theta)
        return self.cx + lx * cos - ly * sin, self.cy + lx * sin + ly * cos


def _body(sl: _Slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Body outline with a bright fat rim, a bright "spine" and darker soft tissue; returns mask, centre, soft level."""
    u, xp, yp, h, w = sl.u, sl.xp, sl.yp, sl.h, sl.w
    bcx, bcy = w * u(0.46, 0.54), h * u(0.46, 0.54)
    f_body = wobbly_ellipse(xp, yp, bcx, bcy, w * u(0.40, 0.48), h * u(0.34, 0.45), u(-0.2, 0.2), sl.harmonics(3, 0.04))
    body = f_body < 1
    soft = u(0.22, 0.42)
    img = torch.where(body, soft, u(0.0, 0.06).expand(sl.b, h, w))
    img = torch.where(body & (f_body > u(0.88, 0.94)), u(0.55, 0.8), img)
    spine = (xp - bcx) ** 2 + (yp - (bcy + h * u(0.22, 0.3))) ** 2 < (sl.s * u(0.05, 0.08)) ** 2
    sl.img = torch.where(spine & body, u(0.7, 0.95), img)
    return body, bcx, bcy, soft


def _organ(sl: _Slice, body: torch.Tensor, bcx: torch.Tensor, bcy: torch.Tensor, soft: torch.Tensor) -> _Organ:
    """The organ: an irregular blob, brighter than soft tissue on average, with smooth texture."""
    u, s = sl.u, sl.s
    ocx, ocy = bcx + sl.w * u(-0.1, 0.1), bcy + sl.h * u(-0.12, 0.05)
    oa, ob, otheta = s * u(0.22, 0.34), s * u(0.18, 0.3), u(0, math.pi)
    f_organ = wobbly_ellipse(sl.xp, sl.yp, ocx, ocy, oa, ob, otheta, sl.harmonics(3, 0.1))
    organ = (f_organ < 1) & body
    tissue = soft + u(0.03, 0.25)
    texture = 1 + 0.06 * sl.noise(6) + 0.04 * sl.noise(2)
    sl.img = torch.where(organ, tissue * texture, sl.img)
    return _Organ(ocx, ocy, oa, ob, otheta, organ, tissue)


def _vessels(sl: _Slice, organ: _Organ) -> None:
    """Distractors: up to four small round vessels inside the organ, bright or dark."""
    u = sl.u
    for _ in range(4):
        vx, vy = organ.point(sl, 0.8)
        r = u(1.0, 2.5) * sl.s / 64
        vessel = organ.mask & ((sl.xp - vx) ** 2 + (sl.yp - vy) ** 2 < r * r) & (u(0, 1) < 0.7)
        sl.img = torch.where(vessel, organ.tissue * torch.where(u(0, 1) < 0.6, u(1.25, 1.6), u(0.55, 0.8)), sl.img)


def _lesion(sl: _Slice, organ: _Organ, present: torch.Tensor) -> torch.Tensor:
    """One hypo- or hyper-intense lesion (25-45% of the local tissue) where ``present``; returns its mask."""
    u = sl.u
    lx, ly = organ.point(sl, 0.6)
    la = u(3.0, 9.0) * sl.s / 64
    f_les = wobbly_ellipse(sl.xp, sl.yp, lx, ly, la, la * u(0.6, 1.0), u(0, math.pi), sl.harmonics(3, 0.15))
    there = present & organ.mask
    sign = torch.where(u(0, 1) < 0.65, -1.0, 1.0)
    weight = torch.sigmoid((1 - f_les) / 0.08) * there
    mottle = 1 + 0.1 * sl.noise(1.5)
    rim = ((f_les > 0.85) & (f_les < 1.1) & (u(0, 1) < 0.4)).float() * 0.06 * there
    sl.img = sl.img * (1 + sign * u(0.25, 0.45) * weight * mottle - sign * rim)
    return there & (f_les < 1)


def _lesions(sl: _Slice, organ: _Organ, empty_fraction: float) -> torch.Tensor:
    """Lesions in all but ``empty_fraction`` of the images (a second one in 30% of those); B×H×W bool mask."""
    lab = torch.zeros(sl.b, sl.h, sl.w, dtype=torch.bool)
    has = sl.u(0, 1) >= empty_fraction
    for j in range(2):
        present = has & ((sl.u(0, 1) < 0.3) if j else torch.ones(sl.b, 1, 1, dtype=torch.bool))
        lab |= _lesion(sl, organ, present)
    return lab


def _scanner(sl: _Slice) -> torch.Tensor:
    """Smooth bias field, gain, blur and Rician noise; returns uint8 B×1×H×W."""
    u, b = sl.u, sl.b
    ys, xs = sl.yp / sl.h, sl.xp / sl.w
    angle = u(0, 2 * math.pi)
    bias = 1 + u(0.1, 0.35) * ((xs - 0.5) * torch.cos(angle) + (ys - 0.5) * torch.sin(angle)) * 2
    bias = bias + 0.08 * sl.noise(24)
    img = (sl.img * bias * u(0.75, 1.25) + u(-0.04, 0.04)).unsqueeze(1)
    img = blur(img, uniform(sl.g, (b,), 0.4, 0.9) * sl.s / 64)
    sigma = uniform(sl.g, (b, 1, 1, 1), 0.015, 0.045)
    real = img + sigma * torch.randn(img.shape, generator=sl.g)
    imag = sigma * torch.randn(img.shape, generator=sl.g)
    img = torch.sqrt(real**2 + imag**2)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


def render_lesions(
    g: torch.Generator, b: int, h: int, w: int, empty_fraction: float = 0.2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``b`` grey scan-like slices with an organ and low-contrast lesions (uint8 B×1×H×W, uint8 B×H×W labels)."""
    yp, xp = pixel_grid(h, w)
    sl = _Slice(g, b, h, w, yp, xp)
    organ = _organ(sl, *_body(sl))
    _vessels(sl, organ)
    lab = _lesions(sl, organ, empty_fraction)
    return _scanner(sl), lab.to(torch.uint8)
