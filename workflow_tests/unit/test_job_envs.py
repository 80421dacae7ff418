"""Job environments without the package installed (`--sdm conda`): envs/*.yaml name no paths (Snakemake copies
them to .snakemake/conda/ first), and scripts and pose workers import this checkout's `signsearch` anyway."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from signsearch.pose import workers

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
HELPER = "_signsearch_src"
ENV_EXTRAS = {"pose": ["pose"], "embed": ["embed"], "db": ["db"], "eval": ["eval", "db"], "train": ["embed", "eval"]}  # as `--editable ..[x]` had


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    return _canonical(re.match(r"[A-Za-z0-9._-]+", requirement).group())


def _pip_entries(env: Path) -> list[str]:
    deps = yaml.safe_load(env.read_text())["dependencies"]
    return [entry for d in deps if isinstance(d, dict) for entry in d["pip"]]


def test_env_files_name_no_paths_and_pin_the_lock() -> None:
    lock = dict(line.split("==", 1) for line in (REPO / "requirements.lock").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    lock = {_canonical(k): v.strip() for k, v in lock.items()}
    for env in sorted((REPO / "envs").glob("*.yaml")):
        for entry in _pip_entries(env):
            assert not entry.startswith("-") and not re.search(r"[/\\]|\.\.|file:", entry), f"{env.name}: {entry}"
            name, _, version = entry.partition("==")
            assert lock.get(_canonical(name)) == version, f"{env.name}: {entry} is not the pin of requirements.lock"


def test_env_files_provide_the_package_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert sorted(p.stem for p in (REPO / "envs").glob("*.yaml")) == sorted(ENV_EXTRAS)
    for stem, extras in ENV_EXTRAS.items():
        listed = {_name(e) for e in _pip_entries(REPO / "envs" / f"{stem}.yaml")}
        needed = {_name(r) for r in project["dependencies"]}
        needed |= {_name(r) for extra in extras for r in project["optional-dependencies"][extra]}
        assert needed <= listed, f"envs/{stem}.yaml lacks {sorted(needed - listed)}"


def test_every_script_imports_the_checkout_first() -> None:
    scripts = [p for p in sorted(SCRIPTS.glob("*.py")) if p.stem != HELPER]
    assert scripts
    for script in scripts:
        imports = [n for n in ast.parse(script.read_text()).body if isinstance(n, ast.Import | ast.ImportFrom)]
        first = imports[0]
        assert isinstance(first, ast.Import) and first.names[0].name == HELPER, f"{script.name}: import {HELPER} first"


def test_scripts_import_signsearch_without_the_package_installed() -> None:
    """-I -S: no site-packages (so no installed signsearch) and no PYTHONPATH; the scripts' folder on sys.path,
    as Snakemake puts it for a local script."""
    probe = "import sys; sys.path.append(sys.argv[1]); {}import signsearch.atomic; print(signsearch.__file__)"
    run = [sys.executable, "-I", "-S", "-c"]
    out = subprocess.run([*run, probe.format(f"import {HELPER}; "), str(SCRIPTS)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == REPO / "src" / "signsearch" / "__init__.py"
    bare = subprocess.run([*run, probe.format(""), str(SCRIPTS)], capture_output=True, text=True)
    assert "No module named 'signsearch'" in bare.stderr  # the probe sees no installed package


def test_pose_workers_import_the_parents_package() -> None:
    probe = "import signsearch.pose.stderr_filter as m; print(m.__file__)"
    out = subprocess.run([sys.executable, "-S", "-c", probe], env=workers._worker_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == Path(workers.__file__).resolve().parent / "stderr_filter.py"


def test_a_snakemake_script_job_imports_the_checkout_of_its_scripts(tmp_path: Path) -> None:
    """Through Snakemake's own `script:` machinery: the helper beside the script puts that checkout's src/ first,
    ahead of the signsearch installed in this environment."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / f"{HELPER}.py").write_text((SCRIPTS / f"{HELPER}.py").read_text())
    (tmp_path / "scripts" / "probe.py").write_text(
        f"import {HELPER}\nimport signsearch\nopen(snakemake.output[0], 'w').write(signsearch.__file__)\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "signsearch").symlink_to(REPO / "src" / "signsearch")
    (tmp_path / "Snakefile").write_text('rule probe:\n    output: "out.txt"\n    script: "scripts/probe.py"\n')
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--quiet", "all", "-d", str(tmp_path),
                    "-s", str(tmp_path / "Snakefile")], check=True, capture_output=True, timeout=300)
    assert (tmp_path / "out.txt").read_text() == str(tmp_path / "src" / "signsearch" / "__init__.py")
