import json

import numpy as np
import pandas as pd
import pytest
import torch

from vtscale.errors import InputError
from vtscale.theory import divergence, stats


def naive_statistics(h_a, h_b):
    """O(n^2)-per-n loops straight from the definitions."""
    def cos(x, y):
        return max(0.0, float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y))))
    out = {k: [] for k in stats.STAT_NAMES}
    for n in range(1, len(h_a) + 1):
        out["D"].append(np.linalg.norm(sum(h_a[i] - h_b[i] for i in range(n))))
        out["psi_eq"].append(np.mean([cos(h_a[i], h_b[i]) for i in range(n)]))
        off = [(i, j) for i in range(n) for j in range(n) if i != j]
        if not off:
            for name in ("psi_cross_ab", "psi_cross_aa", "psi_aa", "psi_bb"):
                out[name].append(np.nan)
            continue
        out["psi_cross_ab"].append(np.mean([cos(h_a[i], h_b[j]) for i, j in off]))
        aa = np.mean([cos(h_a[i], h_a[j]) for i, j in off])
        bb = np.mean([cos(h_b[i], h_b[j]) for i, j in off])
        out["psi_cross_aa"].append(0.5 * (aa + bb))
        out["psi_aa"].append(aa)
        out["psi_bb"].append(bb)
    return {k: np.array(v) for k, v in out.items()}


def test_vectorised_statistics_match_naive_loops():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=16)
    h_a = rng.normal(size=(12, 16)) + 0.5 * shared     # a mix of positive and negative cosines
    h_b = rng.normal(size=(12, 16)) + 0.3 * shared
    fast, slow = stats.pair_statistics(h_a, h_b), naive_statistics(h_a, h_b)
    for name in stats.STAT_NAMES:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-10, atol=1e-12, equal_nan=True)
    assert np.isnan(fast["psi_cross_ab"][0]) and not np.isnan(fast["psi_cross_ab"][1])


def test_aggregate_counts_only_pairs_long_enough():
    rng = np.random.default_rng(1)
    long = stats.pair_statistics(rng.normal(size=(6, 4)), rng.normal(size=(6, 4)))
    short = stats.pair_statistics(rng.normal(size=(3, 4)), rng.normal(size=(3, 4)))
    agg = stats.aggregate([long, short])
    assert agg.count.tolist() == [2, 2, 2, 1, 1, 1]
    assert agg.mean["D"][4] == pytest.approx(long["D"][4])
    assert agg.mean["D"][1] == pytest.approx((long["D"][1] + short["D"][1]) / 2)
    assert agg.std["D"][5] == 0.0


def test_upsilon_balance_point_and_alpha():
    n = np.array([1.0, 2.0, 10.0])
    ups = stats.upsilon(n, np.array([0.5, 0.5, 0.5]), np.array([np.nan, 0.4, 0.4]),
                        np.array([np.nan, 0.3, 0.3]))
    np.testing.assert_allclose(ups, [0.5, 2 * 0.5 + 2 * 0.1, 10 * 0.5 + 90 * 0.1])
    n_b = stats.balance_point(0.5, 0.4, 0.3)
    assert n_b == pytest.approx(4.0)
    # α(n) = (β/2) log_n((1+n_b)/(n+n_b)) − β/2
    assert stats.alpha_of_n(np.array([8.0]), 4.0, 2.0)[0] == pytest.approx(np.log(5 / 12) / np.log(8) - 1)
    assert stats.alpha_of_n(np.array([8.0]), np.inf, 2.0)[0] == -1.0
    assert np.isnan(stats.alpha_of_n(np.array([1.0]), 4.0, 2.0)[0])


def test_lambda_fit_recovers_scale():
    ups = np.linspace(1, 50, 20)
    fit = stats.fit_lambda(3.5 * np.sqrt(ups), ups)
    assert fit.lam == pytest.approx(3.5, rel=1e-6)
    assert fit.r2 == pytest.approx(1.0)


# ---- end to end on a tiny Llama built in code ------------------------------------------

