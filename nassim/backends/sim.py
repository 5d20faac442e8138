"""The ``sim`` backend: the in-process simulator (:func:`nassim.cluster.simulate`), in virtual time."""

from __future__ import annotations

from nassim.cluster import simulate
from nassim.scenario import Scenario
from nassim.trace import Trace

__all__ = ["SimBackend"]


class SimBackend:
    """Runs scenarios on the fake cluster: deterministic, seconds for days of scenario time."""

    name = "sim"

    def run(self, scenario: Scenario) -> Trace:
        trace = simulate(scenario)
        trace.params.setdefault("backend", self.name)
        return trace

    def __repr__(self) -> str:
        return "SimBackend()"
