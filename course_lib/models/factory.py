"""``create(name, ...)``: one entry point that builds every model of the course by name.

Introduced in lesson 04; lessons 05, 06, 08 and 11 use it for FCN, SegNet, smp models, Mask R-CNN, the
pretrained EfficientNet-Lite0 U-Net and the course's small SegFormer.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from ..validation import check_int

__all__ = ["create", "list_models", "model_options", "ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """What the factory knows about one model name."""

    name: str
    builder: Callable[..., nn.Module]
    description: str
    task: str = "semantic"  # or "instance"


def _unet(in_channels: int, num_classes: int, **options: Any) -> nn.Module:
    from .unet import UNet

    return UNet(in_channels, num_classes, **options)


def _segnet(in_channels: int, num_classes: int, **options: Any) -> nn.Module:
    from .segnet import SegNet

    return SegNet(in_channels, num_classes, **options)


def _fcn(in_channels: int, num_classes: int, **options: Any) -> nn.Module:
    from .fcn import FCN

    return FCN(in_channels, num_classes, **options)


def _mini_segformer(in_channels: int, num_classes: int, **options: Any) -> nn.Module:
    from .segformer import MiniSegFormer

    return MiniSegFormer(in_channels, num_classes, **options)


def _maskrcnn(in_channels: int, num_classes: int, **options: Any) -> nn.Module:
    from .maskrcnn import build_maskrcnn

    return build_maskrcnn(in_channels, num_classes, **options)


def _effnet_unet(in_channels: int, num_classes: int, **options: Any) -> nn.Module:
    from .pretrained import EffNetUNet

    return EffNetUNet(in_channels, num_classes, **options)


def _smp(name: str) -> Callable[..., nn.Module]:
    def build(in_channels: int, num_classes: int, **options: Any) -> nn.Module:
        from .smp_models import build_smp

        return build_smp(name, in_channels, num_classes, **options)

    return build


_SMP_DESCRIPTIONS = {
    "smp-unet": "U-Net (smp) on any smp encoder",
    "smp-unetplusplus": "U-Net++ (smp): nested, dense skip connections",
    "deeplabv3": "DeepLabV3 (smp): atrous spatial pyramid pooling",
    "deeplabv3plus": "DeepLabV3+ (smp): ASPP plus a light decoder with one skip",
    "fpn": "Feature Pyramid Network (smp)",
    "pspnet": "PSPNet (smp): pyramid pooling module",
    "linknet": "LinkNet (smp): light decoder, additive skips",
    "manet": "MA-Net (smp): attention decoder",
    "upernet": "UPerNet (smp)",
    "segformer": "SegFormer's all-MLP decoder (smp) on any smp encoder (a CNN unless encoder_name='mit_b0'...)",
}

_REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("unet", _unet, "the course's U-Net (DoubleConv blocks, skips optional)"),
        ModelSpec("segnet", _segnet, "SegNet: decoder upsamples with max-pooling indices"),
        ModelSpec("fcn", _fcn, "FCN-8s/16s/32s on a small VGG-like backbone"),
        *[ModelSpec(n, _smp(n), d) for n, d in _SMP_DESCRIPTIONS.items()],
        ModelSpec("mini-segformer", _mini_segformer,
                  "the course's small SegFormer from scratch: transformer encoder (efficient attention, Mix-FFN), "
                  "all-MLP decoder"),
        ModelSpec("effnet-unet", _effnet_unet, "U-Net decoder on the offline ImageNet EfficientNet-Lite0 encoder"),
        ModelSpec("maskrcnn", _maskrcnn, "torchvision Mask R-CNN with a tiny FPN backbone (instances)", task="instance"),
    ]
}


def list_models(task: str | None = None) -> list[str]:
    """The names ``create`` accepts (optionally only ``task="semantic"`` or ``"instance"``)."""
    if task not in (None, "semantic", "instance"):
        raise ValueError(f"task={task!r} must be None, 'semantic' or 'instance'.")
    return [n for n, s in _REGISTRY.items() if task is None or s.task == task]


def _spec(name: Any) -> ModelSpec:
    if not isinstance(name, str) or name.lower() not in _REGISTRY:
        raise ValueError(f"name={name!r} is not a model of this course; valid names: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name.lower()]


def _builder_target(name: str) -> Callable[..., Any]:
    """The class or function whose signature defines the options of a non-smp model."""
    if name == "unet":
        from .unet import UNet as target
    elif name == "segnet":
        from .segnet import SegNet as target
    elif name == "fcn":
        from .fcn import FCN as target
    elif name == "effnet-unet":
        from .pretrained import EffNetUNet as target
    elif name == "mini-segformer":
        from .segformer import MiniSegFormer as target
    else:
        from .maskrcnn import build_maskrcnn as target
    return target


def model_options(name: str) -> dict[str, Any]:
    """The options ``create(name, ...)`` accepts, with their defaults."""
    spec = _spec(name)
    if spec.name in _SMP_DESCRIPTIONS:
        import segmentation_models_pytorch as smp

        from .smp_models import SMP_ARCHITECTURES, smp_option_names

        params = inspect.signature(getattr(smp, SMP_ARCHITECTURES[spec.name]).__init__).parameters
        opts = {n: params[n].default for n in smp_option_names(spec.name)}
        opts.update(encoder_name="resnet18", encoder_weights=None)
        return opts
    params = inspect.signature(_builder_target(spec.name)).parameters
    return {n: p.default for n, p in params.items() if n not in ("self", "in_channels", "num_classes")}


def create(name: str, in_channels: int = 3, num_classes: int = 2, **options: Any) -> nn.Module:
    """Build model ``name`` (see ``list_models()``) for ``in_channels`` inputs and ``num_classes`` outputs.

    ``options`` are the model's own settings (see ``model_options(name)``), e.g.
    ``create("unet", num_classes=3, base_channels=16, depth=4, skip=False)``. The model remembers how it
    was built (``model.course_spec``), so :func:`save_checkpoint` / :func:`load_checkpoint` can rebuild it.
    For ``"maskrcnn"`` ``num_classes`` includes the background.
    """
    spec = _spec(name)
    check_int("in_channels", in_channels)
    check_int("num_classes", num_classes)
    if spec.name not in _SMP_DESCRIPTIONS:  # smp options are checked in build_smp against smp's signature
        valid = model_options(spec.name)
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(
                f"create({spec.name!r}) got unknown option(s) {', '.join(map(repr, unknown))}; "
                f"valid options: {', '.join(valid)}."
            )
    model = spec.builder(in_channels, num_classes, **options)
    model.course_spec = {"name": spec.name, "in_channels": in_channels, "num_classes": num_classes, "options": dict(options)}
    return model
