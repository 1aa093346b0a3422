"""Images as tensors: decoded with Pillow, resized, cropped and flipped in torch.

torchvision is used for resizing when it is installed, and never required: the project's
default install does not pull it. Images are kept as ``uint8`` tensors ``(channels, height,
width)`` until a batch is served, then augmented as a whole batch and scaled to floats.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ..errors import DataFileError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MODES = {1: "L", 3: "RGB"}


def decode(path: Path, channels: int) -> Tensor:
    """Decode an image file to a ``uint8`` tensor ``(channels, height, width)``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            converted = image.convert(MODES[channels])
            data = torch.frombuffer(bytearray(converted.tobytes()), dtype=torch.uint8)
            width, height = converted.size
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataFileError(
            path, f"cannot be read as an image ({error})", "replace or delete the file"
        ) from None
    return data.view(height, width, channels).permute(2, 0, 1).contiguous()


def resize_shorter_side(image: Tensor, size: int) -> Tensor:
    """Resize so that the shorter side is ``size`` pixels (aspect kept, antialiased)."""
    height, width = image.shape[-2:]
    scale = size / min(height, width)
    target = (max(size, round(height * scale)), max(size, round(width * scale)))
    try:
        from torchvision.transforms.v2 import functional as tvf
    except ImportError:
        resized = torch.nn.functional.interpolate(
            image.unsqueeze(0).float(), size=target, mode="bilinear", antialias=True
        )[0]
        return resized.round().clamp(0, 255).to(torch.uint8)
    return tvf.resize(image, list(target), antialias=True)


def center_crop(image: Tensor, size: int) -> Tensor:
    """Return the central ``size`` x ``size`` square of an image (or of a batch of them)."""
    height, width = image.shape[-2:]
    top, left = (height - size) // 2, (width - size) // 2
    return image[..., top : top + size, left : left + size]


def load_square(path: Path, size: int, channels: int) -> Tensor:
    """Decode, resize the shorter side to ``size`` and keep the central square."""
    return center_crop(resize_shorter_side(decode(path, channels), size), size)


def random_crop_and_flip(
    images: Tensor, crop: int, flip: bool, generator: torch.Generator | None = None
) -> Tensor:
    """Return a random ``crop`` x ``crop`` window of each image of a batch, flipped at random.

    ``images`` is ``(batch, channels, height, width)``; the windows and flips come from
    ``generator``, so an epoch's augmentation repeats with its seed.
    """
    batch, _, height, width = images.shape
    tops = torch.randint(0, height - crop + 1, (batch,), generator=generator)
    lefts = torch.randint(0, width - crop + 1, (batch,), generator=generator)
    rows = tops[:, None] + torch.arange(crop)[None, :]
    cols = lefts[:, None] + torch.arange(crop)[None, :]
    if flip:
        mirrored = torch.rand(batch, generator=generator) < 0.5
        cols = torch.where(mirrored[:, None], cols.flip(1), cols)
    index = torch.arange(batch)[:, None, None, None]
    channel = torch.arange(images.shape[1])[None, :, None, None]
    return images[index, channel, rows[:, None, :, None], cols[:, None, None, :]]


def to_float(images: Tensor, mean: list[float], std: list[float]) -> Tensor:
    """``uint8`` images to floats standardized per channel with the training split's stats."""
    location = torch.tensor(mean, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    scale = torch.tensor(std, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    return (images.float() / 255.0 - location) / scale
