"""SmolLM2 GGUF -> transformers folder conversion."""

import pytest

from vtscale.model import gguf


def test_finds_the_gguf_file_shipped_by_the_wheel():
    path = gguf.find_gguf_file()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_missing_package_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="not_a_real_package_xyz"):
        gguf.find_gguf_file("not_a_real_package_xyz")


@pytest.mark.slow
def test_convert_then_generate_with_chat_template(tmp_path):
    from vtscale.augment import qa
    from vtscale.augment.config import QAConfig
    from vtscale.model.causal_lm import load_causal_lm

    out = tmp_path / "smollm2"
    assert gguf.main(["--out", str(out)]) == 0
    assert (out / "model.safetensors").exists() and not list(tmp_path.glob(".smollm2.*"))
    model, tokenizer = load_causal_lm(out, "augment.qa.generator")
    assert "<|im_start|>" in tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    answer = qa.generate(model, tokenizer, [[{"role": "user", "content": "What is the capital of France?"}]],
                         batch_size=1, max_new_tokens=16)[0]
    assert "Paris" in answer
    description = ("The image shows three colored shapes on a white background. A large red circle is in the "
                   "top left. A small blue square is in the center. The word \"fox\" is written at the bottom.")
    records = [{"id": "s0", "image": "images/s0.png", "description": description}]
    conversations, stats = qa.run(QAConfig(batch_size=2, max_new_tokens=96), records, model, tokenizer)
    assert stats["kept"] > 0 and len(conversations) == 1
