"""Training data per stage: stage 1 (contrastive) takes either every question of every
conversation as one sample (``train.stage1.samples: question``) or whole conversations
(``conversation``, as the authors' code), each question's answer its contrastive target;
stages 2 and 3 take whole conversations. Optionally (``train.<stage>.cache_views``) the
frozen vision tower's patch tokens are computed once per image instead of once per step.

Stage 1 keeps the CLIP towers frozen by default (the paper trains both,
``train.stage1.train_vision_tower/train_text_tower``); stages 2 and 3 train the ViT in
the paper and may keep it frozen in the demo. A long demo stage revisits its few
thousand images for many epochs (a from-scratch fusion needs tens of thousands of
questions of one kind to learn a lookup; docs/demo.md), and the cache turns each
revisit into a dictionary lookup. The paper's stages see each image about once, so
there the cache stays off.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from vtscale.data.conversations import Record, load_image, read_records
from vtscale.data.sample import Sample, Turn
from vtscale.errors import InputError
from vtscale.model.setting import Setting, drawn_setting


class QuestionDataset(Dataset):
    """One item per (conversation, question): the image path and that single turn."""

    def __init__(self, path: str | Path, image_root: str | Path,
                 max_samples: int | None = None, seed: int = 0):
        records = read_records(path, image_root, max_samples, seed)
        self.items = [(record, k) for record in records for k in range(len(record.turns))]
        if not self.items:
            raise InputError(f"{path}: no questions")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Record, int]:
        return self.items[index]


class FrozenPatchCache:
    """Patch tokens of each image under a frozen vision tower, computed at first use
    (all misses of a batch in one forward pass) and kept on the CPU."""

    def __init__(self, model):
        if any(p.requires_grad for p in model.clip.visual.parameters()):
            raise ValueError("FrozenPatchCache needs a frozen vision tower")
        self.model = model
        self.store: dict[Path, torch.Tensor] = {}

    def __call__(self, paths: list[Path]) -> list[torch.Tensor]:
        missing = list(dict.fromkeys(p for p in paths if p not in self.store))
        if missing:
            tokens = self.model.frozen_patch_tokens([load_image(p) for p in missing])
            self.store.update(zip(missing, (t.cpu() for t in tokens)))
        return [self.store[p] for p in paths]


class FrozenAnswerCache:
    """CLIP text-tower embeddings of each answer text under a frozen text tower,
    computed at first use and kept on the CPU."""

    def __init__(self, model):
        if any(p.requires_grad for p in model.text_tower_parameters()):
            raise ValueError("FrozenAnswerCache needs a frozen text tower")
        self.model = model
        self.store: dict[str, torch.Tensor] = {}

    def __call__(self, answers: list[str]) -> torch.Tensor:
        missing = list(dict.fromkeys(a for a in answers if a not in self.store))
        if missing:
            self.store.update(zip(missing, self.model.frozen_answer_embeddings(missing).cpu()))
        return torch.stack([self.store[a] for a in answers])


class ContrastiveCollate:
    """Records and the turns of each to use -> a stage-1 batch (``setting.n`` fused tokens
    for a sample's first question, ``setting.m`` for each later one); with the caches, the
    frozen towers' outputs replace the images and answer texts."""

    def __init__(self, model, setting: Setting, cache: FrozenPatchCache | None = None,
                 batch_ns: tuple[int, ...] = ()):
        self.model, self.setting, self.cache, self.batch_ns = model, setting, cache, batch_ns
        text_frozen = not any(p.requires_grad for p in model.text_tower_parameters())
        self.answers = FrozenAnswerCache(model) if cache is not None and text_frozen else None

    def batch(self, records: list[Record], turns: list[list[Turn]]) -> dict[str, torch.Tensor]:
        build = self.model.batch_builder.contrastive
        s = drawn_setting(self.setting, self.batch_ns, [r.id for r in records])
        if self.cache is None:
            samples = [Sample(r.id, load_image(r.image), ts) for r, ts in zip(records, turns)]
            return build(samples, s.n, s.m)
        samples = [Sample(r.id, None, ts) for r, ts in zip(records, turns)]
        batch = build(samples, s.n, s.m, patches=self.cache([r.image for r in records]))
        if self.answers is not None:
            batch["answer_embeds"] = self.answers([t.answer for ts in turns for t in ts])
        return batch


class QuestionCollate(ContrastiveCollate):
    """(record, k) items -> a batch of single-question samples."""

    def __call__(self, items: list[tuple[Record, int]]) -> dict[str, torch.Tensor]:
        return self.batch([r for r, _ in items], [[r.turns[k]] for r, k in items])


class ConversationContrastiveCollate(ContrastiveCollate):
    """Records -> a batch of whole conversations, one contrastive pair per question."""

    def __call__(self, records: list[Record]) -> dict[str, torch.Tensor]:
        return self.batch(records, [list(r.turns) for r in records])


class GenerationCollate:
    """Samples -> a stage-2/3 generation batch at ``setting`` (or at an n of
    ``batch_ns`` drawn per batch)."""

    def __init__(self, model, setting: Setting, batch_ns: tuple[int, ...] = ()):
        self.model, self.setting, self.batch_ns = model, setting, batch_ns

    def __call__(self, samples: list[Sample], patches: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        s = drawn_setting(self.setting, self.batch_ns, [x.id for x in samples])
        return self.model.batch_builder.generation(samples, s.n, s.m, s.use_question, patches=patches)


class CachedConversationCollate(GenerationCollate):
    """Records -> a stage-2/3 generation batch on cached patch tokens."""

    def __init__(self, model, setting: Setting, cache: FrozenPatchCache, batch_ns: tuple[int, ...] = ()):
        super().__init__(model, setting, batch_ns)
        self.cache = cache

    def __call__(self, records: list[Record]) -> dict[str, torch.Tensor]:
        samples = [Sample(r.id, None, list(r.turns)) for r in records]
        return super().__call__(samples, self.cache([r.image for r in records]))
