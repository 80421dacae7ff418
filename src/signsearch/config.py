"""Load, layer and validate the workflow configuration: one schema and one layering (`layers`, `merge`, `load`),
shared by the Snakefile, the CLI and the web app, so every command reads the config the workflow runs with."""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from signsearch.errors import UserError

BASE_CONFIG = Path("config/config.yaml")  # neutral settings: the model, pose, database and evaluation defaults
DEMO_CONFIG = Path("config/demo.yaml")  # the synthetic demo dataset and its subsets
DROPPABLE = (("datasets",), ("models",), ("evaluate", "subsets"))  # where `name: null` removes an entry

ConfigSource = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None


class ConfigError(UserError, ValueError):
    """The configuration is invalid; the message names the file and the offending key."""


def schema() -> dict[str, Any]:
    return copy.deepcopy(_parsed_schema())


@functools.cache
def _parsed_schema() -> dict[str, Any]:
    # Parsed once per process: it takes ~0.4 s, and the web app loads the config on every request.
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


def _drop_nulls(config: dict[str, Any]) -> None:
    """`name: null` in a later config file removes an entry an earlier one set (a demo subset, a base model)."""
    for path in DROPPABLE:
        section = config
        for key in path:
            section = section.get(key) if isinstance(section, dict) else None
        if isinstance(section, dict):
            for name in [n for n, entry in section.items() if entry is None]:
                del section[name]


def validate(config: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate (filling defaults in place) and return the config; raise ConfigError naming the key.
    Entries set to null under datasets, models and evaluate.subsets are removed first."""
    _drop_nulls(config)
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


def demo_layer(configfiles: Sequence[str | os.PathLike[str]]) -> Path | None:
    """The demo config, read after the base only when no --configfile names the user's own (so a bare
    `snakemake` runs the demo and `--configfile mine.yaml` runs only what mine.yaml names)."""
    return DEMO_CONFIG if not configfiles and DEMO_CONFIG.is_file() else None


def layers(configfiles: Sequence[str | os.PathLike[str]] = ()) -> list[Path]:
    """The files the workflow reads, in Snakemake's order: base, demo (see demo_layer), each --configfile."""
    demo = demo_layer(configfiles)
    return [p for p in (BASE_CONFIG, demo) if p is not None and p.is_file()] + [Path(f) for f in configfiles]


def merge(config: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep update in place, as Snakemake layers config files: mappings merge, anything else (null too) replaces."""
    for key, value in update.items():
        if isinstance(value, Mapping):
            config[key] = merge(config[key] if isinstance(config.get(key), dict) else {}, value)
        else:
            config[key] = copy.deepcopy(value)
    return config


def parse_override(entry: str) -> dict[str, Any]:
    """One `--config KEY=VALUE` as Snakemake parses it: int, float, bool, then YAML (all strings inside), else text."""
    key, sep, text = entry.partition("=")
    if not sep or not re.fullmatch(r"[a-zA-Z_][\w-]*\w", key):
        raise ConfigError(f"--config {entry!r}: expected a config file or KEY=VALUE (KEY a top-level key)")
    if text == "":
        return {key: None}
    for parse in (int, float, _parse_bool, lambda t: yaml.load(t, Loader=yaml.BaseLoader)):
        try:
            value = parse(text)
        except Exception:  # noqa: BLE001 - try the next parser, as Snakemake does
            continue
        if value is not None:
            return {key: value}
    return {key: text}


def _parse_bool(text: str) -> bool:
    if text in ("True", "False"):  # Snakemake's spelling; `true` stays the text 'true'
        return text == "True"
    raise ValueError(text)


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (pass --config FILE or run from the project folder)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file (byte {exc.start} is not UTF-8); a config is YAML text") from exc
    except yaml.YAMLError as exc:  # one line: what is wrong and where
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError(f"{path}: not valid YAML: {problem}{where}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    return data


def load(source: ConfigSource = None) -> dict[str, Any]:
    """The validated config the workflow would run with. `source` is what follows `--config` on the command
    line: one config file, or a list of config files and KEY=VALUE overrides (an entry with '=' that is not an
    existing file is an override). Layering as Snakemake's: config/config.yaml, then config/demo.yaml when no
    file is given, then the files in order, then the overrides. Without a source: $SIGNSEARCH_CONFIG (files
    separated by os.pathsep), else the base and the demo."""
    if source is None:
        env = os.environ.get("SIGNSEARCH_CONFIG")
        source = env.split(os.pathsep) if env else []
    entries = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    is_override = [isinstance(e, str) and "=" in e and not Path(e).is_file() for e in entries]
    files = [Path(e) for e, o in zip(entries, is_override) if not o]
    overrides = [e for e, o in zip(entries, is_override) if o]
    paths = layers(files)
    if not paths:
        raise ConfigError(f"{BASE_CONFIG}: config file not found (pass --config FILE or run from the project folder)")
    config: dict[str, Any] = {}
    for path in paths:
        merge(config, _read(path))
    for entry in overrides:
        merge(config, parse_override(entry))
    return validate(config, " + ".join(str(p) for p in paths) + "".join(f" --config {e}" for e in overrides))
