# signsearch: videos -> poses -> embeddings -> manifests -> pgvector -> evaluation grid -> report.
# This file only includes the stages and names the targets; the logic lives in rules/ and src/signsearch/.
from snakemake.utils import min_version

from signsearch import config as ss_config

min_version("9.20")


# The neutral base, then the demo unless --configfile names the user's own config (signsearch.config.layers).
configfile: str(ss_config.BASE_CONFIG)


if ss_config.demo_layer(workflow.overwrite_configfiles):

    configfile: str(ss_config.DEMO_CONFIG)


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/poses.smk"
include: "rules/segment.smk"
include: "rules/train.smk"
include: "rules/embed.smk"
include: "rules/database.smk"
include: "rules/evaluate.smk"
include: "rules/continuous.smk"
include: "rules/preview.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
