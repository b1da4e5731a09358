"""The demo world: seeded synthetic scenes, texts, documents, DPO pairs and benchmarks.

Modules: ``vocab`` (closed vocabulary), ``scene`` (sampling), ``render`` (PIL drawing),
``facts`` (checkable questions), ``language`` (descriptions, captions, conversations),
``docs`` (document pages), ``dpo`` (preference pairs), ``benchmarks`` (VLMEvalKit TSVs),
``run`` (the ``vtscale synth`` command).
"""

from .run import main

__all__ = ["main"]
