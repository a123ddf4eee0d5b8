"""Batched drawing helpers shared by the synthetic renderers: random draws, noise fields, blur, outlines.

Every helper works on B images at once and draws from the caller's ``torch.Generator``, so a renderer
that calls them in a fixed order gives the same pixels for the same seed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["Harmonics", "uniform", "pick_colours", "pixel_grid", "smooth_noise", "blur", "wobbly_ellipse", "finish"]

#: (amplitude, phase) of each angular harmonic 2, 3, ... of a wobbly outline.
Harmonics = list[tuple[torch.Tensor, torch.Tensor]]


def uniform(g: torch.Generator, shape: tuple[int, ...], lo: float, hi: float) -> torch.Tensor:
    """Uniform random numbers in [lo, hi)."""
    return lo + (hi - lo) * torch.rand(shape, generator=g)


def pick_colours(g: torch.Generator, colours: list[tuple[float, float, float]], probs: list[float], n: int) -> torch.Tensor:
    """``n`` RGB colours drawn from a list with the given probabilities (n×3)."""
    idx = torch.multinomial(torch.tensor(probs, dtype=torch.float32), n, replacement=True, generator=g)
    return torch.tensor(colours, dtype=torch.float32)[idx]


def pixel_grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates: rows as a 1×H×1 and columns as a 1×1×W tensor (float32)."""
    yp = (torch.arange(h, dtype=torch.float32) + 0.5).view(1, h, 1)
    xp = (torch.arange(w, dtype=torch.float32) + 0.5).view(1, 1, w)
    return yp, xp


def smooth_noise(g: torch.Generator, b: int, h: int, w: int, cell: float, c: int = 1) -> torch.Tensor:
    """Smooth random field of about unit variance: a coarse grid of normal noise, upsampled bilinearly."""
    gh, gw = max(2, math.ceil(h / cell) + 2), max(2, math.ceil(w / cell) + 2)
    coarse = torch.randn(b, c, gh, gw, generator=g)
    # bilinear mixing of independent grid values leaves on average 2/3 of the standard deviation
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False) * 1.5


def blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
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


def wobbly_ellipse(
    xp: torch.Tensor, yp: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
    theta: torch.Tensor, harm: Harmonics,
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


def finish(g: torch.Generator, img: torch.Tensor, noise: tuple[float, float], blur_sigma: tuple[float, float]) -> torch.Tensor:
    """Blur, add Gaussian sensor noise, clip and quantise a B×C×H×W batch in [0, 1] to uint8."""
    b = img.shape[0]
    img = blur(img, uniform(g, (b,), *blur_sigma))
    img = img + uniform(g, (b, 1, 1, 1), *noise) * torch.randn(img.shape, generator=g)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)
