"""VisionTokenModel on tiny backbones built in code (no downloads)."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from vtscale.config import config_section
from vtscale.data.sample import Sample, Turn
from vtscale.errors import ConfigError, InputError
from vtscale.model.chat import IGNORE
from vtscale.model.chat_template import CHATML
from vtscale.model.config import ModelConfig
from vtscale.model.folder import TrainedSetting, read_trained_setting
from vtscale.model.losses import (SHORT_ANSWER_TOKENS, answer_lengths, contrastive_objective,
                                  question_identity)
from vtscale.model.setting import Setting
from vtscale.model.vlm import VisionTokenModel

SENTENCES = [
    "what colour is the square? the square is red.",
    "how many circles are there? there are three circles.",
    "is there a blue triangle? yes. no.",
    "describe the image in detail. a small green star left of a big yellow circle.",
]
TINY_CLIP = {
    "embed_dim": 24,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
TINY_MODEL = {
    "vision": {"source": "bootstrap", "name": "tiny", "view_size": 32, "patch_size": 8,
               "width": 32, "layers": 1, "heads": 2, "mlp_ratio": 2.0, "text_context": 40},
    "hd_views": 4,
    "fusion": {"layers": 1, "max_tokens": 8},
    "llm": {"source": "bootstrap", "hidden_size": 48, "layers": 2, "heads": 2, "intermediate_size": 64},
}


def make_tokenizer() -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<pad>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(SENTENCES * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<|im_end|>",
                                   bos_token="<|im_start|>")
    fast.chat_template = CHATML
    return fast


@pytest.fixture(scope="module")
def backbones(tmp_path_factory):
    root = tmp_path_factory.mktemp("backbones")
    torch.manual_seed(0)
    clip = open_clip.model.CLIP(**TINY_CLIP)
    (root / "clip").mkdir()
    (root / "clip" / "open_clip_config.json").write_text(json.dumps(TINY_CLIP))
    save_file({k: v.contiguous() for k, v in clip.state_dict().items()},
              str(root / "clip" / "open_clip_model.safetensors"))
    tokenizer = make_tokenizer()
    llm = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=48, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id))
    llm.save_pretrained(root / "llm")
    tokenizer.save_pretrained(root / "llm")
    return root


@pytest.fixture(scope="module")
def model(backbones):
    torch.manual_seed(0)
    cfg = config_section(ModelConfig, {"model": TINY_MODEL}, "model")
    return VisionTokenModel.from_config(cfg, vision_init=str(backbones / "clip"),
                                        llm_init=str(backbones / "llm"))


def image(seed: int, size=(48, 40)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def samples(count: int = 3, turns: int = 1) -> list[Sample]:
    return [Sample(id=f"s{i}", image=image(i, (48 + 16 * i, 40)),
                   turns=[Turn(f"is the square red number {k}?", "yes the square is red.")
                          for k in range(turns)])
            for i in range(count)]


def test_contrastive_objective_matches_hand_computed_2x2():
    z_q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_a = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    s = 2.0
    # logits = s * [[1, .6], [0, .8]]; rows: CE(row0, 0), CE(row1, 1); columns likewise
    row0 = -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(1.2)))
    row1 = -math.log(math.exp(1.6) / (math.exp(0.0) + math.exp(1.6)))
    col0 = -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(0.0)))
    col1 = -math.log(math.exp(1.6) / (math.exp(1.2) + math.exp(1.6)))
    contrastive = 0.5 * ((row0 + row1) / 2 + (col0 + col1) / 2)
    h_hat = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])   # two queries (gram off-diagonal 0.6), EOS
    identity = (0.6 ** 2 * 2) / 4
    out = contrastive_objective(z_q, z_a, s, question_identity(h_hat, [3]))
    assert out["contrastive"].item() == pytest.approx(contrastive, rel=1e-6)
    assert out["identity"].item() == pytest.approx(identity, rel=1e-6)
    assert out["loss"].item() == pytest.approx(contrastive + identity, rel=1e-6)


def test_contrastive_loss_runs_and_trains_only_stage1_parts(model):
    params = model.trainable_parameters(1)
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(n.startswith("fusion.") for n in names) and "logit_scale" in names
    assert not any(n.startswith(("llm.", "clip.", "projection")) for n in names)
    batch = model.batch_builder.contrastive(samples(3), n=4, m=4)
    out = model.contrastive_loss(batch)
    assert set(out) == {"loss", "contrastive", "identity"}
    out["loss"].backward()
    assert all(p.grad is not None for p in model.merger.parameters())
    assert model.query_head.weight.grad is not None
    model.zero_grad(set_to_none=True)
    assert len(params) == len([p for p in model.parameters() if p.requires_grad])


def test_answer_lengths_measure_each_labelled_run_within_its_row():
    labelled = torch.tensor([[0, 1, 1, 0, 1, 1], [1, 1, 1, 1, 0, 1]]).bool()
    assert answer_lengths(labelled).tolist() == [[0, 2, 2, 0, 2, 2], [4, 4, 4, 4, 0, 1]]


def test_generation_loss_splits_short_and_long_answers(model):
    sample = samples(1)[0]
    sample.turns = [Turn("is it red?", "yes"), Turn("describe it.", "a red square " * 6)]
    batch = model.batch_builder.generation([sample], n=2, m=1)
    with torch.no_grad():
        out = model.generation_loss(batch)
    keep = batch["labels"][:, 1:] != IGNORE
    short = (answer_lengths(keep)[keep] <= SHORT_ANSWER_TOKENS).float()
    assert 0 < short.sum() < len(short)
    mixed = (out["loss_short"] * short.sum() + out["loss_long"] * (len(short) - short.sum())) / len(short)
    assert out["loss"].item() == pytest.approx(mixed.item(), rel=1e-5)


def test_answer_weighted_loss_gives_each_answer_one_unit_of_weight(model):
    sample = samples(1)[0]
    sample.turns = [Turn("is it red?", "yes"), Turn("describe it.", "a red square " * 6)]
    batch = model.batch_builder.generation([sample], n=2, m=1)
    with torch.no_grad():
        logits, targets, keep = model.answer_logits(batch)
        by_answer = model.generation_loss(batch, weight="answer")["loss"]
    per_token = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    lengths = answer_lengths(keep)[keep]
    short = lengths <= SHORT_ANSWER_TOKENS
    # two answers: the mean of the short answer's mean and the caption's mean
    expected = (per_token[short].mean() + per_token[~short].mean()) / 2
    assert by_answer.item() == pytest.approx(expected.item(), rel=1e-5)
    assert by_answer.item() != pytest.approx(model.generation_loss(batch)["loss"].item(), rel=1e-3)


def test_llm_gets_no_gradient_and_stays_unchanged(model):
    params = model.trainable_parameters(2)
    before = {k: v.clone() for k, v in model.llm.state_dict().items()}
    fusion_before = model.fusion.layers[0].mlp.up_proj.weight.detach().clone()
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    model.train()
    loss = model.generation_loss(model.batch_builder.generation(samples(2, turns=2), n=4, m=2))["loss"]
    loss.backward()
    assert all(p.grad is None for p in model.llm.parameters())
    assert all(not p.requires_grad for p in model.llm.parameters())
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    model.eval()
    for key, value in model.llm.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not torch.equal(model.fusion.layers[0].mlp.up_proj.weight, fusion_before)


def test_labels_cover_answers_and_eos_only(model):
    batch = model.batch_builder.generation(samples(2, turns=2), n=4, m=2)
    tok = model.llm_tokenizer
    for i in range(2):
        keep = batch["labels"][i] != IGNORE
        labelled = tok.decode(batch["llm_ids"][i][keep])
        assert labelled == "yes the square is red.<|im_end|>" * 2
        assert torch.equal(batch["labels"][i][keep], batch["llm_ids"][i][keep])
        # n fused slots before question 1, m before question 2
        fused = batch["llm_is_fused"][i].nonzero().flatten().tolist()
        assert len(fused) == 6
        ids = batch["llm_ids"][i].tolist()
        text_after = [tok.decode(ids[p + 1: p + 4]) for p in (fused[3], fused[5])]
        assert all(t.startswith("is the square") for t in text_after)


def test_no_question_drops_exactly_the_question_tokens(model):
    data = samples(2, turns=2)
    with_q = model.batch_builder.generation(data, n=4, m=2, use_question=True)
    without = model.batch_builder.generation(data, n=4, m=2, use_question=False)
    tok = model.fusion_tokenizer
    for i, sample in enumerate(data):
        full = with_q["fusion_ids"][i][with_q["fusion_mask"][i].bool()].tolist()
        short = without["fusion_ids"][i][without["fusion_mask"][i].bool()].tolist()
        question_tokens = sum(len(tok.encode(t.question)) for t in sample.turns)
        assert len(full) - len(short) == question_tokens
        for t in sample.turns:   # remove each question's tokens: the rest must match exactly
            q = tok.encode(t.question)
            start = next(j for j in range(len(full)) if full[j:j + len(q)] == q)
            full = full[:start] + full[start + len(q):]
        assert full == short
    assert torch.equal(with_q["llm_ids"], without["llm_ids"])   # the LLM still sees the question


def test_fused_positions_are_queries_then_eos(model):
    batch = model.batch_builder.generation(samples(1, turns=2), n=4, m=2)
    ids = batch["fusion_ids"][0][batch["fused_pos"]].tolist()
    q = model.fusion_tokenizer.query_ids(3)
    eos = model.fusion_tokenizer.eos_id
    assert ids == q + [eos] + q[:1] + [eos]


def test_batched_generation_equals_one_by_one(model):
    model.eval()
    images = [image(10 + i, (40 + 20 * i, 48 - 4 * i)) for i in range(3)]
    questions = ["is the square red?", "how many circles are there in this picture?", "describe"]
    batched = model.generate(images, questions, n=4, m=2, max_new_tokens=6)
    single = [model.generate([im], [q], n=4, m=2, max_new_tokens=6)[0]
              for im, q in zip(images, questions)]
    assert batched == single
    assert all(isinstance(t, str) for t in batched)


def test_save_load_round_trip(model, tmp_path):
    model.eval()
    model.save_pretrained(tmp_path / "m", trained_for=TrainedSetting.for_stage(3, Setting(4, 2, False)))
    assert read_trained_setting(tmp_path / "m") == TrainedSetting(3, Setting(4, 2, False), "without_question")
    loaded = VisionTokenModel.from_pretrained(tmp_path / "m").eval()
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    batch = model.batch_builder.generation(samples(2), n=4, m=2)
    with torch.no_grad():
        assert torch.equal(model.generation_loss(batch)["loss"], loaded.generation_loss(batch)["loss"])
    imgs, qs = [image(1)], ["is the square red?"]
    assert model.generate(imgs, qs, 4, 2, max_new_tokens=5) == loaded.generate(imgs, qs, 4, 2, max_new_tokens=5)


@pytest.mark.parametrize("n, m, key", [(2, 4, "m: 4 is more than its n (2)"), (0, 0, "n: 0 is less than 1"),
                                       (16, 2, "n: 16 is more than model.fusion.max_tokens (8)")])
def test_bad_token_counts_name_the_key(model, n, m, key):
    with pytest.raises(ConfigError, match=re.escape(key)):
        model.batch_builder.generation(samples(1), n=n, m=m)


def test_empty_turns_names_the_sample(model):
    bad = [Sample(id="scene_00042", image=image(0), turns=[])]
    with pytest.raises(InputError, match="scene_00042"):
        model.batch_builder.generation(bad, n=4, m=2)
    with pytest.raises(InputError, match="scene_00042"):
        model.batch_builder.contrastive(bad, n=4, m=4)


def test_device_property_and_to(model):
    assert model.device == torch.device("cpu")
    assert model.to("cpu") is model


def test_projected_tokens_start_at_the_llm_embedding_scale(backbones):
    """Fused tokens enter the frozen LLM at the scale of its own embeddings."""
    model = VisionTokenModel.from_config(config_section(ModelConfig, {"model": TINY_MODEL}, "model"),
                                         vision_init=str(backbones / "clip"),
                                         llm_init=str(backbones / "llm"))
    batch = model.batch_builder.generation(samples(2), n=4, m=2)
    with torch.no_grad():
        fused = model.projection(model.fuse(batch))
        embeddings = model.llm.get_input_embeddings().weight
    ratio = fused.pow(2).mean().sqrt() / embeddings.pow(2).mean().sqrt()
    assert 0.5 < ratio.item() < 2.0


def test_question_and_query_embeddings_start_at_the_view_token_scale(backbones):
    """Text and query tokens enter the fusion module as large as the view tokens, so the
    attention outputs over the views do not drown them (transformers' 0.02 init would)."""
    model = VisionTokenModel.from_config(config_section(ModelConfig, {"model": TINY_MODEL}, "model"),
                                         vision_init=str(backbones / "clip"),
                                         llm_init=str(backbones / "llm"))
    batch = model.batch_builder.generation(samples(2), n=4, m=2)
    with torch.no_grad():
        views = model.view_tokens(batch["pixels"])
        text = model.fusion.embed_tokens(batch["fusion_ids"][~batch["fusion_is_view"]])
    ratio = text.pow(2).mean().sqrt() / views.pow(2).mean().sqrt()
    assert 0.3 < ratio.item() < 3.0


def test_fusion_weights_start_at_unit_gain_for_their_width(model):
    """std = width^-0.5, so attention logits start near unit scale at any fusion width."""
    weight = model.fusion.layers[0].self_attn.q_proj.weight
    assert weight.std().item() == pytest.approx(model.cfg.vision.width ** -0.5, rel=0.15)


def test_model_saved_without_a_setting_records_none(model, tmp_path):
    model.save_pretrained(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "vtscale_model.json").read_text())["trained_for"] is None
    assert read_trained_setting(tmp_path / "m") is None


def test_llm_inputs_put_the_projected_tokens_in_the_fused_slots(model):
    batch = model.batch_builder.generation(samples(2, turns=2), n=4, m=2)
    with torch.no_grad():
        embeds = model.llm_inputs(batch)
        fused = model.projection(model.fuse(batch))
        tokens = model.token_embeddings(batch)
    slots = batch["llm_is_fused"]
    assert torch.equal(embeds[slots], fused) and torch.equal(embeds[~slots], tokens[~slots])


def test_batches_follow_the_configured_chat_format(model):
    llm = dataclasses.replace(model.cfg.llm, chat_format="llama-2-vision")
    builder = dataclasses.replace(model.batch_builder, cfg=dataclasses.replace(model.cfg, llm=llm))
    tok = model.llm_tokenizer
    train = builder.generation(samples(1, turns=2), n=4, m=2)
    prompt = builder.generation_prompt([image(0)], ["is the square red?"], n=4, m=2)
    assert tok.decode(train["llm_ids"][0]).count("[/INST]") == 2
    assert tok.decode(prompt["llm_ids"][0]).endswith("[/INST]")
    assert "<|im_start|>" not in tok.decode(train["llm_ids"][0])
