# Raw data: the generated demo world (demo/tiny) or the paper's datasets (paper).

if DEMO_WORLD:

    rule synth_world:
        output:
            scenes=f"{DATA}/scenes.jsonl",
            images=directory(f"{DATA}/images"),
            descriptions=f"{DATA}/descriptions.json",
            conversations=f"{DATA}/conversations.json",
            docs=f"{DATA}/docs.jsonl",
            pages=directory(f"{DATA}/pages"),
            dpo=f"{DATA}/dpo.jsonl",
            benchmarks=[f"{DATA}/{b['tsv']}" for b in config["eval"]["benchmarks"].values()],
        params:
            cfg=cfg_json("world", "seed"),
        log:
            f"{LOGS}/synth_world.log",
        benchmark:
            f"{BENCH}/synth_world.tsv"
        shell:
            "vtscale synth --cfg {params.cfg} --out {DATA} --log {log}"

else:

    rule prepare_paper_data:
        """The paper's training data from the hub (or local copies) in the internal formats."""
        output:
            descriptions=f"{DATA}/descriptions.json",
            conversations=f"{DATA}/conversations.json",
            docs=f"{DATA}/docs.jsonl",
            pages=directory(f"{DATA}/pages"),
        params:
            cfg=cfg_json("datasets", "seed"),
        resources:
            gpu=0,
        log:
            f"{LOGS}/prepare_paper_data.log",
        benchmark:
            f"{BENCH}/prepare_paper_data.tsv"
        shell:
            "vtscale prepare-data --cfg {params.cfg} --out {DATA} --log {log}"

    rule link_benchmarks:
        """VLMEvalKit TSVs (its LMUData folder) linked under DATA/benchmarks."""
        output:
            [f"{DATA}/{b['tsv']}" for b in config["eval"]["benchmarks"].values()],
        params:
            root=config.get("datasets", {}).get("benchmarks_root") or "",
        log:
            f"{LOGS}/link_benchmarks.log",
        shell:
            "vtscale link-benchmarks --root '{params.root}' {output} --log {log}"
