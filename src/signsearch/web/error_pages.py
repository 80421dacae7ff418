"""The app's error policy: a `UserError` is the user's to fix (HTTP 400, its message on the page), a too large
upload is refused with the limit (413), anything else is a bug (logged with its traceback by Flask, 500).
On the search page the message is shown in the form, which keeps its values; elsewhere it is plain text."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge

from signsearch.errors import UserError, user_message
from signsearch.web.uploads import upload_limits


def register(app: Flask) -> None:
    app.register_error_handler(UserError, _user_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(InternalServerError, _bug)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _page(status: int, message: str, *, read_form: bool = True) -> tuple[str, int] | Response:
    if request.blueprint == "search":
        from signsearch.web.views.search import render_search

        return render_search(status, message, read_form=read_form)
    return Response(message, status, mimetype="text/plain")


def _user_error(exc: UserError) -> tuple[str, int] | Response:
    return _page(400, user_message(exc).split("\n")[0] or exc.__class__.__name__)


def _too_large(_exc: RequestEntityTooLarge) -> tuple[str, int] | Response:
    limit = upload_limits(current_app.config)["max_mb"]
    message = f"the file is larger than the upload limit of {limit:.0f} MB; trim or re-encode it"
    return _page(413, message, read_form=False)  # the body is never read


def _bug(exc: InternalServerError) -> tuple[str, int] | Response:
    cause = exc.original_exception or exc
    return _page(500, f"search failed: {_first_line(cause)}" if request.blueprint == "search" else "internal error")
