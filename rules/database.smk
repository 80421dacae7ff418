# Database stage: bulk-load each manifest's new or changed rows into PostgreSQL + pgvector (COPY BINARY, one
# transaction; `signsearch.db.load`) and keep a receipt. Runs on the submitting host: compute nodes may not reach the database. The server URL comes from
# SIGNSEARCH_DB_URL when set (never from config or params), else the embedded server under database.data_dir.


localrules:
    load_database,


rule load_database:
    input:
        manifest=LAYOUT.manifest("{dataset}", "{model}"),
        dataset=LAYOUT.dataset_record("{dataset}"),
        registry=LAYOUT.registry("{dataset}"),
    output:
        LAYOUT.db_receipt("{dataset}", "{model}"),
    log:
        "logs/{dataset}/db/{model}.log",
    benchmark:
        "benchmarks/{dataset}/db/{model}.tsv"
    params:
        model=lookup(dpath="{model}", within=MODELS),
        data_dir=config["database"]["data_dir"],
    threads: 1
    resources:
        db=1,
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/db.yaml"
    script:
        "../scripts/load_database.py"
