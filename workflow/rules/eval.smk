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
        model=lambda w: f"{MODELS}/stage3/{MODEL_OF[w.variant]}_n{w.n}_m{w.m}",
        tsvs=[f"{DATA}/{b['tsv']}" for b in config["eval"]["benchmarks"].values()],
    output:
        preds=[f"{RESULTS}/eval/{{variant}}/n{{n}}_m{{m}}/{b}.preds.tsv" for b in BENCHMARKS],
        scores=[f"{RESULTS}/eval/{{variant}}/n{{n}}_m{{m}}/{b}.scores.json" for b in BENCHMARKS],
    params:
        cfg=EVAL_CFG,
        question=lambda w: "" if SEES_QUESTION[w.variant] else "--no-question",
    threads: 1
    resources:
        gpu=EVAL_PROCS,
    log:
        f"{LOGS}/eval/{{variant}}_n{{n}}_m{{m}}.log",
    benchmark:
        f"{BENCH}/eval/{{variant}}_n{{n}}_m{{m}}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} {EVAL_LAUNCH} eval --cfg {params.cfg} --model {input.model}"
        " --data-dir {DATA} --n {wildcards.n} --m {wildcards.m} {params.question}"
        " --variant {wildcards.variant} --out-dir {RESULTS}/eval/{wildcards.variant}/n{wildcards.n}_m{wildcards.m}"
        " --cache-dir {RESULTS}/eval_cache/{wildcards.variant}/n{wildcards.n}_m{wildcards.m} --log {log}"


rule collect_scores:
    input:
        [f"{RESULTS}/eval/{v}/n{n}_m{m}/{b}.scores.json"
         for v in VARIANTS for (n, m) in SETTINGS for b in BENCHMARKS],
    output:
        scores=f"{RESULTS}/scores.csv",
        answers=f"{RESULTS}/answers.csv",
    log:
        f"{LOGS}/collect_scores.log",
    shell:
        "vtscale collect-scores {input} --out {output.scores} --answers-out {output.answers} --log {log}"
