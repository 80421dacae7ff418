"""The Slurm profile against a real one-node Slurm (munge, slurmctld, slurmd, slurmdbd + MariaDB) on this machine.

Opt-in, as it changes the machine: with SIGNSEARCH_TEST_SLURM=1 (set by .ci/run) the cluster comes from
workflow_tests/cluster/start-local-slurm.sh (root only; installs its packages with apt, writes /etc/slurm) and the
daemons that call started are stopped afterwards, also when a test fails. Without it, a Slurm already running with
this test's partition and account is used as it is, and the test is skipped when there is none.
The demo workflow runs once locally (--cores 2) and once through a profile made from profiles/slurm/config.yaml
with only its ADAPT values filled in; both must give the same manifest vectors and grid table, and every non-local
job must show up in `sacct` as COMPLETED, the CPU-only model's embedding jobs on the CPU partition. A second Slurm
call embeds one shard with a `gpu: true` model and checks its `--gpus=1` and that it ran on the GPU partition.
Every Slurm run is wrapped in `timeout -k 30`: a hanging Snakemake (sacct trouble, wrong account) fails the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from workflow_utils import REPO, demo_config, job_counts, make_workdir, snakemake, stop_database

CLUSTER_DIR = REPO / "workflow_tests" / "cluster"
SLURM_PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
DEFAULT_PROFILE = REPO / "profiles" / "default" / "config.yaml"
ACCOUNT = "signsearch"
PARTITION = "main"  # the CPU partition (default)
GPU_PARTITION = "gpu"  # a second partition on the same node: where jobs of `gpu: true` models must go
LOCAL_RULES = {"load_database", "make_subset", "grid", "all"}  # never submitted to Slurm
SLURM_RUN_TIMEOUT = 480  # seconds for the demo through Slurm (about 130 s on 2 cores)
GPU_RUN_TIMEOUT = 240
PY = sys.executable
OPT_IN = "SIGNSEARCH_TEST_SLURM"


# ---------------------------------------------------------------------------------------------- fast checks
def test_profiles_share_no_top_level_keys():
    """A key in both profiles would be replaced whole by the later one (no deep merge)."""
    slurm = yaml.safe_load(SLURM_PROFILE.read_text())
    default = yaml.safe_load(DEFAULT_PROFILE.read_text())
    assert not set(slurm) & set(default), f"shared keys: {sorted(set(slurm) & set(default))}"
    assert slurm["executor"] == "slurm"
    assert {"slurm_account", "slurm_partition"} <= set(slurm["default-resources"]), "the ADAPT block moved"


def _folder_dataset(root: Path, videos: int = 3) -> Path:
    (root / "videos").mkdir(parents=True)
    lines = ["video_id,path,gloss,signer,split"]
    for i in range(videos):
        (root / "videos" / f"v{i}.mp4").touch()  # a dry run never opens them
        lines.append(f"v{i},videos/v{i}.mp4,G{i},P{i},test")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    return root


def _job_blocks(text: str) -> list[dict[str, str]]:
    """The `rule X:` blocks of a dry run, as {rule, wildcards, threads, resources}."""
    blocks = []
    for chunk in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        m = re.match(r"(?:local)?rule (\w+):", chunk)
        if not m:
            continue
        block = {"rule": m.group(1)}
        for key in ("wildcards", "threads", "resources"):
            km = re.search(rf"^\s+{key}: (.*)$", chunk, re.M)
            block[key] = km.group(1) if km else ""
        blocks.append(block)
    return blocks


def cluster_config_entry(cpu: str, gpu: str) -> list[str]:
    """The profile's `config:` list with the partitions filled in (its ADAPT line)."""
    return [f"cluster={{cpu_partition: '{cpu}', gpu_partition: '{gpu}'}}"]


