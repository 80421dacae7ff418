"""Database errors: user errors (`signsearch.errors.UserError`) under one `DatabaseError`."""

from __future__ import annotations

from signsearch.errors import UserError


class DatabaseError(UserError, RuntimeError):
    """Base class: the message is one line meant for the user, never containing a password."""


class DatabaseUnavailable(DatabaseError):
    """No server reachable (embedded server not running, or SIGNSEARCH_DB_URL unreachable)."""


class UnknownDataset(DatabaseError):
    pass


class UnknownModel(DatabaseError):
    pass


class UnknownVideo(DatabaseError):
    pass


class DimensionMismatch(DatabaseError):
    """A vector or manifest whose size differs from the model's stored dimension."""


class InvalidQuery(DatabaseError):
    """Bad query arguments (metric, k, filter keys)."""


class LoadError(DatabaseError):
    """A manifest that cannot be loaded as given (wrong dataset or model name, duplicate ids)."""
