"""Paper-profile shapes and parameter counts on the meta device (no weights)."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from PIL import Image

from vtscale.config import config_section
from vtscale.data.sample import Sample, Turn
from vtscale.errors import ConfigError
from vtscale.model import info
from vtscale.model.config import ModelConfig


@pytest.fixture(scope="module")
def paper(repo_root):
    config = yaml.safe_load((repo_root / "config" / "paper.yaml").read_text())
    cfg = config_section(ModelConfig, config, "model")
    return cfg, info.build_meta_model(cfg)


def test_paper_config_values(paper):
    cfg, _ = paper
    assert (cfg.vision.source, cfg.vision.name, cfg.vision.pretrained) == ("open_clip", "ViT-L-14-336", "openai")
    assert cfg.llm.source == "meta-llama/Llama-2-7b-chat-hf"
    assert cfg.hd_views == 9 and cfg.fusion.layers == 20


def test_paper_shapes_on_meta(paper):
    cfg, model = paper
    pixels = torch.empty(10, 3, 336, 336, device="meta")
    patches = info.patch_tokens(model.clip.visual, pixels)
    assert tuple(patches.shape) == (10, 576, 1024)
    assert tuple(model.view_tokens(pixels).shape) == (10, 145, 1024)
    assert cfg.max_view_tokens == 1450
    assert model.fusion.config.hidden_size == 1024 and model.fusion.config.num_attention_heads == 16
    assert model.fusion.config.intermediate_size == 4096
    assert model.llm.config.hidden_size == 4096
    assert tuple(model.projection.weight.shape) == (4096, 1024)


def test_paper_fusion_forward_on_meta_gives_n_plus_m_fused_tokens(paper):
    _, model = paper
    sample = Sample("big", Image.new("RGB", (2000, 2000)), [Turn("what is it?", "a"), Turn("and?", "b")])
    batch = model.batch_builder.fusion_inputs([sample.image], [[t.question for t in sample.turns]], 256, 8)
    assert int(batch["fusion_is_view"].sum()) == 1450
    fused = model.fuse(batch)
    assert tuple(fused.shape) == (256 + 8, 1024)


def test_paper_parameter_counts(paper):
    _, model = paper
    counts = info.parameter_counts(model)
    assert counts["llm"] == 6_738_415_616                       # Llama-2-7B
    assert counts["vision_encoder"] == 304_293_888              # open_clip ViT-L-14-336 visual
    per_layer = 4 * 1024 ** 2 + 3 * 1024 * 4096 + 2 * 1024
    assert counts["fusion"] == 20 * per_layer + (49408 + 767) * 1024 + 1024
    assert counts["view_merger"] == 1024 * 1024 * 9 + 2 * 1024 + 1024
    assert counts["projection"] == 1024 * 4096
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")


def test_model_info_cli_prints_counts(repo_root, tmp_path, capsys):
    out = tmp_path / "info.json"
    assert info.main(["--config", str(repo_root / "config" / "paper.yaml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "6,738,415,616" in printed and "1450" in printed
    assert out.exists()


def test_demo_config_builds_from_sizes(repo_root):
    config = yaml.safe_load((repo_root / "config" / "demo.yaml").read_text())
    described = info.describe(config)
    assert described["tokens"]["tokens_per_view"] == 17          # 224 px / 28 -> 8x8 -> 4x4 + newline
    assert described["llm_hidden_size"] == config["model"]["llm"]["hidden_size"] == 128


@pytest.mark.parametrize("profile", ["tiny", "demo"])
def test_model_info_counts_the_text_tower_bootstrap_clip_trains(repo_root, profile, monkeypatch):
    """model-info builds a bootstrap vision config from its sizes; bootstrap-clip must
    train exactly that CLIP, or the counts describe another model."""
    import open_clip
    from vtscale.train import bootstrap_clip

    config = yaml.safe_load((repo_root / "config" / f"{profile}.yaml").read_text())
    cfg = config_section(ModelConfig, config, "model")
    counts, meta = info.describe(config)["parameters"], info.build_meta_model(cfg)
    built, real_clip = {}, open_clip.model.CLIP

    def stop_after_building(**kwargs):
        built["clip"] = real_clip(**kwargs)
        raise SystemExit("built")

    monkeypatch.setattr(bootstrap_clip.open_clip.model, "CLIP", stop_after_building)
    monkeypatch.setattr(bootstrap_clip, "description_pairs", lambda *args: [])
    payload = json.dumps({"seed": 0, "bootstrap": config["bootstrap"], "model": config["model"]})
    with pytest.raises(SystemExit, match="built"):
        bootstrap_clip.main(["--cfg", payload, "--descriptions", "-", "--image-root", ".",
                             "--out", "-", "--ckpt-dir", "-"])
    clip = built["clip"]
    vision = sum(p.numel() for p in clip.visual.parameters())
    text = sum(p.numel() for p in clip.parameters()) - vision - 1        # less logit_scale
    extended = (cfg.vision.text_context - clip.context_length) * cfg.vision.width  # VLM's longer context
    assert counts["vision_encoder"] == vision
    assert counts["clip_text_tower"] == text + extended
    assert len(meta.clip.transformer.resblocks) == len(clip.transformer.resblocks)


def test_bad_model_config_names_the_key():
    with pytest.raises(ConfigError, match="model.fusion.layerz"):
        config_section(ModelConfig, {"model": {"fusion": {"layerz": 2}}}, "model")
    with pytest.raises(ConfigError, match="model.fusion.max_tokens"):
        config_section(ModelConfig, {"model": {"fusion": {"max_tokens": 0}}}, "model")
