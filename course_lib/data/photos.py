"""Photo composites: patches of real photographs pasted as blobs onto real texture photographs, offline.

Introduced in lesson 08 (transfer learning). The photographs are the ones bundled in scikit-image's
wheel (no download): the foreground comes from photos of things (a cat, a coffee cup, an astronaut,
a rocket), the background from photos of surfaces (grass, gravel, bricks, the moon, a camera man).
Each region gets its own random tint and is then matched to the same brightness and contrast, so
no single pixel value tells the two apart: the model has to recognise *photo content* versus *texture*,
which is what ImageNet features are good at.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

__all__ = ["PHOTO_CLASSES", "FOREGROUND_PHOTOS", "BACKGROUND_PHOTOS", "source_photos", "render_photo_composites"]

PHOTO_CLASSES = ("background", "photo object")
#: scikit-image images used for the foreground (photos of things) and background (surfaces, textures).
FOREGROUND_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")
BACKGROUND_PHOTOS = ("grass", "gravel", "brick", "moon", "camera")
_MAX_SIDE = 256  # sources are shrunk once so that a crop covers a sensible part of the photo


def _as_rgb_tensor(array) -> torch.Tensor:
    t = torch.from_numpy(array.copy()).float() / 255.0
    if t.ndim == 2:
        t = t.unsqueeze(-1).expand(-1, -1, 3)
    t = t[..., :3].permute(2, 0, 1).unsqueeze(0)
    h, w = t.shape[-2:]
    scale = _MAX_SIDE / max(h, w)
    if scale < 1:
        t = F.interpolate(t, size=(round(h * scale), round(w * scale)), mode="bilinear", antialias=True, align_corners=False)
    return t[0].clamp(0, 1).contiguous()


@functools.lru_cache(maxsize=1)
def source_photos() -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """The foreground and background source photos as float 3×H×W tensors in [0, 1] (longest side 256)."""
    from skimage import data as skdata

    def load(names: tuple[str, ...]) -> tuple[torch.Tensor, ...]:
        return tuple(_as_rgb_tensor(getattr(skdata, n)()) for n in names)

    return load(FOREGROUND_PHOTOS), load(BACKGROUND_PHOTOS)


def _rand(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand(1, generator=g))


def _crop(g: torch.Generator, photo: torch.Tensor, h: int, w: int, lo: float, hi: float) -> torch.Tensor:
    """A random crop covering ``lo..hi`` of the photo's shorter side, flipped at random, resized to h×w."""
    ph, pw = photo.shape[-2:]
    side = max(8, round(min(ph, pw) * _rand(g, lo, hi)))
    ch, cw = min(ph, round(side * h / max(h, w))), min(pw, round(side * w / max(h, w)))
    top = int(torch.randint(0, ph - ch + 1, (1,), generator=g))
    left = int(torch.randint(0, pw - cw + 1, (1,), generator=g))
    patch = photo[:, top : top + ch, left : left + cw].unsqueeze(0)
    if float(torch.rand(1, generator=g)) < 0.5:
        patch = patch.flip(-1)
    return F.interpolate(patch, size=(h, w), mode="bilinear", antialias=True, align_corners=False)[0]


def _restyle(g: torch.Generator, region: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """Random grey-or-colour tint, then the luminance matched to ``mean`` and ``std`` over the region."""
    grey = region.mean(0, keepdim=True)
    colour = _rand(g, 0.0, 1.0)  # 0 = grey, 1 = the photo's own colours
    x = grey + colour * (region - grey)
    x = x * torch.tensor([_rand(g, 0.8, 1.2) for _ in range(3)]).view(3, 1, 1)
    lum = x.mean(0)
    return (x - lum.mean()) / lum.std().clamp(min=1e-3) * std + mean


def _blob(g: torch.Generator, h: int, w: int) -> torch.Tensor:
    """A random wobbly ellipse (bool h×w) anywhere in the image, covering roughly 3-25% of it."""
    s = min(h, w)
    yy = torch.arange(h, dtype=torch.float32).view(h, 1) + 0.5
    xx = torch.arange(w, dtype=torch.float32).view(1, w) + 0.5
    cx, cy = w * _rand(g, 0.12, 0.88), h * _rand(g, 0.12, 0.88)
    a, theta = s * _rand(g, 0.12, 0.3), _rand(g, 0, math.pi)
    b = a * _rand(g, 0.5, 1.0)
    dx, dy = xx - cx, yy - cy
    u = (dx * math.cos(theta) + dy * math.sin(theta)) / a
    v = (-dx * math.sin(theta) + dy * math.cos(theta)) / b
    rho, phi = torch.sqrt(u * u + v * v), torch.atan2(v, u)
    outline = torch.ones_like(rho)
    for k in (2, 3, 5):
        outline = outline + _rand(g, 0, 0.12) * torch.cos(k * phi + _rand(g, 0, 2 * math.pi))
    return rho < outline


def render_photo_composites(g: torch.Generator, b: int, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``b`` composites (uint8 B×3×H×W images, uint8 B×H×W labels: 1 = pasted photo object)."""
    fg_photos, bg_photos = source_photos()
    images = torch.empty(b, 3, h, w)
    labels = torch.empty(b, h, w, dtype=torch.uint8)
    for i in range(b):
        fg = _crop(g, fg_photos[int(torch.randint(0, len(fg_photos), (1,), generator=g))], h, w, 0.25, 0.6)
        bg = _crop(g, bg_photos[int(torch.randint(0, len(bg_photos), (1,), generator=g))], h, w, 0.2, 0.6)
        mean, std = _rand(g, 0.35, 0.65), _rand(g, 0.1, 0.2)
        mask = _blob(g, h, w)
        if float(torch.rand(1, generator=g)) < 0.4:  # a second object
            mask |= _blob(g, h, w)
        img = torch.where(mask, _restyle(g, fg, mean, std), _restyle(g, bg, mean, std))
        img = img * _rand(g, 0.85, 1.15) + 0.02 * torch.randn(img.shape, generator=g)
        images[i], labels[i] = img, mask.to(torch.uint8)
    return (images.clamp(0, 1) * 255).round().to(torch.uint8), labels
