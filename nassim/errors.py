"""The errors nassim raises, all under one root.

::

    NassimError
    ├── TreeError(ValueError)          a malformed file tree (JSON, path, entry)
    ├── RsyncOptionError(ValueError)   an rsync option the model does not know or cannot parse
    ├── ScenarioError(ValueError)      a scenario file or object with a wrong field
    ├── ContentError(ValueError)       content that cannot be materialized (known only by its digest)
    ├── TopologyError(ValueError)      a test-bed topology (Helm values, manifests, quantity) that is malformed
    ├── ArgumentError(ValueError)      an API call with an argument it cannot use (a strategy's bound, a check name)
    ├── SweepError(ValueError)         a parameter sweep's grid or seeds: an unknown name, no values, a wrong value
    └── BackendError(ValueError)       a backend that does not exist, or cannot run what the scenario asks

Each leaf also subclasses the builtin it refines, so callers can catch either.
Messages name the place (file, path or option), the field and the reason.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "BackendError",
    "ContentError",
    "NassimError",
    "RsyncOptionError",
    "ScenarioError",
    "SweepError",
    "TopologyError",
    "TreeError",
]


class NassimError(Exception):
    """Root of every error nassim raises on purpose."""


class TreeError(NassimError, ValueError):
    """A file tree (or its JSON form) is malformed."""


class RsyncOptionError(NassimError, ValueError):
    """An rsync argument is unknown to the model or malformed."""


class ContentError(NassimError, ValueError):
    """File content cannot be turned into bytes (it is known only by its digest)."""


class TopologyError(NassimError, ValueError):
    """A test-bed topology (Helm values, rendered manifests or a quantity) is malformed."""


class ScenarioError(NassimError, ValueError):
    """A scenario (YAML or Python) has a missing, unknown or invalid field."""


class ArgumentError(NassimError, ValueError):
    """A nassim function got an argument it cannot use: a hypothesis strategy's bound
    (``max_duration`` must be > 0), a check name that does not exist."""


class SweepError(NassimError, ValueError):
    """A parameter sweep cannot run as asked: an unknown parameter name, an empty grid
    or value list, a value of the wrong kind or out of range, or bad seeds. The message
    names the parameter and lists the valid ones."""


class BackendError(NassimError, ValueError):
    """A backend cannot run a scenario as asked: an unknown backend name (the message
    lists the valid ones), a workload, fault or probe the backend does not support
    (named, never silently ignored), a missing binary, or a path that would leave the
    backend's root."""
