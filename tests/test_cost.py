import json

import numpy as np
import open_clip
import pandas as pd
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from vtscale.analysis import cost
from vtscale.config import config_section
from vtscale.errors import InputError
from vtscale.model.chat_template import CHATML

# small open_clip + Llama sizes standing in for the paper model (same code path, meta device)
SMALL_PAPER_MODEL = {
    "vision": {"source": "open_clip", "name": "ViT-B-32", "pretrained": "openai", "view_size": 224,
               "patch_size": 32, "width": 768, "layers": 12, "heads": 12, "mlp_ratio": 4.0},
    "hd_views": 1, "fusion": {"layers": 1},
    "llm": {"source": "no-such-llm-offline", "hidden_size": 64, "layers": 2, "heads": 4,
            "intermediate_size": 128, "vocab_size": 100},
}
TINY_CLIP = {"embed_dim": 24,
             "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
TINY_MODEL = {"vision": {"source": "bootstrap", "name": "tiny", "view_size": 32, "patch_size": 8,
                         "width": 32, "layers": 1, "heads": 2, "mlp_ratio": 2.0, "text_context": 40},
              "hd_views": 4, "fusion": {"layers": 1, "max_tokens": 8},
              "llm": {"source": "bootstrap", "hidden_size": 48, "layers": 2, "heads": 2,
                      "intermediate_size": 64}}


def test_llm_flops_match_the_llama_formula():
    model = cost.build_paper_meta_model(SMALL_PAPER_MODEL)
    image = Image.new("RGB", (448, 224), "white")
    counts = {n: cost.count_prefill_flops(model, cost.generation_batch(model, image, "a b c", n, 1))
              for n in (1, 5)}
    d, ff, layers, vocab = 64, 128, 2, 100
    for n, flops in counts.items():
        length = n + 3 + cost.LLAMA2_CHAT_WRAPPER_TOKENS      # "a b c" is 3 CLIP BPE tokens
        linear = 2 * length * (4 * d * d + 3 * d * ff)
        attention = 2 * 2 * length * length * d              # QK^T and AV (eager matmuls)
        assert flops.llm == layers * (linear + attention) + 2 * d * vocab
    assert counts[5].vision_fusion > counts[1].vision_fusion > 0


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


def test_cost_cli_end_to_end(tmp_path, capsys):
    stage2 = make_stage2(tmp_path / "models")
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(data / "images" / "s0.png")
    cfg = {"cost": {"prompt": "Describe the image in detail.", "latency_repeats": 1},
           "grid": {"n": [1, 2, 4], "m_default": 2}, "paper_model": SMALL_PAPER_MODEL}
    out, md = tmp_path / "cost" / "cost.csv", tmp_path / "cost" / "cost.md"
    assert cost.main(["--cfg", json.dumps(cfg), "--model", str(stage2), "--data-dir", str(data),
                      "--out", str(out), "--markdown", str(md)]) == 0
    table = pd.read_csv(out)
    paper, demo = table[table["profile"] == "paper"], table[table["profile"] == "demo"]
    assert paper["n"].tolist() == list(cost.PAPER_GRID)
    assert paper["m"].tolist() == [1] + [8] * 9
    assert paper["tflops"].is_monotonic_increasing
    assert demo["n"].tolist() == [1, 2, 4] and demo["m"].tolist() == [1, 2, 2]
    assert (demo["prefill_ms"] > 0).all() and (demo["decode_tokens_per_s"] > 0).all()
    text = md.read_text()
    assert "paper 2.380" in text and "decode tokens/s" in text
    assert "| 768 | 8 |" in capsys.readouterr().out


def test_missing_images_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no images"):
        cost.first_image(tmp_path)
