# Analysis: scaling fits, question-fusion deltas, divergence theory, cost model, report.
THEORY_LLMS = list(config.get("theory", {}).get("llms", {}))


# The question variant's predictions at the largest n: what the baselines stand beside.
QUESTION_AT_N_MAX = f"{RESULTS}/eval/question/{max(SETTINGS, key=lambda s: s.n).tag}"


rule fit_scaling:
    input:
        scores=f"{RESULTS}/scores.csv",
        baselines=f"{RESULTS}/baselines.csv",
    output:
        fits=f"{RESULTS}/fits.csv",
        figure=f"{RESULTS}/figures/scaling.png",
    params:
        cfg=cfg_json("analysis"),
    log:
        f"{LOGS}/fit_scaling.log",
    shell:
        "vtscale fit {input.scores} --out {output.fits} --figure {output.figure}"
        " --baselines {input.baselines} --cfg {params.cfg} --log {log}"


rule headline:
    """The headline numbers DVC shows (`dvc metrics show`, one small file per variant and
    benchmark) and the data `dvc plots show` draws."""
    input:
        scores=f"{RESULTS}/scores.csv",
        fits=f"{RESULTS}/fits.csv",
        theory=expand(f"{RESULTS}/theory/{{llm}}/summary.json", llm=THEORY_LLMS),
    output:
        metrics=[f"{RESULTS}/metrics/{v}/{b}.json" for v in VARIANTS for b in BENCHMARKS],
        theory=f"{RESULTS}/metrics/theory.json",
        scaling=[f"{RESULTS}/plots/scaling/{b}.csv" for b in BENCHMARKS],
        curves=expand(f"{RESULTS}/plots/{{kind}}/{{llm}}.csv", kind=["theory_divergence", "theory_psi"],
                      llm=THEORY_LLMS),
    log:
        f"{LOGS}/headline.log",
    shell:
        "vtscale headline {input.scores} --fits {input.fits} --theory-dir {RESULTS}/theory"
        " --llms {THEORY_LLMS} --metrics-dir {RESULTS}/metrics --plots-dir {RESULTS}/plots --log {log}"


rule baselines:
    """Image-blind baselines on every benchmark, scored as the model is, beside the
    standard error of the question variant's score at the largest n."""
    input:
        tsvs=[f"{DATA}/{b['tsv']}" for b in config["eval"]["benchmarks"].values()],
        train=f"{RESULTS}/data/train.json",
        preds=[f"{QUESTION_AT_N_MAX}/{b}.preds.tsv" for b in BENCHMARKS],
    output:
        f"{RESULTS}/baselines.csv",
    params:
        cfg=EVAL_CFG,
    log:
        f"{LOGS}/baselines.log",
    shell:
        "vtscale baselines --cfg {params.cfg} --data-dir {DATA} --train {input.train}"
        " --preds-dir {QUESTION_AT_N_MAX} --out {output} --log {log}"


rule question_fusion:
    input:
        f"{RESULTS}/scores.csv",
    output:
        deltas=f"{RESULTS}/question_fusion/deltas.csv",
        delta_ft=f"{RESULTS}/figures/delta_no_question_ft.png",
        delta_noft=f"{RESULTS}/figures/delta_no_question.png",
        clusters=f"{RESULTS}/figures/clusters.png",
    params:
        cfg=cfg_json("analysis", "seed"),
    log:
        f"{LOGS}/question_fusion.log",
    shell:
        "vtscale question-fusion {input} --out-dir {RESULTS} --cfg {params.cfg} --log {log}"


def theory_llm_input(wildcards):
    source = config["theory"]["llms"][wildcards.llm]["source"]
    return f"{MODELS}/smollm2" if source == "smollm2" else []


