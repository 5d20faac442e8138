"""The backend protocol, the backends by name, and the scaled wall clock live backends share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nassim.errors import BackendError

if TYPE_CHECKING:
    from nassim.scenario import Scenario
    from nassim.trace import Trace

__all__ = ["BACKENDS", "PLANNED", "Backend", "WallClock", "get_backend"]

#: The backends :func:`get_backend` builds.
BACKENDS: tuple[str, ...] = ("local", "minikube", "sim")
#: Backends that are planned but not built yet: named in the error, so a user knows it is not a typo.
PLANNED: tuple[str, ...] = ()


@runtime_checkable
class Backend(Protocol):
    """Anything that runs a scenario and records what happened.

    ``run`` returns the trace (records of :mod:`nassim.trace`, time-ordered,
    ``t`` in scenario seconds from 0 to about ``scenario.duration``). It raises
    :class:`~nassim.errors.BackendError` for a workload, fault or probe it
    cannot run, naming it, before it starts anything; it leaves no process
    behind, whatever happens. :mod:`nassim.backends.conformance` pins the rest.
    """

    name: str

    def run(self, scenario: Scenario) -> Trace: ...


class WallClock:
    """Scenario time on a wall-clock backend: monotonic seconds since :meth:`start`, times ``speed``.

    ``speed`` is scenario seconds per wall second (60: a 30 s sidecar interval
    sleeps 0.5 s). A live cluster runs at speed 1. ``monotonic`` is injectable
    for tests.
    """

    def __init__(self, speed: float = 1.0, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if not speed > 0:
            raise BackendError(f"'speed' must be > 0 (got {speed!r})")
        self.speed = float(speed)
        self._monotonic = monotonic
        self._t0: float | None = None

    def start(self) -> None:
        self._t0 = self._monotonic()

    def now(self) -> float:
        """Scenario seconds since :meth:`start`."""
        if self._t0 is None:
            raise RuntimeError("WallClock.now() before start()")
        return (self._monotonic() - self._t0) * self.speed

    def wall(self, seconds: float) -> float:
        """Wall seconds that ``seconds`` of scenario time take."""
        return seconds / self.speed


def get_backend(name: str, **options: Any) -> Backend:
    """The backend called ``name`` (``sim``, ``local`` or ``minikube``), built with ``options``
    (``get_backend("local", speed=30)``)."""
    if name == "sim":
        from nassim.backends.sim import SimBackend

        return SimBackend(**options)
    if name == "local":
        from nassim.backends.local import LocalBackend

        return LocalBackend(**options)
    if name == "minikube":
        from nassim.backends.minikube import MinikubeBackend

        return MinikubeBackend(**options)
    why = "is not available yet" if name in PLANNED else "is not a backend"
    raise BackendError(f"backend {name!r} {why} (valid: {', '.join(BACKENDS)})")
