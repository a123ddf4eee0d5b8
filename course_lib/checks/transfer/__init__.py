"""Exercises of lesson 08 (transfer learning): freeze an encoder, count trainable parameters,
discriminative learning rates, and ImageNet normalisation.

One module per exercise; importing this package registers them in the lesson's order.
"""

from __future__ import annotations

from ...transforms import IMAGENET_MEAN, IMAGENET_STD  # the ImageNet channel statistics (R, G, B)
from .toy import ToySegmenter
from .freeze_encoder import freeze_encoder_reference
from .count_trainable import count_trainable_reference
from .encoder_decoder_groups import encoder_decoder_groups_reference
from .imagenet_normalize import imagenet_normalize_reference

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ToySegmenter",
    "freeze_encoder_reference",
    "count_trainable_reference",
    "encoder_decoder_groups_reference",
    "imagenet_normalize_reference",
]



