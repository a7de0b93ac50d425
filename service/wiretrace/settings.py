"""Settings declared once: every tunable field of a config dataclass carries its help
text, and the command-line flag, the environment variable, the type used to parse a
value and the README's table are all derived from that one declaration.

    @dataclass(frozen=True)
    class Config:
        workers: int = setting(8, "RPC threads")

    settings_of(Config)  # -> (Setting(name="workers", kind=int, default=8, ...),)
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from wiretrace.errors import InvalidInput

__all__ = ["ENV_PREFIX", "Setting", "markdown_table", "setting", "settings_of"]

ENV_PREFIX = "WIRETRACE_"

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def setting(default: T, help: str, *, shown: str | None = None) -> T:
    """A dataclass field with a default and the help text users see; ``shown`` is how
    the default reads in help and docs when ``str(default)`` would not say it well."""
    return field(default=default, metadata={"help": help, "shown": shown})


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    kind: type
    default: object
    help: str
    shown: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, raw: object) -> Any:
        """The value of a flag or an environment variable, in this setting's type."""
        if isinstance(raw, self.kind) and not isinstance(raw, str):
            return raw
        text = str(raw).strip()
        try:
            if self.kind is bool:
                if text.lower() in _TRUE | _FALSE:
                    return text.lower() in _TRUE
                raise ValueError(text)
            return self.kind(text)
        except ValueError:
            expected = {int: "an integer", float: "a number", bool: "true or false"}
            raise InvalidInput(
                f"{self.name} (flag {self.flag} or {self.env}) must be "
                f"{expected.get(self.kind, 'a ' + self.kind.__name__)}, got {raw!r}"
            ) from None


def settings_of(cls: type) -> tuple[Setting, ...]:
    """The settings a config dataclass declares with ``setting``, in field order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):
        if "help" not in f.metadata:
            continue
        kind = hints[f.name]
        if kind not in (str, int, float, bool, Path):
            raise TypeError(f"{cls.__name__}.{f.name}: unsupported setting type {kind}")
        shown = f.metadata["shown"] or str(f.default)
        out.append(Setting(f.name, kind, f.default, f.metadata["help"], shown))
    return tuple(out)


def markdown_table(table: tuple[Setting, ...]) -> str:
    """The README's table of ``table``: flag, environment variable, default, meaning."""
    rows = ["| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `{s.flag}` | `{s.env}` | {s.shown} | {s.help} |" for s in table]
    return "\n".join(rows)
