"""A training file cut down to some question kinds (vtscale.data.question_kinds), every
record keeping only those turns, for a stage-2 run that sees nothing else
(docs/experiments.md, 2026-12-07 midnight). From the root of a finished demo run:

    python experiments/focus_data.py results/demo/data/train.json /tmp/focus/train.json caption words

With ``--oversample K`` the file keeps every record and adds K copies of the cut-down
ones: the whole mixture with those kinds K + 1 times as often.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from vtscale.data.conversations import with_image_marker
from vtscale.data.question_kinds import question_kind


def focused(record: dict, kinds: set[str]) -> dict | None:
    turns = record["conversations"]
    pairs = [turns[i:i + 2] for i in range(0, len(turns) - 1, 2)]
    kept = [pair for pair in pairs if question_kind(pair[0]["value"]) in kinds]
    if not kept:
        return None
    return {**record, "conversations": with_image_marker([turn for pair in kept for turn in pair])}


def main(source: str, target: str, kinds: list[str], oversample: int = 0) -> None:
    everything = json.loads(Path(source).read_text())
    records = [r for r in (focused(r, set(kinds)) for r in everything) if r]
    if oversample:
        records = everything + [{**r, "id": f"{r['id']}#copy{k}"} for k in range(oversample) for r in records]
    counts = Counter(question_kind(t["value"]) for r in records for t in r["conversations"][::2])
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(records))
    print(f"{len(records)} records; questions per kind: {dict(counts)}")


if __name__ == "__main__":
    args = sys.argv[1:]
    times = int(args.pop(args.index("--oversample") + 1)) if "--oversample" in args else 0
    main(args[0], args[1], [a for a in args[2:] if a != "--oversample"], times)
