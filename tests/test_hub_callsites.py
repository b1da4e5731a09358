"""Paper-profile loaders fail at the start with one line naming the id when offline."""

import pytest

from vtscale.errors import InputError


@pytest.fixture
def offline_empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_llm_loader_names_the_missing_model(offline_empty_cache):
    from vtscale.model.vlm import load_llm

    with pytest.raises(InputError) as err:
        load_llm("meta-llama/Llama-2-7b-chat-hf")
    message = str(err.value)
    assert "meta-llama/Llama-2-7b-chat-hf" in message and "\n" not in message
    assert "HF_HUB_OFFLINE" in message


def test_pretrained_clip_names_the_missing_weights(offline_empty_cache):
    from vtscale.model.config import VisionConfig
    from vtscale.model.vision import require_pretrained_clip

    cfg = VisionConfig(source="open_clip", name="ViT-L-14-336", pretrained="openai")
    with pytest.raises(InputError, match="timm/vit_large_patch14_clip_336.openai"):
        require_pretrained_clip(cfg)


def test_theory_llm_names_the_missing_model(offline_empty_cache):
    from vtscale.model.causal_lm import load_causal_lm

    with pytest.raises(InputError, match="Qwen/Qwen2-0.5B-Instruct"):
        load_causal_lm("Qwen/Qwen2-0.5B-Instruct", "theory.llms")
