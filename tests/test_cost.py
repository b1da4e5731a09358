import json
import math
import random

import numpy as np
import open_clip
import pandas as pd
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from vtscale.analysis import cost, cost_count, cost_gpu, cost_measure, cost_report, report
from vtscale.analysis.config import CostConfig
from vtscale.config import config_section
from vtscale.errors import ConfigError, InputError
from vtscale.model.chat_template import CHATML

# small open_clip + Llama sizes standing in for the paper model (same code path, meta device)
SMALL_PAPER_MODEL = {
    "vision": {"source": "open_clip", "name": "ViT-B-32", "pretrained": "openai", "view_size": 224,
               "patch_size": 32, "width": 768, "layers": 12, "heads": 12, "mlp_ratio": 4.0},
    "hd_views": 1, "fusion": {"layers": 1},
    "llm": {"source": "no-such-llm-offline", "hidden_size": 64, "layers": 2, "heads": 4,
            "intermediate_size": 128, "vocab_size": 100, "chat_format": "llama-2-vision"},
}
TINY_CLIP = {"embed_dim": 24,
             "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
TINY_MODEL = {"vision": {"source": "bootstrap", "name": "tiny", "view_size": 32, "patch_size": 8,
                         "width": 32, "layers": 1, "heads": 2, "mlp_ratio": 2.0, "text_context": 40},
              "hd_views": 4, "fusion": {"layers": 1, "max_tokens": 8},
              "llm": {"source": "bootstrap", "hidden_size": 48, "layers": 2, "heads": 2,
                      "intermediate_size": 64}}
GPU_COLUMNS = ["gpu_util_pct", "peak_memory_gib", "mean_memory_gib"]
MEASURED_COLUMNS = ["profile", "n", "m", "tflops", "tflops_vision_fusion", "tflops_llm", "tmacs",
                    "thop_tmacs", "thop_tmacs_vision_fusion", "thop_tmacs_llm", "llm_prompt_tokens",
                    "device", "images",
                    "new_tokens", "ttft_ms", "prefill_ms", "decode_tokens_per_s", *GPU_COLUMNS]


class LinearsAndAttention(nn.Module):
    """Two Linear layers around an nn.MultiheadAttention, which thop cannot see into."""

    def __init__(self):
        super().__init__()
        self.up = nn.Linear(6, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.act = nn.SiLU()
        self.down = nn.Linear(8, 3, bias=False)

    def forward(self, x):
        h = self.up(x)
        return self.down(self.act(self.attn(h, h, h)[0]))


def test_thop_counts_linear_macs_and_nothing_it_has_no_rule_for():
    module = LinearsAndAttention().eval()
    keys = set(module.state_dict())
    macs, _ = cost_count.thop_macs(module, (torch.randn(2, 5, 6),))
    tokens = 2 * 5
    assert macs == tokens * 6 * 8 + tokens * 8 * 3      # up + down; attention and SiLU count 0
    assert set(module.state_dict()) == keys              # no thop counter buffers left behind
    assert not module.training


# The Llama-2 prompt around the question in llama-2-vision: <s>, the system piece, [/INST]
LLAMA2_VISION_FIXED = 1 + 46 + 4


def test_llm_counts_match_the_llama_formulas():
    model = cost.build_paper_meta_model(SMALL_PAPER_MODEL)
    image = Image.new("RGB", (448, 224), "white")
    d, ff, layers, vocab = 64, 128, 2, 100
    for n in (1, 5):
        batch = cost_count.generation_batch(model, image, "a b c", n, 1)
        flops = cost_count.count_prefill_flops(model, batch)
        thop = cost_count.count_prefill_thop(model, batch)
        length = n + 3 + LLAMA2_VISION_FIXED                  # "a b c" is 3 CLIP BPE tokens
        assert cost_count.prompt_tokens(batch) == length - n
        linear = length * (4 * d * d + 3 * d * ff)
        attention = 2 * length * length * d                  # QK^T and AV (eager matmuls)
        assert flops.llm == 2 * (layers * (linear + attention) + d * vocab)
        assert thop.llm == layers * linear + d * vocab       # thop: Linear layers only
        # the CLIP attention (nn.MultiheadAttention) and all attention products are not thop's
        assert 0 < thop.vision_fusion < flops.vision_fusion / 2


def llm_prompt(model_section: dict, n: int = 4) -> list[bool]:
    """The fused-slot mask of the paper rows' LLM prompt for ``model_section``."""
    model = cost.build_paper_meta_model(model_section)
    batch = cost_count.generation_batch(model, Image.new("RGB", (224, 224)), "a b c", n, 1)
    return batch["llm_is_fused"][0].tolist()


def test_the_paper_prompt_is_the_models_own_llama_2_vision_layout_with_its_system_message():
    n = 4
    assert llm_prompt(SMALL_PAPER_MODEL, n) == [False] * (1 + 46) + [True] * n + [False] * (3 + 4)
    # without a system message the first piece is "[INST] a b c" (CLIP BPE estimate, 6 here)
    bare = {**SMALL_PAPER_MODEL, "llm": {**SMALL_PAPER_MODEL["llm"], "system_message": ""}}
    assert llm_prompt(bare, n) == [False] + [True] * n + [False] * (6 + 4)


def test_the_system_piece_is_counted_as_the_fixture_says():
    from vtscale.model.chat_template import LLAMA2_VISION_SYSTEM, llama2_vision_system_piece
    counter = cost_count.OfflineLlama2Tokenizer(estimate=lambda text: 1000)
    piece = llama2_vision_system_piece(LLAMA2_VISION_SYSTEM)
    assert len(counter(piece)["input_ids"]) == 46
    assert len(counter(piece.replace("polite", "kind"))["input_ids"]) == 1000   # any other text: estimated


def test_a_paper_model_in_another_chat_format_without_its_tokenizer_is_an_input_error():
    other = {**SMALL_PAPER_MODEL, "llm": {**SMALL_PAPER_MODEL["llm"], "chat_format": "tokenizer"}}
    with pytest.raises(InputError, match="model.llm.chat_format is 'tokenizer'"):
        llm_prompt(other)


def test_the_cost_rule_hands_the_paper_profiles_model_section(repo_root):
    import yaml
    text = (repo_root / "workflow" / "rules" / "analysis.smk").read_text()
    assert 'paper_model=paper_model_section()' in text
    paper = yaml.safe_load((repo_root / "config" / "paper.yaml").read_text())["model"]
    assert paper["llm"]["chat_format"] == "llama-2-vision"


def make_stage2(folder):
    from vtscale.model.config import ModelConfig
    from vtscale.model.vlm import VisionTokenModel
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["describe the image in detail. a red square."] * 4, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<pad>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<|im_end|>")
    tokenizer.chat_template = CHATML
    torch.manual_seed(0)
    (folder / "clip").mkdir(parents=True)
    (folder / "clip" / "open_clip_config.json").write_text(json.dumps(TINY_CLIP))
    save_file({k: v.contiguous() for k, v in open_clip.model.CLIP(**TINY_CLIP).state_dict().items()},
              str(folder / "clip" / "open_clip_model.safetensors"))
    llm = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=48, intermediate_size=64,
                                       num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                                       pad_token_id=tokenizer.pad_token_id,
                                       eos_token_id=tokenizer.eos_token_id))
    llm.save_pretrained(folder / "llm")
    tokenizer.save_pretrained(folder / "llm")
    model = VisionTokenModel.from_config(config_section(ModelConfig, {"model": TINY_MODEL}, "model"), vision_init=str(folder / "clip"),
                                         llm_init=str(folder / "llm"))
    model.save_pretrained(folder / "stage2")
    return folder / "stage2"


