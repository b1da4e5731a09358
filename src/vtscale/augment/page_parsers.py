"""Document page parsers behind one interface: ``parse(images) -> texts``.

``rapidocr`` (demo): the PP-OCR models shipped in the rapidocr-onnxruntime wheel.
``nougat`` (paper): facebook/nougat-base through transformers, greedy as the authors
decode (no unknown token, bf16 on a GPU), markdown fix-up.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
from PIL import Image

from vtscale.hub import load_failure

log = logging.getLogger(__name__)


class PageParser(Protocol):
    def parse(self, images: list[Image.Image]) -> list[str]: ...


def lines_in_reading_order(boxes: list, texts: list[str]) -> str:
    """Group OCR boxes into lines (vertical overlap), lines top to bottom, words left to right."""
    items = sorted(zip(boxes, texts), key=lambda it: (_top(it[0]), _left(it[0])))
    lines: list[list] = []
    for box, text in items:
        if lines and abs(_center_y(box) - _center_y(lines[-1][-1][0])) < 0.5 * _height(box):
            lines[-1].append((box, text))
        else:
            lines.append([(box, text)])
    return "\n".join(" ".join(t for _, t in sorted(line, key=lambda it: _left(it[0]))) for line in lines)


def _top(box) -> float:
    return min(p[1] for p in box)


def _left(box) -> float:
    return min(p[0] for p in box)


def _height(box) -> float:
    return max(p[1] for p in box) - _top(box)


def _center_y(box) -> float:
    return _top(box) + _height(box) / 2


class RapidOCRParser:
    # PP-OCR's recogniser drops the spaces between small words ("cratesoffish"): on the demo
    # pages it reads 20% of the tokens at 1x, 90% at 2x and ~99% at 3x. Detection is the
    # expensive half and works at 1x, so boxes are found on the page as is and each line is
    # recognised from a 3x upscaled crop.
    UPSCALE = 3
    MIN_SCORE = 0.5  # rapidocr's own text_score default
    PAD = 0.25

    def __init__(self):
        from rapidocr_onnxruntime import RapidOCR

        self.engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)

    def _line_crop(self, image: Image.Image, box) -> np.ndarray:
        pad = self.PAD * _height(box)  # the recogniser reads better with a margin round the line
        x0, y0 = max(0, _left(box) - pad), max(0, _top(box) - pad)
        x1 = min(image.width, max(p[0] for p in box) + pad)
        y1 = min(image.height, max(p[1] for p in box) + pad)
        crop = image.crop((int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))))
        return np.asarray(crop.resize((crop.width * self.UPSCALE, crop.height * self.UPSCALE), Image.BICUBIC))

    def parse_one(self, image: Image.Image) -> str:
        image = image.convert("RGB")
        boxes, _ = self.engine(np.asarray(image), use_cls=False, use_rec=False)
        kept_boxes, texts = [], []
        for box in boxes or []:
            result, _ = self.engine(self._line_crop(image, box), use_det=False, use_cls=False)
            text, score = result[0] if result else ("", 0.0)
            if text.strip() and score >= self.MIN_SCORE:
                kept_boxes.append(box)
                texts.append(text.strip())
        return lines_in_reading_order(kept_boxes, texts)

    def parse(self, images: list[Image.Image]) -> list[str]:
        return [self.parse_one(image) for image in images]


class NougatParser:
    MAX_NEW_TOKENS = 2048

    def __init__(self, model_id: str = "facebook/nougat-base", batch_size: int = 4):
        import torch
        from transformers import NougatProcessor, VisionEncoderDecoderModel
        from transformers.utils import is_levenshtein_available

        if not is_levenshtein_available():  # needed by the markdown fix-up, checked before loading
            raise ImportError("the nougat parser needs `pip install python-Levenshtein`")
        try:
            self.processor = NougatProcessor.from_pretrained(model_id)
            self.model = VisionEncoderDecoderModel.from_pretrained(model_id).eval()
        except OSError as err:
            raise load_failure(model_id, "augment.docs.parser", err) from None
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        # bf16 as the authors ran it, on a GPU; a CPU keeps fp32 (bf16 there is slow)
        self.dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.model.to(self.device, self.dtype)
        self.batch_size = batch_size

    def generation_kwargs(self) -> dict:
        """Greedy, as the authors' scripts/prepare_mPLUG_doc_nouga.py decodes: at least one
        token, never the unknown token."""
        return {"do_sample": False, "num_beams": 1, "min_length": 1,
                "max_new_tokens": self.MAX_NEW_TOKENS,
                "bad_words_ids": [[self.processor.tokenizer.unk_token_id]]}

    def parse(self, images: list[Image.Image]) -> list[str]:
        import torch

        texts = []
        for start in range(0, len(images), self.batch_size):
            batch = [im.convert("RGB") for im in images[start:start + self.batch_size]]
            pixels = self.processor(images=batch, return_tensors="pt").pixel_values
            with torch.no_grad():
                tokens = self.model.generate(pixels.to(self.device, self.dtype), **self.generation_kwargs())
            decoded = self.processor.batch_decode(tokens, skip_special_tokens=True)
            texts += self.processor.post_process_generation(decoded, fix_markdown=True)
        return texts


def make_parser(name: str) -> PageParser:
    """``rapidocr``, ``nougat`` (facebook/nougat-base) or any Nougat model id/folder."""
    if name == "rapidocr":
        return RapidOCRParser()
    if name == "nougat":
        return NougatParser()
    return NougatParser(name)
