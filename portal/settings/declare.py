"""The declaration of a setting, and the types and checks settings are built from.

A ``Setting`` names its environment key, its default as written in ``.env``, the ``Type``
that parses it, an optional check of the parsed value and one line for the README. This
module imports nothing of the project, so any module may declare or read settings.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message names the key to fix."""


@dataclass(frozen=True)
class Type:
    """How text from the environment becomes a value: ``parse`` raises ``ValueError`` with
    the reason ("must be a whole number, not 'x'"), the caller names the key."""

    name: str
    parse: Callable[[str], Any]
    #: An empty value means the default (numbers, flags); text keeps it as given (an empty
    #: ``LOG_DIR`` means stdout only).
    blank_is_default: bool = True


def items(text: str) -> tuple[str, ...]:
    """Return a comma-separated value as its items, blanks dropped."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


def _whole(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number, not {raw!r}") from None


def _number(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"must be a number, not {raw!r}") from None


def _zone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must be an IANA time zone such as Europe/Berlin, "
                         f"not {raw!r}") from None
    return raw


def _networks(raw: str) -> tuple:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items(raw))
    except ValueError as exc:
        raise ValueError(f"must list IP networks such as 127.0.0.1/32: {exc}") from None


TEXT = Type("text", str, blank_is_default=False)
WHOLE = Type("whole number", _whole)
NUMBER = Type("number", _number)
FLAG = Type("0 or 1", lambda raw: raw.strip().lower() in {"1", "true", "yes", "on"})
LIST = Type("comma-separated", items, blank_is_default=False)
ZONE = Type("IANA time zone", _zone)
NETWORKS = Type("IP networks, comma-separated", _networks)
#: Extensions or media types: lower-cased, leading dots dropped.
SUFFIXES = Type("comma-separated",
                lambda raw: frozenset(word.lower().lstrip(".") for word in items(raw)))


@dataclass(frozen=True)
class Setting:
    """One environment key: its default as written in ``.env`` (or a function of the values
    read before it), its type, its check and the README's line about it."""

    key: str
    default: str | Callable[[Mapping[str, Any]], Any]
    help: str
    type: Type = TEXT
    #: Raises ``ValueError`` with the reason when a parsed (or overridden) value is unusable.
    check: Callable[[Any], None] | None = None
    #: The ``app.config`` key, when it is not ``key``; with ``item``, the key of the dict
    #: that holds this value under ``item`` (``SLA_HOURS["high"]``).
    name: str = ""
    item: str = ""
    #: Further ``app.config`` keys that hold the same value.
    also: tuple[str, ...] = ()
    #: The README's default, when the written one says too little (an empty value).
    shown: str = ""
    #: Who reads the key when the app does not (gunicorn, the container's entrypoint).
    reader: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.key)

    def read(self, environ: Mapping[str, str], before: Mapping[str, Any]) -> Any:
        """Return the value ``environ`` gives this key (``before``: the values read so far).

        :raises ConfigError: the value does not parse, naming the key and the reason.
        """
        raw = environ.get(self.key)
        if raw is None or (self.type.blank_is_default and not raw.strip()):
            if callable(self.default):
                return self.default(before)
            raw = self.default
        try:
            return self.type.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{self.key} {exc}") from None

    def store(self, config: dict[str, Any], value: Any) -> None:
        """Put ``value`` where the app reads it."""
        if self.item:
            config.setdefault(self.name, {})[self.item] = value
        else:
            config[self.name] = value
        for name in self.also:
            config[name] = value

    def verify(self, config: Mapping[str, Any]) -> None:
        """Run the check on the value ``config`` holds (read or overridden).

        :raises ConfigError: the value is unusable, naming the key and the reason.
        """
        if self.check is None:
            return
        value = config.get(self.name)
        if self.item:
            value = (value or {}).get(self.item)
        if value is None:
            return
        try:
            self.check(value)
        except ValueError as exc:
            raise ConfigError(f"{self.key} {exc}") from None


@dataclass(frozen=True)
class Area:
    """The settings of one part of the portal, and the ``app.config`` values it fixes
    (library options that are not the operator's to change)."""

    title: str
    about: str
    settings: tuple[Setting, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)


def choice(*options: str) -> Type:
    """Return the type of a value that must be one of ``options``."""
    def parse(raw: str) -> str:
        if raw.strip() not in options:
            raise ValueError(f"must be one of {', '.join(options)}, not {raw.strip()!r}")
        return raw.strip()
    return Type(f"one of {', '.join(options)}", parse, blank_is_default=False)


def positive(value: float) -> None:
    """Refuse a value that is not more than 0."""
    if value <= 0:
        raise ValueError(f"must be more than 0, not {value}")


def fraction(value: float) -> None:
    """Refuse a value that is not strictly between 0 and 1."""
    if not 0 < value < 1:
        raise ValueError(f"must be a fraction between 0 and 1, not {value}")

