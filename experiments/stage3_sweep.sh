#!/usr/bin/env bash
# Stage 3 (question variant) at each n from a finished demo's stage-2 model, with the
# demo's stage-3 settings plus JSON overrides, then the demo's benchmarks at that n
# (docs/experiments.md). From the root of a finished demo run:
#   experiments/stage3_sweep.sh OUT '<stage-3 overrides>' [N ...]
# e.g. experiments/stage3_sweep.sh /tmp/s3/lr1e-4 '"lr": 1e-4' 1 4 32
# An override of "skip": true evaluates the stage-2 model itself at each n; STAGE2=DIR
# starts from another stage-2 model.
# Writes OUT/n<N>/{model,eval,stage3.csv}; `python benchmarks/demo_table.py`-style
# summary: OUT/table.csv (benchmark, n, score, se).
set -euo pipefail
OUT=$1; S3_EXTRA=${2:-}; shift 2 || true
NS=${*:-1 2 4 8 16 32}
read -r CFG EVAL_CFG SKIP < <(python - "$S3_EXTRA" <<'PY'
import json, sys, yaml
c = yaml.safe_load(open("config/demo.yaml"))
extra = json.loads("{" + sys.argv[1] + "}") if sys.argv[1] else {}
skip = extra.pop("skip", False)
train = {k: c["train"][k] for k in ("checkpoint_every", "precision", "num_processes")}
train["stage3"] = {**c["train"]["stage3"], **extra}
cfg = {"seed": c["seed"], "model": c["model"], "grid": c["grid"], "train": train}
print(json.dumps(cfg, separators=(",", ":")), json.dumps({"eval": c["eval"]}, separators=(",", ":")),
      int(skip))
PY
)
M=results/demo/models
STAGE2=${STAGE2:-$M/stage2}
for n in $NS; do
  m=$(( n < 4 ? n : 4 ))
  dir=$OUT/n$n; mkdir -p "$dir"
  model=$STAGE2; other=--allow-other-setting
  if [ "$SKIP" = 0 ]; then
    model=$dir/model; other=
    [ -e "$model" ] || vtscale train --stage 3 --cfg "$CFG" --init $STAGE2 --n $n --m $m \
      --data results/demo/data/train_stage3.json --image-root data/demo --out "$model" \
      --ckpt-dir "$dir/ck" --metrics "$dir/stage3.csv" --log "$dir/train.log"
  fi
  vtscale eval --cfg "$EVAL_CFG" --model "$model" --data-dir data/demo --n $n --m $m \
    --variant question $other --out-dir "$dir/eval" --cache-dir "$dir/cache" --log "$dir/eval.log"
done
python - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1]); rows = []
for d in sorted(out.glob("n*/eval"), key=lambda p: int(p.parent.name[1:])):
    for f in sorted(d.glob("*.scores.json")):
        s = json.loads(f.read_text())
        key = "CIDEr" if "CIDEr" in s["metrics"] else "Overall"
        rows.append((f.name.split(".")[0], int(d.parent.name[1:]), s["metrics"][key],
                     (s.get("se") or {}).get(key)))
(out / "table.csv").write_text("benchmark,n,score,se\n" + "".join(f"{b},{n},{v},{e}\n" for b, n, v, e in rows))
import collections; t = collections.defaultdict(dict)
for b, n, v, _ in rows: t[b][n] = v
for b, r in t.items(): print(f"{b:14s}", " ".join(f"{r[n]:6.1f}" for n in sorted(r)))
PY
