"""vtscale stage1-retrieval (diagnostic): per question kind, is a stage-1 model's question
embedding nearest its own answer, on the images stage 2 holds out?"""

from __future__ import annotations

import json

from test_train_stages import fresh_accelerate_state, train_stage1, world_and_backbones  # noqa: F401 (fixtures)
from vtscale import cli
from vtscale.train.stage2_gate import split_by_image
from vtscale.data.conversations import read_records


def test_retrieval_is_measured_per_kind_on_the_held_out_images(world_and_backbones, tmp_path):
    world, backbones = world_and_backbones
    model = train_stage1(world, backbones, tmp_path)
    before = (model / "model.safetensors").read_bytes()
    out = tmp_path / "retrieval.json"
    assert cli.main(["stage1-retrieval", str(model), "--data", str(world / "conversations.json"),
                     "--image-root", str(world), "--held-out", "4", "--n", "4", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    _, held = split_by_image(read_records(world / "conversations.json", world), 4, 0)
    colours = {r.turns[0].answer for r in held}
    # the test world asks "What colour is the shape?" (kind color) and a yes/no question
    # outside the world's forms (kind other, skipped: not ranked)
    assert set(result["kinds"]) == {"color"}
    color = result["kinds"]["color"]
    assert color["questions"] == 4 and color["answers"] == len(colours)
    assert 0.0 <= color["accuracy"] <= 1.0 and color["majority"] >= 1 / len(colours)
    assert (model / "model.safetensors").read_bytes() == before
