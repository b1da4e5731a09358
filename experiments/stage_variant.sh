#!/usr/bin/env bash
# Stage 1, then stage 2, of the demo on another training file, with the demo's model and
# stage settings plus JSON overrides (docs/experiments.md, 2026-12-07). From the root of a
# finished demo run:
#   experiments/stage_variant.sh OUT DATA_JSON ['<stage-1 overrides>'] ['<stage-2 overrides>']
# e.g. experiments/stage_variant.sh /tmp/v1 /tmp/claims/mixture_claims_1.json '' '"loss_weight": "answer"'
# Writes OUT/stage1, OUT/stage2 (with gates.json: the held-out per-kind check) and OUT/*.csv;
# then stage 1's retrieval on the probe images (experiments/claims_data.py's probe_images.json
# beside DATA_JSON) to OUT/stage1_retrieval.json. STAGE1=DIR skips stage 1 and its retrieval
# and starts stage 2 from DIR, e.g. the run's own stage-1 model on the run's own data:
#   STAGE1=results/demo/models/stage1 experiments/stage_variant.sh OUT results/demo/data/train.json '' '"batch_ns": [1, 2, 4, 8, 16, 32]'
set -euo pipefail
OUT=$1; DATA=$2; S1_EXTRA=${3:-}; S2_EXTRA=${4:-}
CFG=$(python - "$S1_EXTRA" "$S2_EXTRA" <<'PY'
import json, sys, yaml
c = yaml.safe_load(open("config/demo.yaml"))
extra = [json.loads("{" + e + "}") if e else {} for e in sys.argv[1:3]]
train = {k: c["train"][k] for k in ("checkpoint_every", "precision", "num_processes")}
train["stage1"] = {**c["train"]["stage1"], **extra[0]}
train["stage2"] = {**c["train"]["stage2"], **extra[1]}
print(json.dumps({"seed": c["seed"], "model": c["model"], "grid": c["grid"], "train": train}))
PY
)
# --n/--m as the workflow works them out (vtscale/train/stage_setting.py)
setting() {
  python -c 'import json, sys; from vtscale.train.stage_setting import stage_setting
s = stage_setting(json.loads(sys.argv[1]), sys.argv[2]); print(f"--n {s.n} --m {s.m}")' "$CFG" "$1"
}
M=results/demo/models
if [ -z "${STAGE1:-}" ]; then
  STAGE1=$OUT/stage1
  vtscale train --stage 1 --cfg "$CFG" $(setting stage1) --vision-init $M/bootstrap_clip --llm-init $M/bootstrap_lm \
    --data "$DATA" --image-root data/demo --out "$STAGE1" --ckpt-dir "$OUT/ck1" --metrics "$OUT/stage1.csv"
  vtscale stage1-retrieval "$STAGE1" --data "$(dirname "$DATA")/probe_images.json" --image-root data/demo \
    --held-out 0 --out "$OUT/stage1_retrieval.json"
fi
vtscale train --stage 2 --cfg "$CFG" $(setting stage2) --init "$STAGE1" --data "$DATA" --image-root data/demo \
  --out "$OUT/stage2" --ckpt-dir "$OUT/ck2" --metrics "$OUT/stage2.csv"
