"""synthetic-nuclei: fluorescence-like images of touching nuclei, with one instance id per nucleus."""

from __future__ import annotations

import math

import torch

from .drawing import Harmonics, blur, finish, smooth_noise, uniform, wobbly_ellipse

__all__ = ["NUCLEI_CLASSES", "MAX_NUCLEI", "render_nuclei"]

NUCLEI_CLASSES = ("background", "nucleus")
MAX_NUCLEI = 18  # at most 18 nuclei per image
_NONE = 2**20 * 32 + 31  # the packed (f, k) key of "no nucleus here"


def _centres(g: torch.Generator, b: int, h: int, w: int, scale: float) -> torch.Tensor:
    """B×K×2 nucleus centres (x, y): most crowd around 1-3 cluster centres, so many touch or overlap."""
    k = MAX_NUCLEI
    n_clusters = torch.randint(1, 4, (b, 1), generator=g)
    centres = torch.stack([uniform(g, (b, 3), 0.15, 0.85) * w, uniform(g, (b, 3), 0.15, 0.85) * h], -1)  # B×3×2
    which = (torch.rand(b, k, generator=g) * n_clusters).long()
    spread = uniform(g, (b, 1, 1), 5, 14) * scale
    clustered = torch.gather(centres, 1, which.unsqueeze(-1).expand(b, k, 2)) + spread * torch.randn(b, k, 2, generator=g)
    scattered = torch.stack([uniform(g, (b, k), 0, 1) * w, uniform(g, (b, k), 0, 1) * h], -1)
    return torch.where(torch.rand(b, k, 1, generator=g) < 0.7, clustered, scattered)


