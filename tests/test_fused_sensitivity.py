"""vtscale fused-sensitivity (diagnostic): the loss under edits of the fused tokens only."""

from __future__ import annotations

import math

import pytest
import torch

from test_model_vlm import backbones, model, samples  # noqa: F401 (fixtures)
from vtscale.data.sample import Sample
from vtscale.diagnostics.fused_sensitivity import sensitivity, shuffle_images
from vtscale.diagnostics.outputs import check_out
from vtscale.errors import InputError


def test_fused_sensitivity_edits_only_the_fused_tokens(model):  # noqa: F811
    batch_samples = samples(3, turns=2)
    losses = sensitivity(model, batch_samples, n=4, m=2)
    single = model.batch_builder.generation([Sample(s.id, s.image, s.turns[:1]) for s in batch_samples], 4, 2)
    with torch.no_grad():
        plain = model.generation_loss(single)["loss"].item()
    assert losses["normal"] == pytest.approx(plain, rel=1e-5)
    assert all(math.isfinite(v) for v in losses.values())
    assert losses["zero"] != pytest.approx(losses["normal"], abs=1e-6)


def test_shuffle_moves_whole_samples():
    fused = torch.arange(3 * 4 * 2, dtype=torch.float).view(12, 2)   # 3 samples x 4 tokens
    moved = shuffle_images(fused, 3).view(3, 4, 2)
    assert torch.equal(moved[1], fused.view(3, 4, 2)[0]) and torch.equal(moved[0], fused.view(3, 4, 2)[2])


@pytest.mark.parametrize("name", ["scores.csv", "DemoPOPE.scores.json", "DemoPOPE.preds.tsv"])
def test_diagnostics_never_write_pipeline_score_files(tmp_path, name):
    with pytest.raises(InputError, match=f"--out .*{name}: a pipeline score file"):
        check_out(tmp_path / name)
