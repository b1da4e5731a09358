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


rule all:
    input:
        f"{RESULTS}/scores.csv",
        f"{RESULTS}/fits.csv",
        f"{RESULTS}/report/index.html",
        rules.headline.output,


onsuccess:
    if config.get("dvc", {}).get("track", False):
        shell(f"vtscale dvc-track {DATA} {RESULTS}")