def _accepted(pos: torch.Tensor, radius: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """B×K mask of the nuclei kept: among the first ``count``, none almost on top of an earlier one (touching is fine)."""
    k = pos.shape[1]
    valid = torch.arange(k).view(1, k) < count
    for i in range(1, k):
        dist = (pos[:, :i] - pos[:, i : i + 1]).norm(dim=-1)
        too_close = (dist < 0.65 * (radius[:, :i] + radius[:, i : i + 1])) & valid[:, :i]
        valid[:, i] &= ~too_close.any(1)
    return valid


def _windows(pos: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel columns (B×K×1×P) and rows (B×K×P×1) of a small window around each centre (cheaper than the full image)."""
    b, k = pos.shape[:2]
    reach = int(math.ceil(8.0 * scale * 1.25)) + 1  # largest radius times the largest outline wobble
    p = 2 * reach
    x0 = pos[..., 0].floor().long() - reach  # B×K window corners
    y0 = pos[..., 1].floor().long() - reach
    offs = torch.arange(p)
    return (x0.unsqueeze(-1) + offs).view(b, k, 1, p), (y0.unsqueeze(-1) + offs).view(b, k, p, 1)


def _outlines(g: torch.Generator, pos: torch.Tensor, a: torch.Tensor, bb: torch.Tensor, ix: torch.Tensor, iy: torch.Tensor) -> torch.Tensor:
    """B×K×P×P normalised radius of each nucleus's wobbly outline over its window."""
    b, k = pos.shape[:2]

    def per_k(x: torch.Tensor) -> torch.Tensor:
        return x.view(b, k, 1, 1)

    harm: Harmonics = [(per_k(uniform(g, (b, k), 0, 0.12)), per_k(uniform(g, (b, k), 0, 6.3))) for _ in range(2)]
    return wobbly_ellipse(
        ix + 0.5, iy + 0.5, per_k(pos[..., 0]), per_k(pos[..., 1]), per_k(a), per_k(bb), per_k(uniform(g, (b, k), 0, math.pi)), harm
    )


def _owners(f: torch.Tensor, valid: torch.Tensor, ix: torch.Tensor, iy: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per pixel: whether inside a nucleus, which one (0..K-1) and how deep inside (f), each B×H×W.

    Each pixel belongs to the nucleus it is most inside of: (f, k) is packed into one integer and the
    minimum per pixel taken with scatter_reduce; pixels outside the image go to a spare slot.
    """
    b, k = f.shape[:2]
    usable = (f < 1) & valid.view(b, k, 1, 1) & (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    key = (f.clamp(max=1) * 2**20).long() * 32 + torch.arange(k).view(1, k, 1, 1)
    key = torch.where(usable, key, _NONE)
    where_ = torch.where(usable, iy.clamp(0, h - 1) * w + ix.clamp(0, w - 1), h * w)
    best = torch.full((b, h * w + 1), _NONE, dtype=torch.long)
    best.scatter_reduce_(1, where_.view(b, -1), key.view(b, -1), reduce="amin")
    best = best[:, : h * w].view(b, h, w)
    inside = best < _NONE
    owner = torch.where(inside, best % 32, 0)
    fmin = torch.where(inside, (best // 32).float() / 2**20, torch.ones(1))
    return inside, owner, fmin


def _instance_ids(inside: torch.Tensor, owner: torch.Tensor, k: int) -> torch.Tensor:
    """B×H×W ids 1..N per image, after dropping slivers (< 4 px, e.g. cut by the image border)."""
    b, h, w = inside.shape
    ids = torch.where(inside, owner + 1, 0).view(b, -1)
    area = torch.zeros(b, k + 1).scatter_add_(1, ids, torch.ones_like(ids, dtype=torch.float32))
    keep = area >= 4
    keep[:, 0] = False
    lut = torch.cumsum(keep.long(), 1) * keep.long()
    return torch.gather(lut, 1, ids).view(b, h, w)


def _nucleus_intensity(g: torch.Generator, ids: torch.Tensor, owner: torch.Tensor, fmin: torch.Tensor, scale: float) -> torch.Tensor:
    """Per-nucleus brightness times a soft edge profile and chromatin texture (0 outside nuclei)."""
    b, h, w = ids.shape
    bright = uniform(g, (b, MAX_NUCLEI), 0.25, 1.0)
    level = torch.gather(bright, 1, owner.view(b, -1)).view(b, h, w)
    profile = 0.55 + 0.45 * (1 - fmin.clamp(max=1) ** 2)
    chromatin = 1 + 0.25 * smooth_noise(g, b, h, w, 2 * scale).squeeze(1)
    return torch.where(ids > 0, level * profile * chromatin.clamp(0.3, 1.8), torch.zeros(1))


def _background(g: torch.Generator, b: int, h: int, w: int, scale: float) -> torch.Tensor:
    """B×H×W background: offset, gradient, haze and a few out-of-focus debris blobs (not nuclei)."""
    ys = (torch.arange(h, dtype=torch.float32) + 0.5).view(1, h, 1) / h
    xs = (torch.arange(w, dtype=torch.float32) + 0.5).view(1, 1, w) / w
    angle = uniform(g, (b, 1, 1), 0, 2 * math.pi)
    gradient = (xs * torch.cos(angle) + ys * torch.sin(angle) + 1) / 2
    background = uniform(g, (b, 1, 1), 0.02, 0.12) + uniform(g, (b, 1, 1), 0, 0.15) * gradient
    background = background + 0.03 * smooth_noise(g, b, h, w, 16).squeeze(1)
    for _ in range(3):
        cx, cy = uniform(g, (b, 1, 1), 0, w), uniform(g, (b, 1, 1), 0, h)
        r = uniform(g, (b, 1, 1), 2, 6) * scale
        amp = uniform(g, (b, 1, 1), 0.05, 0.25) * (torch.rand(b, 1, 1, generator=g) < 0.6)
        background = background + amp * torch.exp(-((xs - cx / w) ** 2 * w * w + (ys - cy / h) ** 2 * h * h) / (2 * r * r))
    return background


def _microscope(g: torch.Generator, img: torch.Tensor, scale: float) -> torch.Tensor:
    """Optics blur, photon shot noise (Gaussian approximation of Poisson), then sensor noise (uint8)."""
    b = img.shape[0]
    img = blur(img, uniform(g, (b,), 0.5, 1.3) * scale).clamp(min=0)
    photons = uniform(g, (b, 1, 1, 1), 20, 200)  # shot noise: Poisson(img * photons) / photons
    img = img + torch.sqrt(img / photons) * torch.randn(img.shape, generator=g)
    return finish(g, img, noise=(0.005, 0.03), blur_sigma=(0.0, 0.01))


def render_nuclei(g: torch.Generator, b: int, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``b`` fluorescence-like images of touching nuclei (uint8 B×1×H×W, int32 B×H×W instance ids)."""
    scale = min(h, w) / 64
    k = MAX_NUCLEI
    count = torch.randint(4, k + 1, (b, 1), generator=g)
    pos = _centres(g, b, h, w, scale)
    a = uniform(g, (b, k), 3.5, 8.0) * scale
    bb = a * uniform(g, (b, k), 0.6, 1.0)
    valid = _accepted(pos, (a + bb) / 2, count)
    ix, iy = _windows(pos, scale)
    f = _outlines(g, pos, a, bb, ix, iy)
    inside, owner, fmin = _owners(f, valid, ix, iy, h, w)
    ids = _instance_ids(inside, owner, k)
    nuclei = _nucleus_intensity(g, ids, owner, fmin, scale)
    img = (_background(g, b, h, w, scale) + nuclei).unsqueeze(1)
    return _microscope(g, img, scale), ids.to(torch.int32)
