"""Things registered by name, so that a suite YAML only names them."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._docs: dict[str, str] = {}

    def register(self, name: str, doc: str = "") -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.kind} {name!r} registered twice")
            self._items[name] = obj
            lines = (getattr(obj, "__doc__", None) or "").strip().splitlines()
            self._docs[name] = doc or (lines[0] if lines else "")
            return obj

        return deco

    def get(self, name: str, where: str = "") -> T:
        if name not in self._items:
            raise UserError(unknown_name_message(self.kind, name, list(self._items), where))
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def describe(self) -> list[tuple[str, str]]:
        return [(n, self._docs.get(n, "")) for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._items


def unknown_name_message(kind: str, name: str, known: list[str], where: str = "") -> str:
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" — did you mean {close[0]!r}?" if close else ""
    loc = f"{where}: " if where else ""
    return f"{loc}unknown {kind} {name!r}{hint} (known: {', '.join(sorted(known))})"
