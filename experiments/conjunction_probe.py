"""Steps a from-scratch causal fusion needs for "is there a <colour> <kind>?".

    C=4 K=4 OCC=0.3 python experiments/conjunction_probe.py WIDTH LAYERS LR STEPS
    python experiments/conjunction_probe.py WIDTH LAYERS LR STEPS --features results/demo/models/bootstrap_clip

Ideal features (default): one token per grid cell, colour and kind one-hot plus noise,
C colours, K kinds, a share OCC of the 16 cells occupied. With --features: the frozen
patch tokens of that bootstrap CLIP over the demo world's training scenes, through a
fresh view merger. Then the question's colour and kind tokens, a query and EOS; a
linear Yes/No head on the EOS output; batch 128; held-out accuracy every 250 steps.
"""
import argparse
import json
import os
import random
import time

import torch
from torch import nn
from transformers import LlamaConfig, LlamaModel

CELLS = 16


def ideal_batch(b, gen, C, K, occ_share):
    occ = torch.rand(b, CELLS, generator=gen) < occ_share
    col = torch.randint(0, C, (b, CELLS), generator=gen)
    kind = torch.randint(0, K, (b, CELLS), generator=gen)
    qc, qk = torch.randint(0, C, (b,), generator=gen), torch.randint(0, K, (b,), generator=gen)
    pick = torch.randint(0, CELLS, (b,), generator=gen)
    rows = torch.arange(b)
    use = (torch.rand(b, generator=gen) < 0.5) & occ[rows, pick]     # half about a present object
    qc, qk = torch.where(use, col[rows, pick], qc), torch.where(use, kind[rows, pick], qk)
    y = ((col == qc[:, None]) & (kind == qk[:, None]) & occ).any(1).long()
    feat = torch.cat([nn.functional.one_hot(col, C) * occ[..., None],
                      nn.functional.one_hot(kind, K) * occ[..., None]], -1).float()
    return feat + 0.1 * torch.randn(feat.shape, generator=gen), torch.stack([qc, C + qk], 1), y


class WorldBatches:
    """Questions about the demo world's scenes over a bootstrap ViT's patch tokens."""

    def __init__(self, clip_folder, data="data/demo", scenes=3000, held=300):
        from vtscale.config import config_section
        from vtscale.data.conversations import load_image
        from vtscale.data.synth.vocab import COLORS, KINDS
        from vtscale.model.vision import build_clip, open_clip_config, patch_tokens, views_to_pixels
        from vtscale.model.config import VisionConfig
        import yaml
        vision = config_section(VisionConfig, yaml.safe_load(open("config/demo.yaml")), "model.vision")
        clip = build_clip(open_clip_config(vision, clip_folder, False), vision, clip_folder, True).eval()
        records = [json.loads(line) for line in open(f"{data}/scenes.jsonl")]
        self.train = [r for r in records if r["split"] == "train"][:scenes]
        self.held = [r for r in records if r["split"] != "train"][:held]
        self.colors, self.kinds = list(COLORS), list(KINDS)
        with torch.no_grad():
            def tokens(rs):
                return torch.cat([patch_tokens(clip.visual, views_to_pixels(
                    [load_image(f"{data}/{r['image']}").resize((vision.view_size,) * 2) for r in rs[i:i + 200]]))
                    for i in range(0, len(rs), 200)])
            self.train_tokens, self.held_tokens = tokens(self.train), tokens(self.held)
        self.grid, self.width = vision.patches_per_side, vision.width

    def batch(self, b, rng, held=False):
        records, tokens = (self.held, self.held_tokens) if held else (self.train, self.train_tokens)
        idx, q, y = [rng.randrange(len(records)) for _ in range(b)], [], []
        for i in idx:
            names = {(o["color"], o["kind"]) for o in records[i]["objects"]}
            c, k = rng.choice(sorted(names)) if rng.random() < 0.5 else (rng.choice(self.colors), rng.choice(self.kinds))
            q.append((self.colors.index(c), len(self.colors) + self.kinds.index(k)))
            y.append(int((c, k) in names))
        return tokens[idx], torch.tensor(q), torch.tensor(y)


class Probe(nn.Module):
    def __init__(self, width, layers, n_names, features, merger=None):
        super().__init__()
        heads = max(1, width // 32)
        cfg = LlamaConfig(vocab_size=n_names + 2, hidden_size=width, intermediate_size=2 * width,
                          num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                          max_position_embeddings=128, initializer_range=width ** -0.5)
        self.fusion = LlamaModel(cfg)
        nn.init.normal_(self.fusion.embed_tokens.weight, std=1.0)
        self.n_names, self.merger = n_names, merger
        self.inp = None if merger else nn.Linear(features, width)
        self.pos = None if merger else nn.Parameter(torch.randn(CELLS, width))
        self.head = nn.Linear(width, 2)

    def forward(self, feat, question):
        views = self.merger(feat) if self.merger else self.inp(feat) + self.pos
        ends = torch.tensor([self.n_names, self.n_names + 1]).expand(len(question), 2)
        x = torch.cat([views, self.fusion.embed_tokens(torch.cat([question, ends], 1))], 1)
        return self.head(self.fusion(inputs_embeds=x, use_cache=False).last_hidden_state[:, -1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("width", type=int)
    p.add_argument("layers", type=int)
    p.add_argument("lr", type=float)
    p.add_argument("steps", type=int)
    p.add_argument("--features", help="bootstrap CLIP folder: real patch tokens instead of ideal features")
    args = p.parse_args()
    torch.manual_seed(0)
    if args.features:
        from vtscale.model.vision import ViewMerger
        world = WorldBatches(args.features)
        n_names = len(world.colors) + len(world.kinds)
        model = Probe(world.width, args.layers, n_names, 0, ViewMerger(world.width, world.grid))
        rng = random.Random(1)
        test = world.batch(1000, random.Random(2), held=True)
        draw = lambda: world.batch(128, rng)
    else:
        C, K, occ = int(os.environ.get("C", 7)), int(os.environ.get("K", 6)), float(os.environ.get("OCC", 0.45))
        model = Probe(args.width, args.layers, C + K, C + K)
        gen = torch.Generator().manual_seed(1)
        test = ideal_batch(2000, torch.Generator().manual_seed(2), C, K, occ)
        draw = lambda: ideal_batch(128, gen, C, K, occ)
    opt = torch.optim.AdamW(model.parameters(), args.lr)
    start = time.time()
    for step in range(1, args.steps + 1):
        feat, question, y = draw()
        loss = nn.functional.cross_entropy(model(feat, question), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 250 == 0:
            with torch.no_grad():
                acc = (model(test[0], test[1]).argmax(-1) == test[2]).float().mean().item()
            share = test[2].float().mean().item()
            print(f"step {step}: held-out acc {acc:.3f} (majority {max(share, 1 - share):.3f}) "
                  f"{time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
