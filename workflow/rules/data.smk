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