def test_slurm_profile_plans_cluster_resources(tmp_path):
    """`snakemake -n --profile profiles/slurm` (with the workflow profile): pose jobs get 8 threads and
    12000 MB, an embedding job of a gpu model asks for gpu=1 on the GPU partition, of the baseline for gpu=0 on the
    CPU partition (issue 15: CPU-only models never queue for a GPU). Needs no cluster.
    (--cores 64: a dry run without --cores caps every job at 1 thread.)"""
    config = demo_config()
    config["datasets"] = {"vids": {"kind": "folder", "path": str(_folder_dataset(tmp_path / "data")),
                                   "metadata": "metadata.csv"}}
    config["models"]["gpu-baseline"] = {"kind": "pose-baseline", "gpu": True}
    config["database"]["load"] = False
    work = make_workdir(tmp_path / "work", config)
    profile = yaml.safe_load(SLURM_PROFILE.read_text())
    profile["config"] = cluster_config_entry("cpuq", "gpuq")
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    proc = subprocess.run([PY, "-m", "snakemake", "-n", "--cores", "64", "--profile", str(tmp_path / "profile")],
                          cwd=work, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    blocks = _job_blocks(proc.stdout + proc.stderr)
    pose = [b for b in blocks if b["rule"] == "estimate_poses"]
    assert pose and pose[0]["threads"] == "8" and "mem_mb=12000," in pose[0]["resources"], pose
    assert "runtime=240" in pose[0]["resources"]
    embed = {re.search(r"model=([\w.-]+)", b["wildcards"]).group(1): b["resources"] for b in blocks if b["rule"] == "embed"}
    assert re.search(r"\bgpu=1\b", embed["gpu-baseline"]), embed
    assert re.search(r"\bgpu=0\b", embed["pose-baseline"]), embed
    assert "slurm_partition=gpuq" in embed["gpu-baseline"] and "slurm_partition=cpuq" in embed["pose-baseline"], embed
    assert "slurm_account=" in embed["pose-baseline"] and "slurm_partition=" in embed["pose-baseline"]


# ---------------------------------------------------------------------------------------------- the cluster
@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    if os.environ.get(OPT_IN) != "1":
        if not _running_cluster():
            pytest.skip(f"no running Slurm with partition {PARTITION!r} and account {ACCOUNT!r}, and {OPT_IN} is not "
                        f"1: set {OPT_IN}=1 (as root) to let the test install Slurm, munge and MariaDB with apt, "
                        "write /etc/slurm and start a local cluster (workflow_tests/cluster/README.md)")
        yield  # someone else's cluster: nothing to start or stop
        return
    if os.geteuid() != 0:
        pytest.skip("the local Slurm cluster needs root (apt-get install, system daemons)")
    started_file = tmp_path_factory.mktemp("slurm") / "started.txt"
    env = {**os.environ, "LOCAL_SLURM_ACCOUNTS": ACCOUNT, "LOCAL_SLURM_PARTITION": PARTITION,
           "LOCAL_SLURM_GPU_PARTITION": GPU_PARTITION, "LOCAL_SLURM_GPUS": "1",
           "LOCAL_SLURM_STARTED_FILE": str(started_file)}

    def stop():
        names = started_file.read_text().split() if started_file.exists() else []
        if names:  # only what this fixture's start call started; a cluster that was already up stays up
            subprocess.run([str(CLUSTER_DIR / "stop-local-slurm.sh"), *names], env=env, timeout=300)

    try:
        proc = subprocess.run([str(CLUSTER_DIR / "start-local-slurm.sh")], env=env, capture_output=True,
                              text=True, timeout=900)
    except subprocess.TimeoutExpired:
        stop()
        pytest.fail("start-local-slurm.sh took more than 15 minutes")
    if proc.returncode in (2, 3):
        stop()
        pytest.skip(f"no local Slurm cluster (start-local-slurm.sh exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    if proc.returncode != 0:
        stop()
        pytest.fail(f"start-local-slurm.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    try:
        # A cluster started earlier with other knobs would not have our partition or account.
        parts = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=60).stdout
        for name in (PARTITION, GPU_PARTITION):
            assert name in parts.replace("*", "").split(), f"partition {name!r} missing: {parts!r} (restart the cluster)"
        yield
    finally:
        stop()


def _running_cluster() -> bool:
    """A Slurm already up with this test's partition and account (e.g. from an earlier start-local-slurm.sh)."""
    try:
        parts = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=30).stdout
        accounts = subprocess.run(["sacctmgr", "-n", "-P", "show", "account", ACCOUNT, "format=account"],
                                  capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):  # no Slurm commands, or no controller answering
        return False
    return {PARTITION, GPU_PARTITION} <= set(parts.replace("*", "").split()) and ACCOUNT in accounts.split()


def make_slurm_profile(dest: Path) -> Path:
    """profiles/slurm/config.yaml with its ADAPT values set for the local cluster, as a user would edit it."""
    profile = yaml.safe_load(SLURM_PROFILE.read_text())
    profile["default-resources"].update(slurm_account=ACCOUNT, slurm_partition=PARTITION)
    profile["config"] = cluster_config_entry(PARTITION, GPU_PARTITION)
    profile["slurm-init-seconds-before-status-checks"] = 5  # default 40 s per DAG level
    # this node has only nproc CPUs: a job asking for more would pend forever
    cpus = os.cpu_count() or 1
    profile["set-threads"] = {rule: min(n, cpus) for rule, n in profile.get("set-threads", {}).items()}
    dest.mkdir(parents=True)
    (dest / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return dest


def run_slurm(workdir: Path, profile: Path, *args: str, timeout: int) -> subprocess.CompletedProcess:
    """snakemake --profile <profile> under `timeout -k 30`: a hang ends as a failure, not as a stuck CI job."""
    cmd = ["timeout", "-k", "30", str(timeout), PY, "-m", "snakemake", "--profile", str(profile), "--verbose", *args]
    env = {**os.environ, "PATH": f"{Path(PY).parent}:{os.environ.get('PATH', '')}"}
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, timeout=timeout + 120)
    text = proc.stdout + proc.stderr
    if proc.returncode in (124, 137):
        raise AssertionError(f"snakemake --profile slurm did not finish within {timeout} s (hang?):\n{text[-6000:]}")
    if proc.returncode != 0:
        raise AssertionError(f"snakemake --profile slurm failed ({proc.returncode}):\n{text[-6000:]}")
    return proc


def sbatch_calls(proc: subprocess.CompletedProcess) -> dict[str, str]:
    """The plugin's logged sbatch calls (without the --wrap payload), by their --comment rule_<rule>_wildcards_..."""
    calls = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        if "sbatch call: " in line:
            call = line.split("sbatch call: ", 1)[1].split(" --wrap=", 1)[0]
            calls[re.search(r"--comment (\S+)", call).group(1)] = call
    return calls


def sacct_jobs(run_id: str, since: str, expected: int) -> list[dict[str, str]]:
    """Jobs of one Snakemake run (its run id is the Slurm job name); waits briefly for slurmdbd to catch up."""
    rows: list[dict[str, str]] = []
    for _ in range(30):
        out = subprocess.run(["sacct", "-n", "-X", "-P", "-S", since, "--name", run_id,
                              "-o", "JobID,Comment,State,AllocTRES,Partition"], capture_output=True, text=True,
                             timeout=60).stdout
        rows = [dict(zip(("id", "comment", "state", "tres", "partition"), line.split("|")))
                for line in out.splitlines() if line]
        if len(rows) >= expected and all(r["state"] == "COMPLETED" for r in rows):
            break
        time.sleep(1)
    return rows


def rule_of(comment: str) -> str:
    return re.match(r"^rule_(.+?)(?:_wildcards_.*)?$", comment).group(1)


def run_id(proc: subprocess.CompletedProcess) -> str:
    return re.search(r"SLURM run ID: ([0-9a-f-]{36})", proc.stdout + proc.stderr).group(1)


def assert_same_manifest(a: Path, b: Path) -> None:
    from signsearch import manifest

    ma, mb = manifest.read(a), manifest.read(b)
    ia, ib = np.argsort(ma.column("video_id")), np.argsort(mb.column("video_id"))
    for col in ("video_id", "gloss", "signer", "split", "frames", "model_fingerprint"):
        assert [ma.column(col)[i] for i in ia] == [mb.column(col)[i] for i in ib], col
    np.testing.assert_allclose(ma.vectors[ia], mb.vectors[ib], rtol=1e-5, atol=1e-6)


def assert_same_table(a: Path, b: Path) -> None:
    ta, tb = pd.read_csv(a, sep="\t"), pd.read_csv(b, sep="\t")
    assert list(ta.columns) == list(tb.columns) and len(ta) == len(tb)
    for col in ta.columns:
        if pd.api.types.is_numeric_dtype(ta[col]) and pd.api.types.is_numeric_dtype(tb[col]):
            np.testing.assert_allclose(ta[col].to_numpy(float), tb[col].to_numpy(float), rtol=1e-6, atol=1e-9,
                                       equal_nan=True, err_msg=col)
        else:
            assert ta[col].fillna("").astype(str).tolist() == tb[col].fillna("").astype(str).tolist(), col


@pytest.mark.slow
def test_demo_through_slurm_matches_local_run(slurm_cluster, tmp_path):
    config = demo_config()
    data_dir = config["database"]["data_dir"]
    local = make_workdir(tmp_path / "local", config)
    cluster = make_workdir(tmp_path / "slurm", config)
    profile = make_slurm_profile(tmp_path / "profile")
    try:
        snakemake(local, timeout=600)
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 120))
        start = time.monotonic()
        proc = run_slurm(cluster, profile, timeout=SLURM_RUN_TIMEOUT)
        print(f"demo through Slurm: {time.monotonic() - start:.0f} s")

        # Same science: manifests' vectors and the evaluation grid, numerically.
        for m in config["models"]:
            rel = f"results/demo/manifests/{m}.parquet"
            assert_same_manifest(local / rel, cluster / rel)
        assert_same_table(local / "results/report/demo/grid.tsv", cluster / "results/report/demo/grid.tsv")
        assert (cluster / "results/demo/db" / "pose-baseline.json").exists()  # the local rule ran on this host

        # Every non-local job went through Slurm and COMPLETED; local rules did not.
        planned = Counter({r: n for r, n in job_counts(proc).items() if r not in LOCAL_RULES})
        assert planned["synthesize_poses"] and planned["embed"], planned
        rows = sacct_jobs(run_id(proc), since, sum(planned.values()))
        assert Counter(rule_of(r["comment"]) for r in rows) == planned, rows
        assert all(r["state"] == "COMPLETED" for r in rows), rows
        assert {r["partition"] for r in rows if rule_of(r["comment"]) == "embed"} == {PARTITION}, rows  # CPU model

        # The sbatch lines carry the account, partition, threads and memory of the rules.
        calls = sbatch_calls(proc)
        embed = next(c for k, c in calls.items() if k.startswith("rule_embed_"))
        for flag in (f"-A {ACCOUNT}", f"-p {PARTITION}", "--cpus-per-task=2", "--mem 4000", "-t 120"):
            assert flag in embed, (flag, embed)
        assert "--gpus" not in embed  # the baseline model does not want a GPU

        # A gpu model: its embedding job asks Slurm for a GPU (the node has a fake one) and still completes.
        gpu_cfg = tmp_path / "gpu-model.yaml"
        gpu_cfg.write_text(yaml.safe_dump({"models": {"gpu-baseline": {"kind": "pose-baseline", "gpu": True}}}))
        target = "results/demo/embeddings/gpu-baseline/s00000.parquet"
        gproc = run_slurm(cluster, profile, target, f"--configfile={gpu_cfg}", timeout=GPU_RUN_TIMEOUT)
        gcall = next(c for k, c in sbatch_calls(gproc).items() if k.startswith("rule_embed_"))
        assert "--gpus=1" in gcall and f"-p {GPU_PARTITION}" in gcall, gcall
        assert (cluster / target).exists()
        grows = [r for r in sacct_jobs(run_id(gproc), since, 1) if rule_of(r["comment"]) == "embed"]
        assert grows and grows[0]["state"] == "COMPLETED" and "gres/gpu=1" in grows[0]["tres"], grows
        assert grows[0]["partition"] == GPU_PARTITION, grows
    finally:
        for work in (local, cluster):
            stop_database(work, data_dir)
