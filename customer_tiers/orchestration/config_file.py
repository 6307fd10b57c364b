"""Reading a configuration file: any file a user points --config at gives a mapping or one
ConfigError that names the file (and the line where known), never a traceback or an abort.

Aliases (`*name`, `<<: *name`) are refused while the YAML is composed, before any Python object
is built: a few hundred bytes of nested aliases (a "billion laughs" file) would otherwise expand
to gigabytes when the configuration is merged, validated or handed to dbt.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

# A configuration is a few kilobytes; anything far larger is the wrong file.
MAX_CONFIG_BYTES = 1_000_000


class ConfigError(Exception):
    """An unreadable or invalid configuration file (the CLI exits 2)."""


class _AliasFound(yaml.YAMLError):
    def __init__(self, event: yaml.AliasEvent) -> None:
        super().__init__(f"YAML aliases are not accepted (*{event.anchor})")
        self.problem = f"YAML aliases are not accepted (*{event.anchor}): write the values out"
        self.problem_mark = event.start_mark


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing alias events in the composer (anchors alone are inert)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _AliasFound(self.peek_event())
        return super().compose_node(parent, index)


def _text(path: Path) -> str:
    """The file's text, or a ConfigError saying why it cannot be read."""
    try:
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder; --config takes a YAML file")
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as err:
        raise ConfigError(f"configuration file not found: {path}") from err
    except PermissionError as err:
        raise ConfigError(f"{path}: cannot be read (permission denied)") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err})") from err
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: more than {MAX_CONFIG_BYTES:,} bytes; a configuration is a small YAML file"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} line {line}: not UTF-8 text (byte 0x{raw[err.start]:02x}); save the "
            "configuration as UTF-8 (GBK and other encodings are not read)"
        ) from err


def _yaml_message(path: Path, err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(err, "problem", None)
    context = getattr(err, "context", None)
    what = "; ".join(p for p in (context, problem) if p) or str(err).replace("\n", " ")
    return f"{path}{where}: not valid YAML: {what}"


def read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping (an empty file is an empty mapping)."""
    text = _text(path)
    loader = _NoAliasLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as err:
        raise ConfigError(_yaml_message(path, err)) from err
    except RecursionError as err:
        raise ConfigError(f"{path}: nested too deeply to be a configuration") from err
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        found = type(data).__name__
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, found a {found}")
    return data


def _locate(path: Path, keys: Sequence[str | int]) -> tuple[int | None, int]:
    """The line (1-based) of the deepest of `keys` the file spells out, and how many it does."""
    try:
        node = yaml.compose(_text(path), Loader=_NoAliasLoader)
    except (ConfigError, yaml.YAMLError, RecursionError):
        return None, 0
    line, depth = None, 0
    for key in keys:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(key)), None)
            if child is not None:
                line = next(k for k, v in node.value if v is child).start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
            line = child.start_mark.line + 1
        if child is None:
            break
        node, depth = child, depth + 1
    return line, depth


def describe_invalid(err: ValidationError, files: Sequence[Path]) -> str:
    """One message for a configuration that does not validate: each problem with the file, line
    and dotted key it comes from (the last of `files` that spells the key out, the user's file
    being last)."""
    problems = []
    for error in err.errors()[:5]:
        loc = [part for part in error["loc"] if part != "source_path"]
        found = [(_locate(f, loc), f) for f in files]
        (line, depth), file = max(found, key=lambda item: (item[0][1], files.index(item[1])))
        if depth == 0:
            file, line = files[-1], None
        where = f"{file} line {line}" if line else str(file)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (config/tiers.yml lists every key)"
        elif error["type"] not in ("value_error", "missing") and not isinstance(
            error["input"], dict | list
        ):
            message += f" (found {error['input']!r})"
        key = ".".join(str(part) for part in loc)
        problems.append(f"{where}: {key}: {message}" if key else f"{where}: {message}")
    more = len(err.errors()) - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
