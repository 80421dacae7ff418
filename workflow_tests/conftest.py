"""Shared fixtures. Real test material lives outside the project; SIGNSEARCH_TESTDATA points at it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _testdata_root() -> Path | None:
    env = os.environ.get("SIGNSEARCH_TESTDATA")
    return Path(env) if env else None


@pytest.fixture(scope="session")
def testdata() -> Path:
    root = _testdata_root()
    if root is None or not root.is_dir():
        pytest.skip("real test material absent: set SIGNSEARCH_TESTDATA to ../shared/testdata")
    return root
