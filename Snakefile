# signsearch: videos -> poses -> embeddings -> manifests -> pgvector -> evaluation grid -> report.
# This file only includes the stages and names the targets; the logic lives in rules/ and src/signsearch/.
from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/poses.smk"
include: "rules/embed.smk"
include: "rules/database.smk"
include: "rules/evaluate.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