rule divergence:
    """Paper §3 on one LLM's final hidden states over DPO pairs."""
    input:
        pairs=f"{DATA}/dpo.jsonl" if DEMO_WORLD else [],
        model=theory_llm_input,
    output:
        curves=f"{RESULTS}/theory/{{llm}}/curves.csv",
        summary=f"{RESULTS}/theory/{{llm}}/summary.json",
        cosines=f"{RESULTS}/theory/{{llm}}/cosines.npz",
    params:
        cfg=cfg_json("theory", "seed"),
        source=lambda w, input: input.model if input.model else config["theory"]["llms"][w.llm]["source"],
        pairs=lambda w, input: input.pairs if input.pairs else config["theory"].get("dataset", "Intel/orca_dpo_pairs"),
    threads: workflow.cores
    log:
        f"{LOGS}/divergence/{{llm}}.log",
    benchmark:
        f"{BENCH}/divergence/{{llm}}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} vtscale divergence --cfg {params.cfg} --llm {params.source}"
        " --pairs {params.pairs} --out-dir {RESULTS}/theory/{wildcards.llm} --log {log}"


rule theory_figures:
    input:
        expand(f"{RESULTS}/theory/{{llm}}/curves.csv", llm=THEORY_LLMS),
    output:
        psi=f"{RESULTS}/figures/theory_psi.png",
        divergence=f"{RESULTS}/figures/theory_divergence.png",
        psi_scatter=f"{RESULTS}/figures/theory_psi_aa_ab.png",
        histogram=f"{RESULTS}/figures/theory_cosine_hist.png",
        alpha=f"{RESULTS}/figures/theory_alpha.png",
    params:
        cfg=cfg_json("theory"),
    log:
        f"{LOGS}/theory_figures.log",
    shell:
        "vtscale divergence --figures {RESULTS}/theory --llms {THEORY_LLMS} --cfg {params.cfg}"
        " --figure-dir {RESULTS}/figures --log {log}"


def paper_model_section():
    """The paper profile's model section, for the cost table's paper rows: this profile's
    own when it is the paper profile, else config/paper.yaml's."""
    if PROFILE == "paper":
        return config["model"]
    return load_config(workflow.source_path("../../config/paper.yaml"))["model"]


rule cost_table:
    input:
        model=f"{MODELS}/stage2",
    output:
        table=f"{RESULTS}/cost/cost.csv",
        markdown=f"{RESULTS}/cost/cost.md",
    params:
        cfg=cfg_json("cost", "grid", paper_model=paper_model_section()),
    threads: workflow.cores
    log:
        f"{LOGS}/cost_table.log",
    benchmark:
        f"{BENCH}/cost_table.tsv"
    shell:
        "OMP_NUM_THREADS={threads} vtscale cost --cfg {params.cfg} --model {input.model}"
        " --data-dir {DATA} --out {output.table} --markdown {output.markdown} --log {log}"


def gate_models(wildcards=None):
    """Model folders that hold a gates.json: the demo's stand-ins, stage 2 with held-out images."""
    folders = [f"{MODELS}/bootstrap_lm", f"{MODELS}/bootstrap_clip"] if DEMO_WORLD else []
    if config["train"]["stage2"].get("held_out"):
        folders.append(f"{MODELS}/stage2")
    return folders


rule collect_gates:
    """The stand-ins' gate figures: DVC metrics and the report's Backbones section."""
    input:
        gate_models,
    output:
        metrics=f"{RESULTS}/metrics/gates.json",
        gates=f"{RESULTS}/gates.json",
    log:
        f"{LOGS}/collect_gates.log",
    run:
        files = " ".join(f"{folder}/gates.json" for folder in input)
        shell(f"vtscale collect-gates {files} --metrics {output.metrics} --out {output.gates} --log {log}")


rule report:
    input:
        gates=f"{RESULTS}/gates.json",
        scores=f"{RESULTS}/scores.csv",
        fits=f"{RESULTS}/fits.csv",
        scaling=f"{RESULTS}/figures/scaling.png",
        deltas=f"{RESULTS}/question_fusion/deltas.csv",
        clusters=f"{RESULTS}/figures/clusters.png",
        theory=rules.theory_figures.output,
        cost=f"{RESULTS}/cost/cost.csv",
        baselines=f"{RESULTS}/baselines.csv",
    output:
        f"{RESULTS}/report/index.html",
    params:
        config_hash=CONFIG_HASH,
    log:
        f"{LOGS}/report.log",
    shell:
        "vtscale report --results {RESULTS} --out {output} --profile {PROFILE}"
        " --config-hash {params.config_hash} --log {log}"
