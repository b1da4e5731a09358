"""Stage 1's loss forms: the identity terms against naive loops, the answers' σ mask on a
concrete example, the default form against the single-question loss it replaced, and
the authors' form (both CLIP towers trained) taking an optimiser step."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from test_model_vlm import TINY_CLIP, TINY_MODEL, backbones, image, model, samples  # noqa: F401  (fixtures)
from vtscale.config import config_section
from vtscale.data.sample import Sample, Turn
from vtscale.model.config import ModelConfig
from vtscale.model.losses import Stage1Objective, batch_identity, mask_outliers, question_identity
from vtscale.model.vision import encode_text_eos
from vtscale.model.vlm import VisionTokenModel

AUTHORS = Stage1Objective(identity="batch", answer_mask_sigma=1.0, answer_head=False)
LONG_ANSWER = "the small green star is left of the big yellow circle and the red square is below it"


def unit_rows(count: int, dim: int, seed: int) -> torch.Tensor:
    return F.normalize(torch.randn(count, dim, generator=torch.Generator().manual_seed(seed)), dim=-1)


def naive_gram_mse(rows: torch.Tensor) -> float:
    errors = [(float(rows[i] @ rows[j]) - (i == j)) ** 2
              for i in range(len(rows)) for j in range(len(rows))]
    return sum(errors) / len(errors)


def test_batch_identity_is_one_gram_over_every_output_of_the_batch():
    h_hat = unit_rows(7, 5, seed=1)
    assert batch_identity(h_hat).item() == pytest.approx(naive_gram_mse(h_hat), rel=1e-6)


def test_question_identity_averages_groups_without_their_eos():
    h_hat = unit_rows(4 + 2 + 2 + 1, 5, seed=2)        # groups of n=4, m=2, m=2 and n=1
    sizes = [4, 2, 2, 1]
    starts = [0, 4, 6, 8]
    # the n=1 group has no queries and does not count
    expected = [naive_gram_mse(h_hat[s:s + size - 1]) for s, size in zip(starts, sizes) if size > 1]
    got = question_identity(h_hat, sizes)
    assert got.item() == pytest.approx(sum(expected) / len(expected), rel=1e-6)
    assert question_identity(h_hat[:2], [1, 1]).item() == 0.0


def test_answer_mask_zeroes_entries_beyond_one_sigma_of_the_batch():
    # mean 1, unbiased std sqrt(32/5) ≈ 2.53: 5 and -3 fall outside 1 ± 2.53
    x = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, -3.0]], requires_grad=True)
    masked = mask_outliers(x, 1.0)
    assert masked.tolist() == [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    masked.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]     # bounds carry no gradient
    assert torch.equal(mask_outliers(x, 2.0), x)                         # 1 ± 5.06 keeps all


def single_question_loss(model, batch) -> dict[str, torch.Tensor]:  # noqa: F811
    """The stage-1 loss before conversation samples (one question per sample, W_t head,
    identity per sample over its queries), written out as it was."""
    group = model.fuse(batch).view(batch["fusion_ids"].shape[0], -1, model.cfg.vision.width)
    z_q = F.normalize(model.query_head(group[:, -1]), dim=-1)
    answers = encode_text_eos(model.clip, batch["answer_ids"], batch["answer_eos"])
    z_a = F.normalize(model.answer_head(answers), dim=-1)
    logits = model.logit_scale.exp().clamp(max=100.0) * z_q @ z_a.T
    target = torch.arange(len(logits))
    contrastive = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    h_hat = F.normalize(group[:, :-1], dim=-1)
    if h_hat.shape[1] == 0:
        return {"contrastive": contrastive, "identity": torch.zeros(())}
    gram = h_hat @ h_hat.transpose(1, 2)
    eye = torch.eye(gram.shape[-1]).expand_as(gram)
    return {"contrastive": contrastive, "identity": F.mse_loss(gram, eye)}


@pytest.mark.parametrize("n", [1, 4, 8])
def test_default_form_gives_the_single_question_loss_bit_for_bit(model, n):  # noqa: F811
    model.trainable_parameters(1)
    batch = model.batch_builder.contrastive(samples(3), n=n, m=n)
    with torch.no_grad():
        got = model.contrastive_loss(batch)
        before = single_question_loss(model, batch)
    assert torch.equal(got["contrastive"], before["contrastive"])
    assert torch.equal(got["identity"], before["identity"])
    assert torch.equal(got["loss"], before["contrastive"] + before["identity"])


def test_authors_form_pairs_every_question_group_of_the_batch(model):  # noqa: F811
    data = samples(2, turns=2)
    for k, sample in enumerate(data):       # four different answers
        sample.turns = [Turn(t.question, f"{t.answer} {k} {j}") for j, t in enumerate(sample.turns)]
    batch = model.batch_builder.contrastive(data, n=4, m=2)
    assert batch["group_sizes"].tolist() == [4, 2, 4, 2]
    assert batch["answer_ids"].shape[0] == 4
    with torch.no_grad():
        out = model.contrastive_loss(batch, AUTHORS)
        h_hat = F.normalize(model.fuse(batch), dim=-1)
    assert h_hat.shape[0] == 12
    assert out["identity"].item() == pytest.approx(naive_gram_mse(h_hat), rel=1e-5)


def test_authors_form_trains_both_towers_and_the_extended_positions(backbones):  # noqa: F811
    torch.manual_seed(0)
    cfg = config_section(ModelConfig, {"model": TINY_MODEL}, "model")
    fresh = VisionTokenModel.from_config(cfg, vision_init=str(backbones / "clip"),
                                         llm_init=str(backbones / "llm"))
    params = fresh.trainable_parameters(1, train_vision=True, train_text=True, answer_head=False)
    assert not fresh.answer_head.weight.requires_grad
    data = [Sample(f"s{i}", image(i), [Turn("what is where?", f"{LONG_ANSWER} {i}"),
                                       Turn("is it red?", "yes" if i else "no")]) for i in range(2)]
    batch = fresh.batch_builder.contrastive(data, n=4, m=2)
    reach = int(batch["answer_eos"].max()) + 1
    assert reach > TINY_CLIP["text_cfg"]["context_length"]     # the answer uses extended positions
    before = {name: p.detach().clone() for name, p in fresh.named_parameters() if p.requires_grad}
    optimizer = torch.optim.SGD(params, lr=1.0)
    fresh.train()
    fresh.contrastive_loss(batch, AUTHORS)["loss"].backward()
    optimizer.step()
    changed = {name for name, p in fresh.named_parameters()
               if name in before and not torch.equal(p, before[name])}
    assert any(name.startswith("clip.visual.transformer.") for name in changed)
    assert any(name.startswith("clip.transformer.") for name in changed)
    assert {"clip.positional_embedding", "clip.token_embedding.weight", "query_head.weight"} <= changed
    extended = slice(TINY_CLIP["text_cfg"]["context_length"], reach)
    assert not torch.equal(fresh.clip.positional_embedding[extended],
                           before["clip.positional_embedding"][extended])
