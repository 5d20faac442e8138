"""The simulator's random draws for a writer, shared by the wall-clock backends.

Same seed, same stream name: the same times, names, sizes and contents as the
simulator draws (gap, name, size, content, in that order), so a write on a
live backend can be matched to the simulator's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator

import attrs

from nassim.scenario import Size, Writer

__all__ = ["PlannedWrite", "draw_size", "plan_writes", "schedule_each", "stream"]


def stream(seed: int, name: str) -> random.Random:
    """The simulator's named sub-stream of a scenario's seed (``Simulation.rng``): same seed and
    name, same draws, in any process."""
    return random.Random(f"{seed}:{name}")


@attrs.frozen
class PlannedWrite:
    """One write a writer will make: at ``t``, ``path`` (with the writer's prefix), ``size`` bytes of ``content``."""

    t: float
    path: str
    size: int
    content: int


def draw_size(size: Size, rng: random.Random) -> int:
    """A file size from ``size``'s distribution (the simulator's draw)."""
    if size.dist == "fixed":
        return size.value
    if size.dist == "uniform":
        return rng.randint(size.min, max(size.min, size.max))
    return max(0, int(rng.lognormvariate(math.log(max(size.value, 1)), size.sigma)))


def plan_writes(w: Writer, rng: random.Random, duration: float) -> Iterator[PlannedWrite]:
    """The writes of ``w`` before its ``stop`` and the scenario's ``duration``, lazily, in time order."""
    t = w.start
    n = 0
    while True:
        t += rng.expovariate(w.rate) if w.process == "poisson" else 1.0 / w.rate
        if (w.stop is not None and t > w.stop) or t >= duration:
            return
        n += 1
        name = f"f{(rng.randrange(w.names) if w.names else n):06d}.dat"
        size = draw_size(w.size, rng)
        yield PlannedWrite(t, w.prefix + name, size, rng.getrandbits(62))


def schedule_each(
    plan: Iterator[PlannedWrite], at: Callable[[float, Callable[[], None]], None], act: Callable[[PlannedWrite], None]
) -> None:
    """``act(write)`` at each planned write's time, through the caller's ``at(t, fn)``; the next write
    is drawn only when one fires, so a long plan never sits in the event heap."""

    def step() -> None:
        pw = next(plan, None)
        if pw is None:
            return

        def fire() -> None:
            act(pw)
            step()

        at(pw.t, fire)

    step()
