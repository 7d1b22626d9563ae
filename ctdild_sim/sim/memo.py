"""Values worked out once per scenario part, for the objects a replicate builds afresh.

A replicate builds its trial from the scenario's frozen parts; what those parts imply (lookup
tables, blocks of draws) is the same every time, so it is made once. The parts are told apart by
identity: they are frozen, but some hold dicts (unhashable) and hashing the others by value would
cost more than what is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Part = TypeVar("Part")
Made = TypeVar("Made")


class IdentityMemo(Generic[Part, Made]):
    """``make(part)``, made once per part, or per sequence of parts (told apart by their members'
    identities: a sequence built afresh from the same objects is the same key). It keeps the parts,
    so an id is not reused while its value is kept, and at most ``size`` values: when full it
    starts again (a forecast draws new parts for every replicate)."""

    def __init__(self, make: Callable[[Part], Made], size: int = 64) -> None:
        self.make = make
        self.size = size
        self._kept: dict[tuple[int, ...], tuple[Part, Made]] = {}

    def __call__(self, part: Part) -> Made:
        members: Sequence[object] = part if isinstance(part, list | tuple) else (part,)
        key = tuple(id(m) for m in members)
        kept = self._kept.get(key)
        if kept is not None:
            return kept[1]
        if len(self._kept) >= self.size:
            self._kept.clear()
        made = self.make(part)
        self._kept[key] = (part, made)
        return made
