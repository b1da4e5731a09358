# Evaluation of every (variant, n, m) on every benchmark (paper Appendix D variants):
#   question        stage-3 model fine-tuned with the question, evaluated with it
#   no_question_ft  stage-3 model fine-tuned without the question, evaluated without it
#   no_question     the question model evaluated with the question dropped from the fusion input
from vtscale.launch import launch_prefix

EVAL_MODEL = {"question": "question", "no_question_ft": "no_question", "no_question": "question"}

# eval.num_processes GPUs per evaluate job, each generating its share of every benchmark's
# rows; the number does not change the results, so it is left out of the rule's params.
EVAL_PROCS = config["eval"].get("num_processes", 1)
EVAL_LAUNCH = launch_prefix({"num_processes": EVAL_PROCS, "distributed": "ddp", "precision": "fp32"})
EVAL_CFG = shlex.quote(json.dumps(
    {"eval": {k: v for k, v in config["eval"].items() if k != "num_processes"}}, sort_keys=True))


rule evaluate:
    input:
        model=lambda w: f"{MODELS}/stage3/{EVAL_MODEL[w.variant]}_n{w.n}_m{w.m}",
        tsvs=[f"{DATA}/{b['tsv']}" for b in config["eval"]["benchmarks"].values()],
    output:
        preds=[f"{RESULTS}/eval/{{variant}}/n{{n}}_m{{m}}/{b}.preds.tsv" for b in BENCHMARKS],
        scores=[f"{RESULTS}/eval/{{variant}}/n{{n}}_m{{m}}/{b}.scores.json" for b in BENCHMARKS],
    params:
        cfg=EVAL_CFG,
        question=lambda w: "--no-question" if w.variant != "question" else "",
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
