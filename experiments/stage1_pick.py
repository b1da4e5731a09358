"""Does a stage-1 model's fused EOS embedding pick the right answer on benchmark rows?

    python experiments/stage1_pick.py results/demo/models/stage1 N

For POPE and MME the candidates are the text embeddings of "Yes" and "No"; for OCR-VQA
the demo world's words. N: the fused tokens stage 1 trained (train.stage1.n).
"""
import sys

import torch
import torch.nn.functional as F

from vtscale.data.sample import Sample, Turn
from vtscale.data.synth.vocab import WORDS
from vtscale.eval.prompts import build_prompt
from vtscale.eval.tsv import read_benchmark
from vtscale.model.vlm import VisionTokenModel

BENCHMARKS = [("DemoPOPE", "pope", ["Yes", "No"]), ("DemoMME", "mme", ["Yes", "No"]),
              ("DemoOCRVQA", "ocrvqa", list(WORDS))]


def main():
    model = VisionTokenModel.from_pretrained(sys.argv[1]).eval()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    for name, type_, candidates in BENCHMARKS:
        bench = read_benchmark(f"data/demo/benchmarks/{name}.tsv", name, type_)
        with torch.no_grad():
            z_a = F.normalize(model.answer_head(model.frozen_answer_embeddings(candidates)), dim=-1)
            right = 0
            for i in range(0, len(bench.rows), 64):
                rows = bench.rows[i:i + 64]
                samples = [Sample(r.index, r.load_image(), [Turn(build_prompt(r, type_), r.answers[0])]) for r in rows]
                fused = model.fuse(model.batch_builder.contrastive(samples, n=n, m=n)).view(len(rows), n, -1)
                z_q = F.normalize(model.query_head(fused[:, -1]), dim=-1)
                picks = (z_q @ z_a.T).argmax(-1).tolist()
                right += sum(candidates[p] == r.answers[0] for p, r in zip(picks, rows))
        print(f"{name}: {right}/{len(bench.rows)} = {right / len(bench.rows):.3f}")


if __name__ == "__main__":
    main()
