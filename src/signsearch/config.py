"""Load and validate the workflow configuration: one schema, shared by the Snakefile and the CLI."""

from __future__ import annotations

import copy
import functools
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from signsearch.errors import UserError

DEFAULT_CONFIG = Path("config/config.yaml")


class ConfigError(UserError, ValueError):
    """The configuration is invalid; the message names the file and the offending key."""


def schema() -> dict[str, Any]:
    text = resources.files("signsearch").joinpath("schemas/config.schema.yaml").read_text()
    return yaml.safe_load(text)


@functools.cache
def _model_validator() -> jsonschema.protocols.Validator:
    return _with_defaults(jsonschema.Draft202012Validator)(schema()["properties"]["models"]["additionalProperties"])


def _with_defaults(validator_class: type) -> type:
    """A validator that fills in schema defaults, as Snakemake's validate(set_default=True) does."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001 - jsonschema callback signature
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def validate(config: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate (filling defaults in place) and return the config; raise ConfigError naming the key."""
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: invalid value at '{where}': {err.message}")
    for name in config.get("evaluate", {}).get("models", []) or []:
        if name not in config["models"]:
            raise ConfigError(f"{source}: evaluate.models names '{name}', which is not under models:")
    return config


def validate_model(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One `models:` entry checked and completed with the schema's defaults (a copy; the argument is unchanged)."""
    entry = copy.deepcopy(entry)
    errors = sorted(_model_validator().iter_errors(entry), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(["models", name, *(str(p) for p in errors[0].absolute_path)])
        raise ConfigError(f"invalid value at '{where}': {errors[0].message}")
    return entry


def load(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read a YAML config (default: config/config.yaml or $SIGNSEARCH_CONFIG) and validate it."""
    path = Path(path or os.environ.get("SIGNSEARCH_CONFIG") or DEFAULT_CONFIG)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (pass --config FILE or run from the project folder)")
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return validate(config, str(path))