@pytest.fixture(scope="module")
def stage2(tmp_path_factory):
    return make_stage2(tmp_path_factory.mktemp("models"))


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(data / "images" / f"s{k}.png")
    return data


def test_decode_rate_at_a_few_new_tokens(stage2, data_dir):
    model = cost.load_timed_model(stage2)
    path = cost_measure.pick_images(data_dir, 1, 0)[0]
    timing = cost_measure.time_answer(model, path, "Describe the image in detail.", 2, 2, new_tokens=5)
    assert timing.new_tokens == 5
    assert math.isfinite(timing.decode_tokens_per_s) and timing.decode_tokens_per_s > 0
    assert timing.ttft_s >= timing.prefill_s > 0


def test_gpu_columns_are_nan_off_cuda():
    with cost_gpu.GpuMonitor(torch.device("cpu")) as gpu:
        sum(range(1000))
    columns = gpu.columns()
    assert list(columns) == GPU_COLUMNS and all(math.isnan(v) for v in columns.values())
    note = cost_report.gpu_note(pd.DataFrame([{"device": "cpu", **columns}]))
    assert "not measured" in note and "not CUDA" in note


def test_images_are_the_authors_seeded_sample(data_dir):
    expected = sorted((data_dir / "images").glob("*.png"))     # sorted names, shuffled, first k
    random.Random(122).shuffle(expected)
    assert cost_measure.pick_images(data_dir, 2, 122) == expected[:2]
    assert len(cost_measure.pick_images(data_dir, 10, 122)) == 3
    (data_dir / "coco").mkdir()
    Image.new("RGB", (8, 8)).save(data_dir / "coco" / "000000000001.jpg")
    assert cost_measure.pick_images(data_dir, 5, 122, "coco") == [data_dir / "coco" / "000000000001.jpg"]


