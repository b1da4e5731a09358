# vtscale: the whole study as one Snakemake workflow.
# Default profile (workflow/profiles/default) loads config/demo.yaml;
# the paper experiment: snakemake --configfile config/paper.yaml
from snakemake.utils import min_version

min_version("9.0")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/augment.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/eval.smk"
include: "workflow/rules/analysis.smk"


# Outputs of the jobs a killed run was running, which Snakemake removed before starting
# them: asked for here, so a plain `snakemake` rebuilds them and everything after them
# even where the later outputs are still there (vtscale/workflow_state.py).
UNFINISHED = [path for path in unfinished_outputs([DATA, RESULTS])
              if any(rule_.is_producer(path) for rule_ in workflow.rules)]
if UNFINISHED and workflow.is_main_process:
    print(f"vtscale: left unfinished by a killed run, so built again with everything after: "
          f"{', '.join(UNFINISHED)}", file=sys.stderr)


rule all:
    input:
        f"{RESULTS}/scores.csv",
        f"{RESULTS}/fits.csv",
        f"{RESULTS}/report/index.html",
        rules.headline.output,
        UNFINISHED,


onsuccess:
    if config.get("dvc", {}).get("track", False):
        shell(f"vtscale dvc-track {DATA} {RESULTS}")
