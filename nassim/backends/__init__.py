"""Backends: where a scenario runs. Each one turns a :class:`~nassim.scenario.Scenario`
into a :class:`~nassim.trace.Trace`, and the same checks judge every trace.

The protocol is one attribute and one method (see :class:`Backend`)::

    class Backend(Protocol):
        name: str
        def run(self, scenario: Scenario) -> Trace: ...

- :class:`SimBackend` (``sim``): the in-process simulator, virtual time.
- :class:`LocalBackend` (``local``): real folders, the real ``rsync`` and real
  ``sh`` loops on this machine, in scaled wall time.
- ``minikube`` (planned): a live cluster through ``kubectl``.

:func:`get_backend` builds one by name. :mod:`nassim.backends.conformance`
holds the public suite (``check_*``) any backend must pass.
"""

from __future__ import annotations

from nassim.backends.base import BACKENDS, PLANNED, Backend, WallClock, get_backend
from nassim.backends.local import LocalBackend
from nassim.backends.sim import SimBackend

__all__ = ["BACKENDS", "PLANNED", "Backend", "LocalBackend", "SimBackend", "WallClock", "get_backend"]
