"""The training objectives: stage 1's contrastive objective and its identity terms as
pure functions of the normalised embeddings; stages 2-3's next-token loss on the
labelled answer tokens."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vtscale.model.chat import IGNORE

SHORT_ANSWER_TOKENS = 4     # a word, a number, Yes/No or an option letter, plus end of turn


@dataclass(frozen=True)
class Stage1Objective:
    """How stage 1's loss is formed (``train.stage1``; defaults: the paper text's form)."""
    identity: str = "per_question"          # per_question | batch (the authors' code)
    answer_mask_sigma: float | None = None  # zero answer-embedding entries beyond mean ± σ·std
    answer_head: bool = True                # a fresh W_t after the text tower's projection


def contrastive_objective(z_q: torch.Tensor, z_a: torch.Tensor, scale: torch.Tensor | float,
                          identity: torch.Tensor) -> dict[str, torch.Tensor]:
    """L = ½[CE(s·Z_q Z_aᵀ, I) + CE((s·Z_q Z_aᵀ)ᵀ, I)] + identity.

    z_q, z_a: [G, d] L2-normalised question-group and answer embeddings; scale: s;
    identity: the identity term (``question_identity`` or ``batch_identity``).
    """
    logits = scale * z_q @ z_a.T
    target = torch.arange(logits.shape[0], device=logits.device)
    contrastive = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    return {"loss": contrastive + identity, "contrastive": contrastive, "identity": identity}


def question_identity(h_hat: torch.Tensor, group_sizes: list[int]) -> torch.Tensor:
    """Mean over question groups of MSE(Ĥ Ĥᵀ, I), Ĥ a group's query outputs (its EOS
    output left out). h_hat: [N, d] L2-normalised fused outputs, group after group;
    groups without queries (n = 1) do not count; 0 when no group has any."""
    groups = torch.split(h_hat, group_sizes)
    by_size: dict[int, list[torch.Tensor]] = {}
    for group in groups:
        if group.shape[0] > 1:
            by_size.setdefault(group.shape[0] - 1, []).append(group[:-1])
    counted = sum(map(len, by_size.values()))
    if not counted:
        return h_hat.new_zeros(())
    # groups of one size share one batched Gram matrix; weight count/total is exactly 1.0
    # when all groups have one size, which keeps the single-question loss bit for bit
    return sum(len(same) / counted * gram_identity_mse(torch.stack(same)) for same in by_size.values())


def batch_identity(h_hat: torch.Tensor) -> torch.Tensor:
    """MSE(Ĥ Ĥᵀ, I) over every fused output of the batch at once (queries and EOS of all
    question groups of all samples; the authors' code). h_hat: [N, d] L2-normalised."""
    return gram_identity_mse(h_hat)


def gram_identity_mse(h_hat: torch.Tensor) -> torch.Tensor:
    """MSE between the Gram matrix of the rows of h_hat ([..., q, d]) and the identity."""
    gram = h_hat @ h_hat.transpose(-1, -2)
    eye = torch.eye(gram.shape[-1], device=gram.device, dtype=gram.dtype).expand_as(gram)
    return F.mse_loss(gram, eye)


def mask_outliers(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """x with every entry outside mean ± sigma·std of all of x's entries set to 0; the
    bounds (unbiased std) carry no gradient. The authors' code does this to the answer
    embeddings of a batch before normalising them."""
    with torch.no_grad():
        std, mean = torch.std_mean(x)
        outside = (x < mean - sigma * std) | (x > mean + sigma * std)
    return x.masked_fill(outside, 0)


def labelled_logits(llm: nn.Module, embeds: torch.Tensor,
                    batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The causal LM on input embeddings ``embeds``: logits and targets at the labelled
    (answer + EOS) tokens of ``batch`` only, in row-major order, plus the [B, L-1] mask
    of those positions; the LM head runs on them alone, which keeps the vocab projection
    cheap."""
    device = embeds.device
    hidden = llm.get_decoder()(inputs_embeds=embeds, attention_mask=batch["llm_mask"].to(device),
                               use_cache=False).last_hidden_state
    labels = batch["labels"].to(device)[:, 1:]
    keep = labels != IGNORE
    logits = llm.get_output_embeddings()(hidden[:, :-1][keep]).float()
    return logits, labels[keep], keep


def generation_objective(logits: torch.Tensor, targets: torch.Tensor,
                         keep: torch.Tensor, weight: str = "token") -> dict[str, torch.Tensor]:
    """Next-token cross-entropy on the labelled tokens (``labelled_logits``' output),
    the mean over tokens (``weight="token"``, the paper's) or over answers (``"answer"``:
    each answer's tokens share one unit of weight, so a one-word answer counts as much
    as a caption of forty tokens)."""
    per_token = F.cross_entropy(logits, targets, reduction="none")
    lengths = answer_lengths(keep)[keep]
    short = lengths <= SHORT_ANSWER_TOKENS
    if weight == "answer":
        loss = (per_token / lengths).sum() / (1.0 / lengths).sum()
    else:
        loss = per_token.mean()
    # Logged apart (NaN when a batch has none): one-word answers are what the
    # benchmarks ask for, and long captions and documents dominate the mean.
    return {"loss": loss, "loss_short": per_token[short].mean().detach(),
            "loss_long": per_token[~short].mean().detach()}


def answer_lengths(labelled: torch.Tensor) -> torch.Tensor:
    """[B, L] bool (labelled positions) -> per position, the length of the labelled run
    it belongs to (one answer and its end-of-turn tokens); 0 where unlabelled."""
    flat = torch.cat([labelled, labelled.new_zeros(labelled.shape[0], 1)], dim=1).flatten()
    starts = flat & ~torch.cat([flat.new_zeros(1), flat[:-1]])
    run = torch.cumsum(starts.long(), 0) * flat
    sizes = torch.bincount(run)
    sizes[0] = 0
    return sizes[run].view(labelled.shape[0], -1)[:, :-1]
