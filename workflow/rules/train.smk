# Training: demo backbone bootstrap, then the paper's three stages.
# Checkpoints live in CKPTS (not a rule output), so a killed job resumes when rerun.

from vtscale.launch import launch_prefix
from vtscale.train.stage_setting import stage_section

TRAIN_PROCS = config["train"].get("num_processes", 1)
TRAIN_LAUNCH = launch_prefix(config["train"])


def train_cfg(stage):
    """The model and seed plus only this stage's training settings, so a changed stage-3
    setting does not retrain stages 1 and 2. Of the grid, only what stages 1 and 2 work
    their setting out from (its largest n and m_default; vtscale/train/stage_setting.py):
    adding or changing a smaller n reruns just that n's branch."""
    shared = {k: v for k, v in config["train"].items() if not k.startswith("stage")}
    grid = {"n": [max(config["grid"]["n"])], "m_default": config["grid"]["m_default"]}
    return cfg_json("model", "seed", grid=grid, train={**shared, stage: stage_section(config, stage)})


if DEMO_WORLD:

    rule bootstrap_clip:
        """Demo only: no small pretrained CLIP ships on PyPI, so train one on the world
        (and on fresh scenes from its generator); writes its ViT gate (gates.json)."""
        input:
            descriptions=f"{DATA}/descriptions.json",
            scenes=f"{DATA}/scenes.jsonl",
            images=f"{DATA}/images",
        output:
            directory(f"{MODELS}/bootstrap_clip"),
        params:
            cfg=cfg_json("seed", "world", bootstrap={"clip": config["bootstrap"]["clip"]},
                         model={"vision": config["model"]["vision"]}),
        threads: workflow.cores
        log:
            f"{LOGS}/bootstrap_clip.log",
        benchmark:
            f"{BENCH}/bootstrap_clip.tsv"
        shell:
            "OMP_NUM_THREADS={threads} vtscale bootstrap-clip --cfg {params.cfg}"
            " --descriptions {input.descriptions} --scenes {input.scenes} --image-root {DATA}"
            " --out {output} --ckpt-dir {CKPTS}/bootstrap_clip --log {log}"

    rule bootstrap_lm:
        """Demo only: a small Llama that answers from the scene text in its context
        (SmolLM2 tokenizer); writes its reading gate (gates.json)."""
        input:
            descriptions=f"{DATA}/descriptions.json",
            conversations=f"{DATA}/conversations.json",
            scenes=f"{DATA}/scenes.jsonl",
            tokenizer=f"{MODELS}/smollm2",
        output:
            directory(f"{MODELS}/bootstrap_lm"),
        params:
            cfg=cfg_json("seed", bootstrap={"lm": config["bootstrap"]["lm"]},
                         model={"llm": config["model"]["llm"]},
                         world={"image_size": config["world"]["image_size"]}),
        threads: workflow.cores
        log:
            f"{LOGS}/bootstrap_lm.log",
        benchmark:
            f"{BENCH}/bootstrap_lm.tsv"
        shell:
            "OMP_NUM_THREADS={threads} vtscale bootstrap-lm --cfg {params.cfg}"
            " --descriptions {input.descriptions} --conversations {input.conversations}"
            " --scenes {input.scenes} --tokenizer {input.tokenizer} --out {output} --ckpt-dir {CKPTS}/bootstrap_lm --log {log}"


def backbone_inputs(wildcards):
    if DEMO_WORLD:
        return {"vision": f"{MODELS}/bootstrap_clip", "llm": f"{MODELS}/bootstrap_lm"}
    return {}


def backbone_args(wildcards, input):
    if DEMO_WORLD:
        return f"--vision-init {input.vision} --llm-init {input.llm}"
    return ""


rule train_stage1:
    input:
        unpack(backbone_inputs),
        train=f"{RESULTS}/data/train.json",
    output:
        directory(f"{MODELS}/stage1"),
    params:
        cfg=train_cfg("stage1"),
        setting=setting_flags(STAGE_SETTINGS["stage1"]),
        backbones=backbone_args,
    threads: workflow.cores
    resources:
        gpu=TRAIN_PROCS,
    log:
        f"{LOGS}/train_stage1.log",
    benchmark:
        f"{BENCH}/train_stage1.tsv"
    shell:
        "OMP_NUM_THREADS={threads} {TRAIN_LAUNCH} train --stage 1 --cfg {params.cfg} {params.setting} {params.backbones}"
        " --data {input.train} --image-root {DATA} --out {output} --ckpt-dir {CKPTS}/stage1"
        " --metrics {RESULTS}/train_metrics/stage1.csv --log {log}"


rule train_stage2:
    input:
        init=f"{MODELS}/stage1",
        train=f"{RESULTS}/data/train.json",
    output:
        directory(f"{MODELS}/stage2"),
    params:
        cfg=train_cfg("stage2"),
        setting=setting_flags(STAGE_SETTINGS["stage2"]),
    threads: workflow.cores
    resources:
        gpu=TRAIN_PROCS,
    log:
        f"{LOGS}/train_stage2.log",
    benchmark:
        f"{BENCH}/train_stage2.tsv"
    shell:
        "OMP_NUM_THREADS={threads} {TRAIN_LAUNCH} train --stage 2 --cfg {params.cfg} --init {input.init}"
        " {params.setting} --data {input.train} --image-root {DATA} --out {output} --ckpt-dir {CKPTS}/stage2"
        " --metrics {RESULTS}/train_metrics/stage2.csv --log {log}"


rule train_stage3:
    """One short fine-tune per (n, m) and per variant: with or without the question."""
    input:
        init=f"{MODELS}/stage2",
        train=f"{RESULTS}/data/train_stage3.json",
    output:
        directory(f"{MODELS}/stage3/{{stage3_variant}}_{SETTING_WILDCARDS}"),
    params:
        cfg=train_cfg("stage3"),
        setting=lambda w: setting_flags(wildcard_setting(w, model_uses_question(w.stage3_variant))),
        run=lambda w: f"{w.stage3_variant}_{setting_tag(w.n, w.m)}",
    threads: 1
    resources:
        gpu=TRAIN_PROCS,
    log:
        f"{LOGS}/train_stage3/{{stage3_variant}}_{SETTING_WILDCARDS}.log",
    benchmark:
        f"{BENCH}/train_stage3/{{stage3_variant}}_{SETTING_WILDCARDS}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} {TRAIN_LAUNCH} train --stage 3 --cfg {params.cfg} --init {input.init}"
        " {params.setting}"
        " --data {input.train} --image-root {DATA} --out {output}"
        " --ckpt-dir {CKPTS}/stage3/{params.run} --metrics {RESULTS}/train_metrics/stage3/{params.run}.csv"
        " --log {log}"
