import math

import numpy as np
import pytest
from PIL import Image

from vtscale.model.hd_views import hd_views, local_scale, num_local_views


def solid(width: int, height: int, colour=(10, 20, 30)) -> Image.Image:
    return Image.new("RGB", (width, height), colour)


@pytest.mark.parametrize("side", [200, 672, 2000])
def test_square_at_hd9_gives_global_plus_nine_whatever_its_size(side):
    # largest s with s * ceil(s / 1) <= 9 is 3: small squares are enlarged to 1008
    assert local_scale(side, side, 336, 9) == 3
    views = hd_views(solid(side, side), 336, 9)
    assert len(views) == 1 + 9 and all(v.size == (336, 336) for v in views)


def test_wide_image_uses_the_largest_scale_within_the_budget():
    # 672 x 200: ratio 3.36; s = 4 gives 4 * ceil(4 / 3.36) = 8 <= 9, s = 5 gives 10
    assert local_scale(672, 200, 336, 9) == 4
    assert num_local_views(672, 200, 336, 9) == 8


@pytest.mark.parametrize("width, height", [(1000, 300), (300, 1000), (5, 300), (300, 5), (1, 1),
                                           (672, 672), (900, 500), (336, 337), (4000, 3000)])
@pytest.mark.parametrize("budget", [1, 4, 9])
def test_scale_rule_and_view_count(width, height, budget):
    s = local_scale(width, height, 336, budget)
    ratio = max(width, height) / min(width, height)
    assert s >= 1 and s * math.ceil(s / ratio) <= budget
    assert (s + 1) * math.ceil((s + 1) / ratio) > budget          # s is the largest
    views = hd_views(solid(width, height), 336, budget)
    assert len(views) - 1 == num_local_views(width, height, 336, budget)
    assert all(v.size == (336, 336) for v in views)
    assert len(views) - 1 <= budget


def test_landscape_crops_in_raster_order_and_white_centred_padding():
    # 672 x 200 at HD-2: s = 2, kept at 672 x 200, padded to 672 x 336 (68 white rows on top)
    image = Image.new("RGB", (672, 200), (0, 0, 0))
    image.paste((255, 0, 0), (336, 0, 672, 200))           # right half red
    views = hd_views(image, 336, 2)
    assert len(views) == 3
    left, right = np.asarray(views[1]), np.asarray(views[2])
    assert (left[:60] == 255).all() and (left[-60:] == 255).all()  # white bands top and bottom
    assert (left[168, 10] == 0).all() and tuple(right[168, 10]) == (255, 0, 0)


def test_portrait_is_transposed_back_and_cut_row_by_row():
    image = Image.new("RGB", (200, 672), (0, 0, 0))
    image.paste((0, 0, 255), (0, 336, 200, 672))           # bottom half blue
    views = hd_views(image, 336, 2)
    assert len(views) == 3
    top, bottom = np.asarray(views[1]), np.asarray(views[2])
    assert (top[:, :60] == 255).all()                        # white bands left and right
    assert tuple(top[168, 168]) == (0, 0, 0) and tuple(bottom[168, 168]) == (0, 0, 255)


def test_global_view_pads_to_square():
    views = hd_views(solid(300, 100, (0, 0, 0)), 64, 4)
    g = np.asarray(views[0])
    assert (g[0] == 255).all() and (g[32] == 0).all()


def test_tiny_image_still_gives_views():
    views = hd_views(solid(5, 300), 64, 4)
    assert len(views) >= 2 and all(v.size == (64, 64) for v in views)