CHAT_TEMPLATE = ("{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} </s>{% endfor %}"
                 "{% if add_generation_prompt %}<assistant>{% endif %}")


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = ["the red circle is left of the blue square", "answer the question briefly",
              "a green triangle sits near two words", "you are a helpful assistant"] * 5
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=120, special_tokens=["<unk>", "<pad>", "</s>", "<system>", "<user>", "<assistant>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", pad_token="<pad>",
                                        eos_token="</s>")
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4,
                                         num_key_value_heads=4, max_position_embeddings=256))
    folder = tmp_path_factory.mktemp("tiny_llm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_pairs(path, count=5):
    rows = [{"system": "you are a helpful assistant" if i % 2 else "",
             "question": f"where is the red circle {i}",
             "chosen": "the red circle is left of the blue square " * (1 + i),
             "rejected": "a green triangle sits near two words"} for i in range(count)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_hidden_states_are_what_the_lm_head_reads(tiny_llm):
    from vtscale.model.causal_lm import load_causal_lm
    from vtscale.theory.hidden import branch_hidden_states
    model, tokenizer = load_causal_lm(str(tiny_llm), "theory.llms")
    prefix, branch = [3, 10, 11, 5], [12, 13, 14]
    (hidden,) = branch_hidden_states(model, 1, [prefix], [branch], 4, "test")
    with torch.no_grad():
        logits = model(torch.tensor([prefix + branch])).logits[0, len(prefix):]
    np.testing.assert_allclose(model.lm_head(torch.from_numpy(hidden)).detach().numpy(),
                               logits.numpy(), rtol=1e-4, atol=1e-5)
    # right padding in a batch does not change a sequence's states
    (padded, _) = branch_hidden_states(model, 1, [prefix, prefix + [7] * 6], [branch, branch], 4, "t")
    np.testing.assert_allclose(padded, hidden, rtol=1e-5, atol=1e-6)


def test_divergence_end_to_end_and_figures(tiny_llm, tmp_path):
    pairs = tmp_path / "dpo.jsonl"
    write_pairs(pairs)
    out = tmp_path / "theory" / "tiny"
    cfg = json.dumps({"theory": {"max_pairs": 4, "max_tokens": 12, "beta": 1.0, "batch_size": 3},
                      "seed": 0})
    assert divergence.main(["--cfg", cfg, "--llm", str(tiny_llm), "--pairs", str(pairs),
                            "--out-dir", str(out)]) == 0
    curves = pd.read_csv(out / "curves.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pairs_used"] == 4 and np.isfinite(summary["lambda"])
    assert curves["n"].tolist() == list(range(1, len(curves) + 1)) and len(curves) <= 12
    assert (curves["pairs"].diff().dropna() <= 0).all()
    both = curves[["psi_aa", "psi_bb"]].mean(axis=1)        # Fig 3 needs each branch's own
    np.testing.assert_allclose(curves["psi_cross_aa"].iloc[1:], both.iloc[1:], rtol=1e-6)
    finite_nb = curves.loc[curves["n"] > 1, "n_b"].replace([np.inf, -np.inf], np.nan).dropna()
    assert summary["n_b_median"] == pytest.approx(finite_nb.median())
    assert ((curves["psi_eq"] >= 0) & (curves["psi_eq"] <= 1)).all()
    with np.load(out / "cosines.npz") as cos:
        assert set(cos.files) == {"eq_ab", "cross_ab", "cross_aa"} and cos["eq_ab"].size > 0

    figs = tmp_path / "figures"
    assert divergence.main(["--figures", str(tmp_path / "theory"), "--llms", "tiny",
                            "--figure-dir", str(figs), "--cfg", cfg]) == 0
    from vtscale.theory.figures import FIGURES
    for name in FIGURES.values():
        assert (figs / name).read_bytes()[:4] == b"\x89PNG"


def test_bad_pair_record_names_file_line_and_field(tmp_path):
    from vtscale.data.dpo_pairs import load_pairs
    bad = tmp_path / "dpo.jsonl"
    bad.write_text('{"system": "", "question": "q", "chosen": "a", "rejected": "b"}\n'
                   '{"system": "", "question": "q", "chosen": "a"}\n')
    with pytest.raises(InputError, match=r"dpo\.jsonl:2.*'rejected'"):
        load_pairs(str(bad), 10, 0)
