"""Which of a benchmark row's images the model sees (``eval.multi_image``).

A VLMEvalKit row may hold several images (SEEDBench2's multi-image questions); the
message it builds is every image in order, then the text. The authors' VLMEvalKit wrapper
declares itself interleaved but keeps one image per message, each image entry replacing
the one before, so their model answers from the last image alone (docs/paper_profile.md §1):

- ``last``: the last image, as the authors' model;
- ``all``: every image, each one's HD views in the fusion row in message order.

Rows with one image are fed the same under both.
"""

from __future__ import annotations

from PIL import Image

LAST = "last"
ALL = "all"
MULTI_IMAGE = (LAST, ALL)


def model_images(images: list[Image.Image], policy: str = LAST) -> Image.Image | list[Image.Image]:
    """The model input of one row: one image, or under ``all`` a row's several images."""
    if policy not in MULTI_IMAGE:
        raise ValueError(f"multi-image policy {policy!r} is not one of {', '.join(MULTI_IMAGE)}")
    if len(images) == 1 or policy == LAST:
        return images[-1]
    return list(images)
