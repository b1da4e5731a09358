"""HD-N views of an image: one padded global view plus up to N local crops.

The rule is InternLM-XComposer2-4KHD's, as in the authors' image processor: work on
the landscape orientation (portrait images are transposed and transposed back), take
the largest scale s with s * ceil(s / ratio) <= N, resize the width to s * view keeping
the aspect ratio (small images are enlarged), pad the height to a multiple of view
(white, centred) and cut view x view crops in raster order.
"""

from __future__ import annotations

import math

from PIL import Image

WHITE = (255, 255, 255)


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


def local_views(image: Image.Image, view_size: int, max_local: int) -> list[Image.Image]:
    if max_local == 0:
        return []
    transposed = image.width < image.height
    if transposed:
        image = image.transpose(Image.Transpose.TRANSPOSE)
    scale = local_scale(image.width, image.height, view_size, max_local)
    new_w = scale * view_size
    new_h = max(1, int(new_w * image.height / image.width))
    resized = image.resize((new_w, new_h), Image.BICUBIC)
    padded = _pad_centred(resized, new_w, math.ceil(new_h / view_size) * view_size)
    if transposed:
        padded = padded.transpose(Image.Transpose.TRANSPOSE)
    cols, rows = padded.width // view_size, padded.height // view_size
    return [padded.crop((c * view_size, r * view_size, (c + 1) * view_size, (r + 1) * view_size))
            for r in range(rows) for c in range(cols)]


def hd_views(image: Image.Image, view_size: int, max_local: int) -> list[Image.Image]:
    """[global view, local views in raster order], each view_size x view_size RGB."""
    image = image.convert("RGB")
    return [global_view(image, view_size)] + local_views(image, view_size, max_local)


def num_local_views(width: int, height: int, view_size: int, max_local: int) -> int:
    """How many local crops :func:`local_views` cuts, without touching pixels."""
    long_side, short_side = max(width, height), min(width, height)
    scale = local_scale(width, height, view_size, max_local)
    new_short = max(1, int(scale * view_size * short_side / long_side))
    return scale * math.ceil(new_short / view_size)
