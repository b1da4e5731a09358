import math

import numpy as np
import pytest
import torch
from PIL import Image

from vtscale.config import config_section
from vtscale.errors import ConfigError
from vtscale.model.config import ModelConfig
from vtscale.model.hd_views import hd_views, local_scale, num_local_views
from vtscale.model.vision import views_to_pixels


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


def test_authors_global_view_is_black_padded_and_resized_on_the_tensor():
    # 300 x 100 below the view size of 336: no shrink, pasted at top 100 on a black
    # 300 x 300 canvas, then a bicubic resize of the tensor to 336
    views = hd_views(solid(300, 100, (255, 255, 255)), 336, 4, rule="authors")
    g = views[0]
    assert isinstance(g, torch.Tensor) and g.shape == (3, 336, 336)
    assert torch.allclose(g[:, 0], torch.zeros(3, 336), atol=1e-6)          # black band on top
    assert torch.allclose(g[:, 168], torch.ones(3, 336), atol=1e-6)         # the image in the middle
    assert g.max() > 1.0                                                     # bicubic overshoot kept


def test_authors_global_view_shrinks_a_long_side_with_lanczos_first():
    # 672 x 200 -> 336 x 100, pasted at top (336 - 100) // 2 = 118; no resize after that
    image = solid(672, 200, (255, 0, 0))
    g = hd_views(image, 336, 2, rule="authors")[0]
    expected = Image.new("RGB", (336, 336))
    expected.paste(image.resize((336, 100), Image.LANCZOS), (0, 118))
    want = torch.from_numpy(np.asarray(expected, dtype=np.float32) / 255).permute(2, 0, 1)
    assert torch.allclose(g, want, atol=1e-5)


def test_authors_square_image_is_resized_without_padding():
    image = solid(100, 100, (0, 255, 0))
    g = hd_views(image, 64, 1, rule="authors")[0]
    assert g.shape == (3, 64, 64) and torch.allclose(g[1], torch.ones(64, 64), atol=1e-5)


def test_authors_local_views_are_resized_bilinear_with_their_height_rule():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (210, 500, 3), dtype=np.uint8))
    ours = hd_views(image, 336, 2)[1:]
    theirs = hd_views(image, 336, 2, rule="authors")[1:]
    # s = 2: width 672, height int(672 / (500 / 210)) = 282, white padding 27 rows on top
    resized = image.resize((672, int(672 / (500 / 210))), Image.BILINEAR)
    assert np.array_equal(np.asarray(theirs[0])[27:27 + 282], np.asarray(resized)[:, :336])
    assert not np.array_equal(np.asarray(ours[0]), np.asarray(theirs[0]))


def test_tensor_and_pil_views_normalise_alike():
    pil = solid(64, 64, (30, 60, 90))
    tensor = torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255).permute(2, 0, 1)
    assert torch.allclose(views_to_pixels([pil]), views_to_pixels([tensor]))


def test_unknown_view_rule_names_the_key():
    with pytest.raises(ConfigError, match="model.view_rule='padded'"):
        config_section(ModelConfig, {"model": {"view_rule": "padded"}}, "model")
