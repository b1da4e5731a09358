"""LLaVA-format training JSONs: each record's image is checked before training, present
and an image, with one error line naming the file, the record and the image."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from vtscale.data.conversations import ConversationDataset, RecordDataset, read_records
from vtscale.errors import InputError

TURNS = [{"from": "human", "value": "<image>\nIs the shape red?"}, {"from": "gpt", "value": "Yes"}]


def png_bytes(size=(24, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def write_records(root: Path, images: dict[str, bytes]) -> Path:
    """One record per image file, named r0, r1, ... in order; the JSON's path."""
    records = []
    for i, (name, content) in enumerate(images.items()):
        (root / name).write_bytes(content)
        records.append({"id": f"r{i}", "image": name, "conversations": TURNS})
    path = root / "train.json"
    path.write_text(json.dumps(records))
    return path


def test_good_images_read(tmp_path):
    path = write_records(tmp_path, {"a.png": png_bytes(), "b.png": png_bytes((8, 8))})
    dataset = ConversationDataset(path, tmp_path)
    assert [dataset[i].image.size for i in range(2)] == [(24, 16), (8, 8)]


@pytest.mark.parametrize("content, kind", [
    (b"this is a caption, not a picture\n", "UnidentifiedImageError"),
    (b"", "UnidentifiedImageError"),
    (png_bytes()[:-30], "OSError"),                   # PNGs cut short: verify() finds them
    (png_bytes()[:-5], "SyntaxError"),
], ids=["text", "empty", "truncated", "last-chunk-cut"])
def test_an_image_file_that_is_no_image_fails_before_training(tmp_path, content, kind):
    path = write_records(tmp_path, {"a.png": png_bytes(), "b.jpg": content})
    with pytest.raises(InputError) as err:
        RecordDataset(path, tmp_path)
    message = str(err.value)
    assert message.startswith(f"{path}: record 'r1': image file {tmp_path / 'b.jpg'} is not a readable "
                              f"image ({kind})")
    assert "\n" not in message


def test_only_the_sampled_records_images_are_opened(tmp_path, monkeypatch):
    path = write_records(tmp_path, {f"{i}.png": png_bytes() for i in range(6)})
    opened = []
    original = Image.open
    monkeypatch.setattr(Image, "open", lambda p, *a, **k: opened.append(p) or original(p, *a, **k))
    kept = read_records(path, tmp_path, max_samples=2, seed=1)
    assert len(kept) == 2 and sorted(opened) == sorted(r.image for r in kept)
