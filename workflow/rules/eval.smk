# Evaluation of every (variant, n, m) on every benchmark; the variants and the stage-3
# model each one scores: vtscale/variants.py.
from vtscale.launch import launch_prefix

# eval.num_processes GPUs per evaluate job, each generating its share of every benchmark's
# rows; the number does not change the results, so it is left out of the rule's params.
EVAL_PROCS = config["eval"].get("num_processes", 1)
EVAL_LAUNCH = launch_prefix({"num_processes": EVAL_PROCS, "distributed": "ddp", "precision": "fp32"})
EVAL_CFG = shlex.quote(json.dumps(
    {"eval": {k: v for k, v in config["eval"].items() if k != "num_processes"}}, sort_keys=True))


rule evaluate:
    input:
        model=lambda w: f"{MODELS}/stage3/{MODEL_OF[w.variant]}_{setting_tag(w.n, w.m)}",
        tsvs=[f"{DATA}/{b['tsv']}" for b in config["eval"]["benchmarks"].values()],
    output:
        preds=[f"{RESULTS}/eval/{{variant}}/{SETTING_WILDCARDS}/{b}.preds.tsv" for b in BENCHMARKS],
        scores=[f"{RESULTS}/eval/{{variant}}/{SETTING_WILDCARDS}/{b}.scores.json" for b in BENCHMARKS],
    params:
        cfg=EVAL_CFG,
        setting=lambda w: setting_flags(wildcard_setting(w, SEES_QUESTION[w.variant])),
        folder=lambda w: f"{w.variant}/{setting_tag(w.n, w.m)}",
    threads: 1
    resources:
        gpu=EVAL_PROCS,
    log:
        f"{LOGS}/eval/{{variant}}_{SETTING_WILDCARDS}.log",
    benchmark:
        f"{BENCH}/eval/{{variant}}_{SETTING_WILDCARDS}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} {EVAL_LAUNCH} eval --cfg {params.cfg} --model {input.model}"
        " --data-dir {DATA} {params.setting}"
        " --variant {wildcards.variant} --out-dir {RESULTS}/eval/{params.folder}"
        " --cache-dir {RESULTS}/eval_cache/{params.folder} --log {log}"


rule collect_scores:
    input:
        [f"{RESULTS}/eval/{v}/{s.tag}/{b}.scores.json" for v in VARIANTS for s in SETTINGS for b in BENCHMARKS],
    output:
        scores=f"{RESULTS}/scores.csv",
        answers=f"{RESULTS}/answers.csv",
    log:
        f"{LOGS}/collect_scores.log",
    shell:
        "vtscale collect-scores {input} --out {output.scores} --answers-out {output.answers} --log {log}"
