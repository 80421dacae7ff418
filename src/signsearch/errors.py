"""The one base class for errors meant for users: the CLI prints them in one line (exit 2), the web app shows
them on the page (HTTP 4xx). Anything else that escapes is a bug and keeps its traceback."""

from __future__ import annotations


class UserError(Exception):
    """An error whose message tells the user what was wrong (the file, the row) and how to fix it."""

    #: True when the message lists several problems, one per line (`DatasetError`); otherwise it is one line.
    listing = False


_CONTROL = {c: f"\\x{c:02x}" for c in range(32)} | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", 127: "\\x7f"}


def escape_controls(text: str) -> str:
    """`text` with line breaks and other control characters written as escapes (\\n, \\x00, ...)."""
    return text.translate(_CONTROL)


def user_message(exc: UserError) -> str:
    """The message as shown to the user: one line unless it is a listing, with line breaks and other control
    characters of values the user typed (an id, a model name, a file name) escaped so they cannot split it."""
    if exc.listing:
        return "\n".join(escape_controls(line) for line in str(exc).splitlines())
    return escape_controls(str(exc).strip())
