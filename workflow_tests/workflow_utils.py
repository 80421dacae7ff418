"""Run the real workflow in a temporary work directory (results land there, the repository stays clean)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_ENTRIES = ("Snakefile", "rules", "scripts", "envs", "report", "profiles")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@contextlib.contextmanager
def chromium(window: str, *flags: str) -> Iterator[Any]:
    """A headless Chromium driven by Selenium in a throw-away profile (`window` is "WIDTH,HEIGHT")."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="signsearch-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 f"--window-size={window}", *flags):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def run_js(driver: Any, body: str, *args: Any) -> Any:
    """Run async JS: `body` sees `done` (the callback), `sleep(ms)` and the arguments as `args`."""
    script = ("var done = arguments[arguments.length - 1], args = Array.prototype.slice.call(arguments, 0, -1);"
              "function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }"
              "(async function () {" + body + "})().catch(function (e) { done({jsError: String(e)}); });")
    result = driver.execute_async_script(script, *args)
    assert not (isinstance(result, dict) and "jsError" in result), result
    return result


@contextlib.contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve a WSGI app on a free localhost port in a thread; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def make_workdir(root: Path, config: dict[str, Any]) -> Path:
    """A work dir whose workflow files link to the repository and whose config is `config`."""
    root.mkdir(parents=True, exist_ok=True)
    for entry in WORKFLOW_ENTRIES:
        if not (root / entry).exists():
            os.symlink(REPO / entry, root / entry)
    (root / "config").mkdir(exist_ok=True)
    for extra in (REPO / "config").iterdir():  # `config` is the whole config: no demo layer on top of it
        if extra.name not in ("config.yaml", "demo.yaml") and not (root / "config" / extra.name).exists():
            os.symlink(extra, root / "config" / extra.name)
    write_config(root, config)
    return root


def write_config(workdir: Path, config: dict[str, Any]) -> None:
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def demo_config() -> dict[str, Any]:
    """What a bare `snakemake` reads in the repository: config/config.yaml with config/demo.yaml on top."""
    from signsearch.config import merge

    config: dict[str, Any] = {}
    for name in ("config.yaml", "demo.yaml"):
        merge(config, yaml.safe_load((REPO / "config" / name).read_text()))
    return config


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: float = 900, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run snakemake with this interpreter; on failure show its output (and job logs) in the assertion."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    bin_dir = str(Path(sys.executable).parent)
    full_env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", **(env or {})}
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def job_counts(proc: subprocess.CompletedProcess) -> Counter:
    """Jobs per rule from Snakemake's 'Job stats' table (what it planned and then ran)."""
    counts: Counter = Counter()
    text = proc.stdout + "\n" + proc.stderr
    if "Job stats:" not in text:
        return counts
    block = text.split("Job stats:", 1)[1].splitlines()
    for line in block[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        if m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


def stop_database(workdir: Path, data_dir: str) -> None:
    subprocess.run([sys.executable, "-m", "signsearch.cli", "db", "stop", "--data-dir", str(workdir / data_dir)],
                   cwd=workdir, capture_output=True, timeout=120)
