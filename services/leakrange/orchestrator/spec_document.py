"""Guards on an exercise document before it is built: nesting depth and alias expansion are
bounded while the YAML is still a stream of events (so neither a 1,000-deep document nor a
"billion laughs" alias bomb is ever materialised), and every number in the parsed document is
finite and fits in 64 bits. Problems name the YAML path, never the value."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import yaml

MAX_DEPTH = 32
# Nodes after every alias is expanded; a real exercise file has a few hundred.
MAX_NODES = 20_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Loc = tuple[str | int, ...]


class DocumentTooComplex(ValueError):
    """The YAML nests too deep or expands to too many nodes (message is safe to show)."""


def check_yaml_shape(text: str | bytes) -> None:
    """Refuse documents nested deeper than ``MAX_DEPTH`` or expanding beyond ``MAX_NODES``.

    Counts nodes from the parser's event stream: an alias counts as the size of the node its
    anchor names (itself counted with its own expanded aliases), so expansion is bounded without
    building anything. YAML syntax errors are left to the loader."""
    sizes: dict[str, int] = {}
    stack: list[tuple[str | None, int]] = []
    total = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                total += sizes.get(event.anchor or "", 1)
            elif isinstance(event, yaml.ScalarEvent):
                total += 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                stack.append((event.anchor, total))
                total += 1
                if len(stack) > MAX_DEPTH:
                    raise DocumentTooComplex(f"nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                anchor, start = stack.pop()
                if anchor:
                    sizes[anchor] = total - start
            if total > MAX_NODES:
                raise DocumentTooComplex(
                    f"more than {MAX_NODES:,} values once aliases are expanded")
    except yaml.YAMLError:
        return


def number_problems(doc: Any) -> list[tuple[Loc, str]]:
    """Non-finite floats and integers outside 64 bits anywhere in ``doc``."""
    return list(_walk(doc, ()))


def _walk(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, bool):
        return
    if isinstance(value, float) and not math.isfinite(value):
        yield loc, "must be a finite number"
    elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        yield loc, "must fit in a 64-bit integer"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*loc, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*loc, i))
