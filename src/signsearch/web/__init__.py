"""The signsearch web app (Flask): `signsearch serve` runs `signsearch.web.app.serve`."""

from signsearch.web.app import create_app, serve

__all__ = ["create_app", "serve"]
