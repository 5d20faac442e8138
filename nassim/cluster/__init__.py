"""The fake cluster: the multi-NAS test bed on simpy, in virtual time."""

from nassim.cluster.simulation import Simulation, sidecar_backoff, simulate

__all__ = ["Simulation", "sidecar_backoff", "simulate"]
