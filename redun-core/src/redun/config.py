"""redun.ini: where it lives, how it is read, and what the rest of redun asks of it.

A :class:`Config` is built from a config directory (``.redun/``, read lazily
from ``redun.ini``) or from a dict shaped like the file's sections. Values may
use ``${option}`` (same section), ``${section:option}`` and ``${config_dir}``;
a name that is none of these falls back to the environment variable of that
name.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

CONFIG_DIR_NAME = ".redun"
CONFIG_FILENAME = "redun.ini"
CONFIG_ENV = "REDUN_CONFIG"
DEFAULT_DB_URI = "sqlite:///redun.db"

DEFAULT_REDUN_INI = """\
# redun configuration.

[backend]
db_uri = sqlite:///redun.db

[executors.default]
type = local
max_workers = 20

# [limits]
# gpu = 1
"""

_VAR = re.compile(r"\$(?:\$|\{([^}]*)\})")
_MAX_DEPTH = 10
_SQLITE_URI = re.compile(r"^(sqlite(?:\+\w+)?):///(.*)$")


def parse_text_value(text: str) -> Any:
    """A value given as text (command line, redun.ini): JSON when it parses as JSON,
    otherwise the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class ConfigError(Exception):
    """redun.ini cannot be read; the message names the file and the line."""


class _EnvInterpolation(configparser.Interpolation):
    """``${option}``, ``${section:option}``, then extra variables, then the environment."""

    def __init__(self, variables: Mapping[str, str]) -> None:
        self.variables = variables

    def before_get(self, parser: Any, section: str, option: str, value: str, defaults: Any) -> str:
        return self._expand(parser, section, option, value, 1)

    def _expand(self, parser: Any, section: str, option: str, value: str, depth: int) -> str:
        if "$" not in value:
            return value
        if depth > _MAX_DEPTH:
            raise ConfigError(f"[{section}] {option}: ${{...}} references nest too deeply")

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name is None:
                return "$"
            return self._lookup(parser, section, option, name, depth)

        return _VAR.sub(replace, value)

    def _lookup(self, parser: Any, section: str, option: str, name: str, depth: int) -> str:
        ref_section, _, ref_option = name.rpartition(":")
        ref_section = ref_section or section
        if parser.has_option(ref_section, ref_option):
            raw = parser.get(ref_section, ref_option, raw=True)
            return self._expand(parser, ref_section, ref_option, raw, depth + 1)
        if name in self.variables:
            return self.variables[name]
        if name in os.environ:
            return os.environ[name]
        raise ConfigError(
            f"[{section}] {option}: unknown variable ${{{name}}}; define it in the file "
            "or set the environment variable"
        )


