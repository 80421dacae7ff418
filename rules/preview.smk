# Preview stage: one job per shard of a video dataset writes a browser-playable H.264 preview of every video,
# results/<dataset>/previews/<shard>/<video>.mp4, and the shard's index (a video that fails is a row with its
# reason, never the job's end). The web app plays these: many source videos (mp4v) do not play in browsers.
# Only datasets of videos have previews (.pose and synthetic datasets show their pose animation).


rule make_previews:
    input:
        unpack(get_shard_sources),
    output:
        LAYOUT.preview_index("{dataset}", "{shard}"),
    log:
        "logs/{dataset}/previews/{shard}.log",
    benchmark:
        "benchmarks/{dataset}/previews/{shard}.tsv"
    wildcard_constraints:
        dataset=_names_regex(_datasets_of(*VIDEO_KINDS)),
    params:
        folder=lambda wc: str(LAYOUT.preview_dir(wc.dataset, wc.shard)),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wc, attempt: 60 * attempt,
    conda:
        "../envs/pose.yaml"
    script:
        "../scripts/make_previews.py"
