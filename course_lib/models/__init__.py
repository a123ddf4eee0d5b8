"""Segmentation models of the course, one concept per module, all built by ``create(name, ...)``.

* ``blocks``: DoubleConv, Down, Up, OutConv (lesson 04)
* ``unet``, ``segnet``, ``fcn``: hand-written architectures (lessons 04-05)
* ``smp_models``: segmentation_models_pytorch architectures with any smp encoder (lesson 05)
* ``maskrcnn``: a small torchvision Mask R-CNN for CPU training (lesson 06)
* ``pretrained``: the offline ImageNet EfficientNet-Lite0 and the "effnet-unet" segmenter (lesson 08)
* ``segformer``: the course's small SegFormer, a transformer segmenter from scratch: "mini-segformer" (lesson 11)
* ``utils``: parameter counts, speed, summary, freezing, per-part learning rates
* ``checkpoints``: safe save/load and ready-made checkpoints

Importing this package is cheap: smp, torchvision and the EfficientNet packages load only when used.
"""

from __future__ import annotations

from . import blocks, checkpoints, factory, fcn, maskrcnn, pretrained, segformer, segnet, smp_models, unet, utils
from .blocks import ConvBNReLU, DoubleConv, Down, OutConv, Up, match_size
from .checkpoints import checkpoint_info, list_checkpoints, load_checkpoint, pretrained_checkpoint, save_checkpoint
from .factory import create, list_models, model_options
from .fcn import FCN
from .maskrcnn import TinyFPNBackbone
from .pretrained import EfficientNetLite0Encoder, EffNetUNet, efficientnet_lite0, imagenet_classes
from .segformer import MiniSegFormer
from .segnet import SegNet
from .smp_models import WeightsUnavailableError
from .unet import UNet
from .utils import count_parameters, freeze, measure_speed, param_groups, summary, unfreeze

__all__ = [
    # modules
    "blocks",
    "checkpoints",
    "factory",
    "fcn",
    "maskrcnn",
    "pretrained",
    "segformer",
    "segnet",
    "smp_models",
    "unet",
    "utils",
    # factory
    "create",
    "list_models",
    "model_options",
    # building blocks and architectures
    "ConvBNReLU",
    "DoubleConv",
    "Down",
    "Up",
    "OutConv",
    "match_size",
    "UNet",
    "SegNet",
    "FCN",
    "MiniSegFormer",
    "TinyFPNBackbone",
    "EfficientNetLite0Encoder",
    "EffNetUNet",
    "efficientnet_lite0",
    "imagenet_classes",
    # utilities
    "count_parameters",
    "measure_speed",
    "summary",
    "freeze",
    "unfreeze",
    "param_groups",
    # checkpoints
    "save_checkpoint",
    "load_checkpoint",
    "checkpoint_info",
    "pretrained_checkpoint",
    "list_checkpoints",
    "WeightsUnavailableError",
]