class Config:
    """redun configuration: INI sections of string options.

    ``Config(config_dir=path)`` reads ``path/redun.ini`` on first use (defaults
    if it does not exist); ``Config({"backend": {...}, "executors": {"x": {...}}})``
    builds one from a dict; ``Config.from_string(text)`` from INI text.
    """

    def __init__(
        self, config_dict: Mapping[str, Any] | None = None, config_dir: str | Path | None = None
    ) -> None:
        self.config_dir = Path(config_dir).absolute() if config_dir is not None else None
        self.path: Path | None = None
        self._parser = self._new_parser()
        self._loaded = config_dict is not None or config_dir is None
        if config_dict is not None:
            self._parser.read_dict(_flatten_sections(config_dict))

    @classmethod
    def from_string(cls, text: str, config_dir: str | Path | None = None) -> Config:
        """A Config from INI text."""
        config = cls(config_dir=config_dir)
        config._loaded = True
        config._read(text, "<string>")
        return config

    def _new_parser(self) -> configparser.ConfigParser:
        variables = {"config_dir": str(self.config_dir)} if self.config_dir else {}
        parser = configparser.ConfigParser(interpolation=_EnvInterpolation(variables))
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep option case
        return parser

    def _read(self, text: str, source: str) -> None:
        try:
            self._parser.read_string(text, source)
        except configparser.Error as error:
            raise ConfigError(_parse_error_line(error, source)) from None

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        assert self.config_dir is not None
        path = self.config_dir / CONFIG_FILENAME
        if path.exists():
            self.path = path
            try:
                text = path.read_text()
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"{path}: cannot read ({error})") from None
            self._read(text, str(path))

    # Reading ---------------------------------------------------------------------
    def sections(self) -> list[str]:
        """Names of all sections (``executors.NAME`` sections included)."""
        self._ensure_loaded()
        return self._parser.sections()

    def has_section(self, name: str) -> bool:
        return name in self.sections() or (name == "backend" and self.config_dir is not None)

    def get_section(self, name: str) -> dict[str, str]:
        """The options of one section, interpolated (``{}`` if absent)."""
        self._ensure_loaded()
        section: dict[str, str] = {}
        if self._parser.has_section(name):
            for key in self._parser.options(name):
                try:
                    section[key] = self._parser.get(name, key)
                except ConfigError as error:
                    raise ConfigError(f"{self._source()}: {error}") from None
        if name == "backend":
            db_uri = section.get("db_uri")
            if db_uri is None and self.config_dir is not None:
                db_uri = DEFAULT_DB_URI
            if db_uri is not None:
                section["db_uri"] = resolve_db_uri(db_uri, self.config_dir)
        return section

    def subsections(self, prefix: str) -> dict[str, dict[str, str]]:
        """``{NAME: options}`` for every ``[prefix.NAME]`` section."""
        start = prefix + "."
        return {
            name[len(start) :]: self.get_section(name)
            for name in self.sections()
            if name.startswith(start) and len(name) > len(start)
        }

    def executors(self) -> dict[str, dict[str, str]]:
        """``{name: options}`` from the ``[executors.NAME]`` sections."""
        return self.subsections("executors")

    def limits(self) -> dict[str, int]:
        """``{name: count}`` from ``[limits]``."""
        limits: dict[str, int] = {}
        for name, value in self.get_section("limits").items():
            try:
                limits[name] = int(value)
            except ValueError:
                raise ConfigError(
                    f"{self._source()}: [limits] {name} = {value!r} is not a whole number"
                ) from None
        return limits

    @property
    def db_uri(self) -> str | None:
        """The backend's database URI, relative SQLite paths resolved against the config dir."""
        return self.get_section("backend").get("db_uri")

    def as_dict(self) -> dict[str, dict[str, str]]:
        """Every section, interpolated: ``{"backend": {...}, "executors.NAME": {...}, ...}``."""
        names = self.sections()
        if "backend" not in names and self.config_dir is not None:
            names = ["backend", *names]
        return {name: self.get_section(name) for name in names}

    def _source(self) -> str:
        return str(self.path) if self.path else CONFIG_FILENAME

    # Mapping-style access ----------------------------------------------------------
    def __getitem__(self, name: str) -> dict[str, str]:
        if not self.has_section(name):
            raise KeyError(name)
        return self.get_section(name)

    def get(self, name: str, default: Any = None) -> Any:
        return self.get_section(name) if self.has_section(name) else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.has_section(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def keys(self) -> list[str]:
        return list(self.as_dict())

    def items(self) -> list[tuple[str, dict[str, str]]]:
        return list(self.as_dict().items())

    def __repr__(self) -> str:
        where = self.path or self.config_dir or "dict"
        return f"Config({where})"


def _flatten_sections(config_dict: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``{"executors": {"x": {...}}}`` -> ``{"executors.x": {...}}``; values as strings."""
    flat: dict[str, dict[str, str]] = {}
    for name, body in config_dict.items():
        if not isinstance(body, Mapping):
            raise ConfigError(f"config section {name!r} must be a dict of options")
        nested = [v for v in body.values() if isinstance(v, Mapping)]
        if nested and len(nested) == len(body):
            for sub_name, options in body.items():
                flat[f"{name}.{sub_name}"] = {k: str(v) for k, v in options.items()}
        elif nested:
            raise ConfigError(f"config section {name!r} mixes options and sub-sections")
        else:
            flat[name] = {k: str(v) for k, v in body.items()}
    return flat


def _parse_error_line(error: configparser.Error, source: str) -> str:
    """One line naming the file, the line number and the problem."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        return (
            f"{source}, line {error.lineno}: {error.line.strip()!r} comes before any "
            "[section] header; start the file with a section such as [backend]"
        )
    if isinstance(error, configparser.ParsingError):
        lineno, line = error.errors[0]
        if line[:1] in "'\"":  # Python < 3.12 keeps the repr of the line
            line = ast.literal_eval(line)
        return f"{source}, line {lineno}: cannot parse {line.strip()!r}; expected 'key = value'"
    if isinstance(error, configparser.DuplicateSectionError):
        return f"{source}, line {error.lineno}: section [{error.section}] appears twice"
    if isinstance(error, configparser.DuplicateOptionError):
        return (
            f"{source}, line {error.lineno}: option {error.option!r} appears twice "
            f"in [{error.section}]"
        )
    return f"{source}: {' '.join(str(error).split())}"


def resolve_db_uri(db_uri: str, config_dir: Path | None) -> str:
    """Make a relative SQLite path in ``db_uri`` absolute, relative to ``config_dir``."""
    match = _SQLITE_URI.match(db_uri)
    if match is None or config_dir is None:
        return db_uri
    dialect, rest = match.groups()
    path, sep, query = rest.partition("?")
    if not path or path == ":memory:" or path.startswith("/"):
        return db_uri
    return f"{dialect}:///{config_dir / path}{sep}{query}"


def find_config_dir(config_dir: str | Path | None = None, cwd: str | Path | None = None) -> Path:
    """The config dir: ``config_dir``, else $REDUN_CONFIG, else the nearest ancestor of
    ``cwd`` holding ``.redun/``, else ``cwd/.redun``."""
    if config_dir:
        return Path(config_dir).absolute()
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).absolute()
    start = Path(cwd or os.getcwd()).absolute()
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_DIR_NAME
        if candidate.is_dir():
            return candidate
    return start / CONFIG_DIR_NAME


def init_config_dir(config_dir: str | Path) -> list[Path]:
    """Create ``config_dir`` with a default redun.ini if missing; return what was created."""
    config_dir = Path(config_dir)
    created: list[Path] = []
    if not config_dir.is_dir():
        try:
            config_dir.mkdir(parents=True)
        except OSError as error:
            raise ConfigError(f"cannot create config dir {config_dir}: {error.strerror}") from None
        created.append(config_dir)
    path = config_dir / CONFIG_FILENAME
    if not path.exists():
        path.write_text(DEFAULT_REDUN_INI)
        created.append(path)
    return created
