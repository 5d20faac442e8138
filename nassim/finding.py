"""A finding: one named thing worth knowing about a configuration or a run.

One class serves both kinds: the static checks of :mod:`nassim.topology`
(which read a configuration: ``path`` and ``time`` stay None) and the
findings of :mod:`nassim.findings` (which read a trace: behaviour the real
design permits, such as a torn copy or a deleted file coming back after a pod
restart, located by ``path`` and ``time``).
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Finding"]


@attrs.frozen
class Finding:
    """What was found (``name``, a stable kebab-case id), where, and why it matters.

    ``server`` is None for the whole set; ``time`` is seconds since the
    scenario started (the moment it happened, or was first seen).
    """

    name: str
    server: str | None
    explanation: str
    path: str | None = None
    time: float | None = None

    def __str__(self) -> str:
        where = f"{self.server}: " if self.server else ""
        when = f"t={self.time:.1f} " if self.time is not None else ""
        return f"{when}{where}{self.explanation} [{self.name}]"

    def to_json(self) -> dict[str, Any]:
        """``{name, server, path, time, explanation}``, the report's JSON form."""
        return {
            "name": self.name,
            "server": self.server,
            "path": self.path,
            "time": None if self.time is None else round(self.time, 3),
            "explanation": self.explanation,
        }
