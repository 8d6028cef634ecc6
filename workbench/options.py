"""Command-line options shared by the CLIs (workbench.cli, darts.cli, oneshot.cli): step counts
and options that mirror a config dataclass's fields. A leaf: imports nothing of the workbench.

An option made by `FieldOptions.add` takes its default and type from the config field it
mirrors, so the CLI cannot drift from the dataclass, and `FieldOptions.values` gives the parsed
values back by field name (the parser's `config_options` default holds its FieldOptions). A
command that means another default says so with `default=` and names it in its CLI's
DELIBERATE_DEFAULTS (tests/test_configs.py checks both).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

FROM_FIELD: Any = object()
"""`FieldOptions.add`'s default: the field's own default."""


def parse_steps(text: str) -> int:
    """An integer count that may be written as 1e6 or 1_000_000; rejects fractions and <= 0."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0 or value != int(value):
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(value)


def _option_type(field: dataclasses.Field) -> Any:
    """parse_steps for step counts and intervals, int, float, else None (a string)."""
    kind = str(field.type).split("|")[0].strip()
    if kind == "int":
        return parse_steps if field.name.endswith(("_steps", "_interval")) else int
    return float if kind == "float" else None


class FieldOptions:
    """Adds options to `parser` that mirror fields of the config dataclass `config_class`."""

    def __init__(self, parser: argparse.ArgumentParser, config_class: type) -> None:
        self.parser = parser
        self.config_class = config_class
        self.fields = {f.name: f for f in dataclasses.fields(config_class)}
        self.dests: dict[str, str] = {}
        """Option dest -> the field it mirrors."""
        parser.set_defaults(config_options=self)

    def add(
        self,
        name: str,
        *flags: str,
        default: Any = FROM_FIELD,
        help: str | None = None,
        **kwargs: Any,
    ) -> argparse.Action:
        """`--<name>` (or `flags`) for field `name`: the field's default and type unless given.
        The option's `dest` is the first flag's (e.g. --steps -> steps), as argparse makes it;
        the action remembers its field as `action.config_field`."""
        field = self.fields[name]
        if default is FROM_FIELD:
            default = field.default
        kwargs.setdefault("type", _option_type(field))
        if kwargs["type"] is None:
            del kwargs["type"]
        action = self.parser.add_argument(
            *(flags or ("--" + name.replace("_", "-"),)), default=default, help=help, **kwargs
        )
        action.config_field = (self.config_class, name)  # type: ignore[attr-defined]
        self.dests[action.dest] = name
        return action

    def values(self, args: argparse.Namespace) -> dict[str, Any]:
        """The parsed values of these options by field name; options left at None are left out
        (the command derives those, e.g. from --steps)."""
        values = {name: getattr(args, dest) for dest, name in self.dests.items()}
        return {name: value for name, value in values.items() if value is not None}
