"""Diagnostics: measurements on a trained model that explain the pipeline's results
(docs/diagnostics.md). They run by hand (``vtscale question-probe``,
``vtscale fused-sensitivity``), write their own files, and no pipeline stage imports them."""