def test_cost_cli_end_to_end(stage2, data_dir, tmp_path, capsys):
    cfg = {"cost": {"prompt": "Describe the image in detail.", "latency_repeats": 1, "new_tokens": 4,
                    "images": 2, "image_seed": 122},
           "grid": {"n": [1, 2, 4], "m_default": 2}, "paper_model": SMALL_PAPER_MODEL}
    out, md = tmp_path / "cost" / "cost.csv", tmp_path / "cost" / "cost.md"
    assert cost.main(["--cfg", json.dumps(cfg), "--model", str(stage2), "--data-dir", str(data_dir),
                      "--out", str(out), "--markdown", str(md)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == MEASURED_COLUMNS
    paper, measured = table[table["profile"] == "paper"], table[table["profile"] == "measured"]
    assert paper["n"].tolist() == list(cost.PAPER_GRID)
    assert paper["m"].tolist() == [1] + [8] * 9
    assert paper["tflops"].is_monotonic_increasing and paper["thop_tmacs"].is_monotonic_increasing
    assert (paper["thop_tmacs"] < paper["tmacs"]).all()
    assert paper[["prefill_ms", "device", *GPU_COLUMNS]].isna().all().all()
    assert measured["n"].tolist() == [1, 2, 4] and measured["m"].tolist() == [1, 2, 2]
    assert (measured["device"] == "cpu").all() and (measured["images"] == 2).all()
    assert (measured["new_tokens"] == 4).all()
    for column in ("prefill_ms", "ttft_ms", "decode_tokens_per_s", "thop_tmacs"):
        assert (measured[column] > 0).all(), column
    assert measured[GPU_COLUMNS].isna().all().all()
    text = md.read_text()
    assert "paper 2.380" in text and "Counting: thop finds" in text and "decode tokens/s" in text
    assert (paper["llm_prompt_tokens"] == LLAMA2_VISION_FIXED + 6).all()   # the cost prompt: 6 CLIP BPE tokens
    assert f"the n fused tokens and {LLAMA2_VISION_FIXED + 6} prompt tokens" in text
    assert "GPU columns (utilisation, peak and mean memory) were not measured" in text
    assert "| 768 | 8 |" in capsys.readouterr().out
    section = report.cost_section(tmp_path)          # the report shows the notes, no NaN columns
    assert "<h3>measured</h3>" in section and "ttft_ms" in section and "gpu_util_pct" not in section
    assert "Counting: thop finds" in section and "were not measured" in section


def test_cost_cli_needs_the_paper_model_section(tmp_path):
    cfg = {"cost": {}, "grid": {"n": [1], "m_default": 1}}
    with pytest.raises(InputError, match="--cfg: missing the 'paper_model' section"):
        cost.main(["--cfg", json.dumps(cfg), "--model", str(tmp_path), "--data-dir", str(tmp_path),
                   "--out", str(tmp_path / "c.csv"), "--markdown", str(tmp_path / "c.md")])


def test_cost_counts_must_be_positive():
    with pytest.raises(ConfigError, match="cost.new_tokens"):
        config_section(CostConfig, {"cost": {"new_tokens": 0}}, "cost")


def test_missing_images_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no images"):
        cost_measure.pick_images(tmp_path, 1, 0)
