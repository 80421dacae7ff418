"""What every view of the app shares: the backend (config, registries, database) and the results reader."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from signsearch.web.backend import Backend
from signsearch.web.results import Results


@dataclass(frozen=True)
class Site:
    backend: Backend
    results: Results


def current_site() -> Site:
    return current_app.extensions["signsearch"]
