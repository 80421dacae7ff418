"""Every third-party module the package imports (at any depth: lazy imports need their distribution too) belongs
to a distribution declared in pyproject.toml (dependencies or an extra); the licence the metadata names is there."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "signsearch"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *(s for extra in project["optional-dependencies"].values() for s in extra)]
    return {_canonical(re.match(r"[A-Za-z0-9._-]+", s).group()) for s in specs}


def _imported_top_level_modules() -> dict[str, list[str]]:
    """Top-level module name -> files importing it (absolute imports only; relative ones are the package's own)."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], []).append(str(path.relative_to(REPO)))
    return found


def test_every_import_is_a_declared_dependency() -> None:
    declared = _declared()
    distributions = importlib.metadata.packages_distributions()
    problems = []
    for module, files in sorted(_imported_top_level_modules().items()):
        if module in sys.stdlib_module_names or module == "signsearch":
            continue
        dists = distributions.get(module)
        if not dists:
            problems.append(f"{module} (imported by {files[0]}): no installed distribution provides it")
        elif not {_canonical(d) for d in dists} & declared:
            wanted = " or ".join(sorted(set(dists)))
            problems.append(f"{module} (imported by {files[0]}): declare {wanted} in pyproject.toml")
    assert not problems, "\n".join(problems)


def test_license_file_matches_the_metadata() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "MIT"}
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the signsearch authors" in text
