"""Stage-1 objective as a pure function of the normalised embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F


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
