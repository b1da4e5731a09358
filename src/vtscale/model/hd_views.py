"""HD-N views of an image: one padded global view plus up to N local crops.

The local rule is InternLM-XComposer2-4KHD's, as in the authors' image processor: work
on the landscape orientation (portrait images are transposed and transposed back), take
the largest scale s with s * ceil(s / ratio) <= N, resize the width to s * view keeping
the aspect ratio (small images are enlarged), pad the height to a multiple of view
(white, centred) and cut view x view crops in raster order.

``model.view_rule`` picks the filters and the global view: ``vtscale`` pads the image
to a white centred square and resizes every view bicubic; ``authors`` follows their
processor (tensorfusionvlm/utils.py ``ImageHelperBase.image_expand2square`` and
model/image_processing_phi3_v.py ``HD_transform`` and ``preprocess``): the global view
shrinks a long side above view (Lanczos), is centred on a black square canvas and is
resized to view bicubic on the pixel tensor; local crops are resized bilinear.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

WHITE = (255, 255, 255)
VIEW_RULES = ("vtscale", "authors")
View = Image.Image | torch.Tensor   # a PIL view, or (authors' global view) [3, H, W] in [0, 1]


def local_scale(width: int, height: int, view_size: int, max_local: int) -> int:
    """Columns of local crops along the long side (the scale s of the HD rule)."""
    ratio = max(width, height) / min(width, height)
    scale = 1
    while (scale + 1) * math.ceil((scale + 1) / ratio) <= max_local:
        scale += 1
    return scale


def global_view(image: Image.Image, view_size: int) -> Image.Image:
    square = _pad_centred(image, max(image.size), max(image.size))
    return square.resize((view_size, view_size), Image.BICUBIC)


def _pad_centred(image: Image.Image, width: int, height: int) -> Image.Image:
    canvas = Image.new("RGB", (width, height), WHITE)
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return canvas


def authors_global_view(image: Image.Image, view_size: int) -> torch.Tensor:
    """Their global view: a square image is kept as it is; otherwise a long side above
    ``view_size`` is shrunk to it (Lanczos) and the image pasted onto a black square
    canvas at offset (long - short) // 2; then a bicubic resize of the pixel tensor
    (no antialias, no clamping) to ``view_size``."""
    width, height = image.size
    if width != height:
        if max(width, height) > view_size:
            shrink = view_size / max(width, height)
            width, height = (view_size, int(height * shrink)) if width > height else (int(width * shrink), view_size)
            image = image.resize((width, height), Image.LANCZOS)
        side = max(width, height)
        canvas = Image.new("RGB", (side, side))
        canvas.paste(image, ((side - width) // 2, (side - height) // 2))
        image = canvas
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return torch.nn.functional.interpolate(pixels[None], size=(view_size, view_size),
                                           mode="bicubic", align_corners=False)[0]


def local_views(image: Image.Image, view_size: int, max_local: int,
                rule: str = "vtscale") -> list[Image.Image]:
    if max_local == 0:
        return []
    transposed = image.width < image.height
    if transposed:
        image = image.transpose(Image.Transpose.TRANSPOSE)
    scale = local_scale(image.width, image.height, view_size, max_local)
    new_w = scale * view_size
    if rule == "authors":   # their height rule and torchvision's default filter on PIL
        new_h, resample = max(1, int(new_w / (image.width / image.height))), Image.BILINEAR
    else:
        new_h, resample = max(1, int(new_w * image.height / image.width)), Image.BICUBIC
    resized = image.resize((new_w, new_h), resample)
    padded = _pad_centred(resized, new_w, math.ceil(new_h / view_size) * view_size)
    if transposed:
        padded = padded.transpose(Image.Transpose.TRANSPOSE)
    cols, rows = padded.width // view_size, padded.height // view_size
    return [padded.crop((c * view_size, r * view_size, (c + 1) * view_size, (r + 1) * view_size))
            for r in range(rows) for c in range(cols)]


def hd_views(image: Image.Image, view_size: int, max_local: int, rule: str = "vtscale") -> list[View]:
    """[global view, local views in raster order], each view_size x view_size RGB."""
    image = image.convert("RGB")
    first = authors_global_view(image, view_size) if rule == "authors" else global_view(image, view_size)
    return [first] + local_views(image, view_size, max_local, rule)


def num_local_views(width: int, height: int, view_size: int, max_local: int) -> int:
    """How many local crops :func:`local_views` cuts, without touching pixels."""
    long_side, short_side = max(width, height), min(width, height)
    scale = local_scale(width, height, view_size, max_local)
    new_short = max(1, int(scale * view_size * short_side / long_side))
    return scale * math.ceil(new_short / view_size)
