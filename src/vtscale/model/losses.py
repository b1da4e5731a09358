"""The training objectives: stage 1's contrastive objective as a pure function of the
normalised embeddings; stages 2-3's next-token loss on the labelled answer tokens."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vtscale.model.chat import IGNORE

SHORT_ANSWER_TOKENS = 4     # a word, a number, Yes/No or an option letter, plus end of turn


def contrastive_objective(z_q: torch.Tensor, z_a: torch.Tensor, scale: torch.Tensor | float,
                          h_hat: torch.Tensor) -> dict[str, torch.Tensor]:
    """L = ½[CE(s·Z_q Z_aᵀ, I) + CE((s·Z_q Z_aᵀ)ᵀ, I)] + MSE(Ĥ Ĥᵀ, I).

    z_q, z_a: [B, d] L2-normalised question-group and answer embeddings; scale: s;
    h_hat: [B, q, d] L2-normalised fusion outputs at the query positions (q may be 0).
    """
    logits = scale * z_q @ z_a.T
    target = torch.arange(logits.shape[0], device=logits.device)
    contrastive = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    if h_hat.shape[1] == 0:
        identity = logits.new_zeros(())
    else:
        gram = h_hat @ h_hat.transpose(1, 2)
        eye = torch.eye(gram.shape[-1], device=gram.device, dtype=gram.dtype).expand_as(gram)
        identity = F.mse_loss(gram, eye)
    return {"loss": contrastive + identity, "contrastive": contrastive, "identity": identity}


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
                         keep: torch.Tensor) -> dict[str, torch.Tensor]:
    """Next-token cross-entropy on the labelled tokens (``labelled_logits``' output)."""
    per_token = F.cross_entropy(logits, targets, reduction="none")
    short = answer_lengths(keep)[keep] <= SHORT_ANSWER_TOKENS
    # Logged apart (NaN when a batch has none): one-word answers are what the
    # benchmarks ask for, and long captions and documents dominate the mean.
    return {"loss": per_token.mean(), "loss_short": per_token[short].mean().detach(),
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
