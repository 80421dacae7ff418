"""The one base class for errors meant for users: the CLI prints them in one line (exit 2), the web app shows
them on the page (HTTP 4xx). Anything else that escapes is a bug and keeps its traceback."""

from __future__ import annotations


class UserError(Exception):
    """An error whose message tells the user what was wrong (the file, the row) and how to fix it."""
