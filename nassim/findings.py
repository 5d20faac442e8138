"""Named findings: behaviour the real design permits, read off a trace.

The invariant checks (:mod:`nassim.checks`) say whether a property held;
a finding names a known way the multi-NAS design bites, where and when, so a
user can look it up. :func:`find_findings` returns every one in time order:

===========================  ================================================================
``torn-copy``                a sync copied a file while it was still being written
``resurrected-after-restart`` a file deleted (or renamed away) on NFS came back through the
                             init container after a pod restart
``lost-on-pod-deletion``     a closed write was only in the emptyDir of a deleted pod
``windows-edit-overwritten`` the sidecar copied the export's content over an edit made on Windows
``case-collision``           two export names that differ only in case land on one Windows file
``windows-invalid-name``     an export name Windows cannot store (reserved, ``<>:"\\|?*``, trailing dot)
``temp-file-left-behind``    a ``.NAME.XXXXXX`` rsync temp file, or a writer's temp name, stays on
                             Windows after it is gone from the export
``quick-check-miss``         a sync skipped a rewritten file: same size as the Windows copy, and rsync's
                             quick check (size and whole-second mtime) saw no change
``sidecar-crash-loop``       the sidecar waited in CrashLoopBackOff: no sync while it waits
``init-crash-loop``          an init container failed and backed off: the pod cannot start
``windows-regressed``        a sync copied an older version of a file over a newer one already on
                             Windows (e.g. a replacement pod seeded before the old pod's last run)
===========================  ================================================================

Like the checks, findings never ask which backend made the trace; those that
compare folders need the :class:`~nassim.trace.TreeState` records at the end.
"""

from __future__ import annotations

import re
from collections import defaultdict

from nassim.checks import TraceIndex, clobbered, fold, index, lost_writes, num, overwritten_edits, plural
from nassim.finding import Finding
from nassim.trace import ContainerState, FileRenamed, FileSynced, Trace, WriteOpened
from nassim.tree import windows_name_problem as name_problem

__all__ = ["FINDINGS", "find_findings"]

#: Every finding name, in the order of the table above.
FINDINGS = (
    "torn-copy",
    "resurrected-after-restart",
    "lost-on-pod-deletion",
    "windows-edit-overwritten",
    "case-collision",
    "windows-invalid-name",
    "temp-file-left-behind",
    "quick-check-miss",
    "sidecar-crash-loop",
    "init-crash-loop",
    "windows-regressed",
)

# rsync names its temp file ".NAME.XXXXXX" beside the target (receiver.c get_tmpname).
_RSYNC_TEMP = re.compile(r"^\.(.+)\.[A-Za-z0-9]{6}$")


def find_findings(trace: Trace | TraceIndex) -> list[Finding]:
    """Every named finding in the trace, in time order (those without a time last)."""
    ix = index(trace)
    found = [
        *torn_copies(ix),
        *resurrections(ix),
        *lost_on_pod_deletion(ix),
        *overwritten_windows_edits(ix),
        *case_collisions(ix),
        *invalid_names(ix),
        *temp_files_left(ix),
        *quick_check_misses(ix),
        *crash_loops(ix),
        *regressions(ix),
    ]
    found.sort(key=lambda f: (f.time is None, f.time or 0.0, FINDINGS.index(f.name), f.server or "", f.path or ""))
    return found


def torn_copies(ix: TraceIndex) -> list[Finding]:
    out: list[Finding] = []
    seen: set[tuple[str, str, int]] = set()
    for (server, _), syncs in ix.synced.items():
        for i, fs in enumerate(syncs):
            if not fs.torn or (server, fs.path, fs.content) in seen:
                continue
            seen.add((server, fs.path, fs.content))
            origin = ix.origin.get((server, fs.content))
            opened = ix.opened.get((server, fs.content))
            full = origin.size if origin is not None else (opened.size if opened is not None else None)
            of = f"{fs.size} of {full} bytes" if full is not None else f"{fs.size} bytes"
            what = f"{origin.path} v{origin.version}" if origin is not None else "the file"
            closed = f", closed at t={origin.t:.1f}" if origin is not None else ""
            fixed = next(
                (x for x in syncs[i + 1 :] if x.path == fs.path and x.content == fs.content and x.size == full), None
            )
            if fixed is not None:
                after = (
                    f"the whole file reached Windows at t={fixed.t:.1f} (run {fixed.run}), "
                    f"{num(fixed.t - fs.t)} s later"
                )
            else:
                after = "Windows still held the torn copy at the end of the trace"
            out.append(
                Finding(
                    "torn-copy",
                    server,
                    f"sync run {fs.run} copied {fs.path} while it was being written: {of} of {what}{closed}; {after}",
                    fs.path,
                    fs.t,
                )
            )
    return out


def resurrections(ix: TraceIndex) -> list[Finding]:
    out: list[Finding] = []
    renamed_in: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in ix.trace.records:
        if isinstance(r, FileRenamed) and r.side == "nfs":
            renamed_in[(r.server, r.new_path)].append(r.t)
    for (server, path), copies in ix.synced_nfs.items():
        ends = ix.ends.get((server, path), [])
        for fs in copies:
            # The last time the path went away on NFS before this copy, and nothing put it back since.
            gone = [(t, how) for t, how in ends if t < fs.t and how != "overwritten"]
            if not gone:
                continue
            t_gone, how = gone[-1]
            rewritten = any(t_gone < t < fs.t for t, how2 in ends if how2 == "overwritten")
            if rewritten or any(t_gone < t < fs.t for t in renamed_in.get((server, path), [])):
                continue
            restart = [p for p in ix.pods.get(server, []) if p.phase == "Terminating" and t_gone <= p.t <= fs.t]
            why = f"pod {restart[-1].pod} was deleted at t={restart[-1].t:.1f}; " if restart else ""
            by = "the init container" if fs.container == ix.init_container.get(server) else "the Windows -> NFS sidecar"
            keep = (
                "Windows is the input's source of truth"
                if ix.role(server) == "input"
                else "the Windows copy stayed (the sidecar runs without --delete)"
            )
            out.append(
                Finding(
                    "resurrected-after-restart",
                    server,
                    f"{path} was {how} on NFS at t={t_gone:.1f}, but {keep}; {why}{by} "
                    f"{fs.container} copied it back into the export at t={fs.t:.1f}",
                    path,
                    fs.t,
                )
            )
    return out


def lost_on_pod_deletion(ix: TraceIndex) -> list[Finding]:
    out: list[Finding] = []
    for server in ix.servers:
        if not ix.syncs_to_windows(server):
            continue
        for w, pod in lost_writes(ix, server):
            if pod is None:
                continue
            before = [r for r in ix.sync_runs.get(server, []) if r.t <= w.t]
            last = f"the last sync run before it started at t={before[-1].t:.1f}" if before else "no sync run before it"
            out.append(
                Finding(
                    "lost-on-pod-deletion",
                    server,
                    f"{w.path} v{w.version} closed at t={w.t:.1f} ({last}); it was only on NFS when pod {pod.pod} "
                    f"was deleted at t={pod.t:.1f}, taking its emptyDir export with it: lost after "
                    f"{num(pod.t - w.t)} s in the loss window",
                    w.path,
                    pod.t,
                )
            )
    return out


def overwritten_windows_edits(ix: TraceIndex) -> list[Finding]:
    out: list[Finding] = []
    for server in ix.servers:
        for e, fs in overwritten_edits(ix, server):
            out.append(
                Finding(
                    "windows-edit-overwritten",
                    server,
                    f"{e.path} was edited on Windows at t={e.t:.1f} (v{e.version}); sync run {fs.run} copied the "
                    f"export's {ix.named(server, fs.content, fs.path, fs.size)} over it at t={fs.t:.1f}: "
                    "only the export is a source for the sidecar",
                    e.path,
                    fs.t,
                )
            )
    return out


def case_collisions(ix: TraceIndex) -> list[Finding]:
    out: list[Finding] = []
    for server in ix.servers:
        win = ix.tree(server, "windows")
        if not ix.syncs_to_windows(server) or win is None:
            continue
        names: dict[str, set[str]] = defaultdict(set)
        nfs = ix.tree(server, "nfs")
        for p, *_ in nfs.entries if nfs is not None else ():
            names[fold(p)].add(p)
        for (s, key), syncs in ix.synced.items():
            if s == server:
                names[key].update(fs.path for fs in syncs)
        wfiles = win.files()
        on_windows: dict[str, list[str]] = defaultdict(list)
        for p in wfiles:
            on_windows[fold(p)].append(p)
        for key, group in names.items():
            if len(group) < 2 or not on_windows.get(key) or len(on_windows[key]) >= len(group):
                continue
            ordered = sorted(group)
            held = on_windows[key][0]
            size, content = wfiles[held]
            first = _first_sync_of_all(ix, server, key, group)
            out.append(
                Finding(
                    "case-collision",
                    server,
                    f"the export holds {' and '.join(ordered)}, which differ only in case; the Windows folder "
                    f"is case-insensitive, so both land on one file ({held}) and each sync overwrites it with "
                    f"the other: at the end it holds {ix.named(server, content, held, size)}",
                    ordered[0],
                    first,
                )
            )
    return out


def _first_sync_of_all(ix: TraceIndex, server: str, key: str, group: set[str]) -> float | None:
    """When the last of the names first landed on Windows (the collision happened), if it did."""
    firsts: dict[str, float] = {}
    for fs in ix.synced.get((server, key), []):
        firsts.setdefault(fs.path, fs.t)
    return max(firsts.values()) if firsts else None


def windows_name_problem(path: str) -> str | None:
    """Why Windows cannot store ``path`` (its first bad component), or None (the rule is the tree's)."""
    for part in path.split("/"):
        problem = name_problem(part) if part not in (".", "..") else None
        if problem:
            return f"{part!r} {problem}"
    return None


def invalid_names(ix: TraceIndex) -> list[Finding]:
    out: list[Finding] = []
    for server in ix.servers:
        if not ix.syncs_to_windows(server):
            continue
        seen: dict[str, float | None] = {}
        for w in ix.writes:
            if w.server == server:
                seen.setdefault(w.path, w.t)
        nfs = ix.tree(server, "nfs")
        for p, *_ in nfs.entries if nfs is not None else ():
            seen.setdefault(p, nfs.t if nfs is not None else None)
        reported: set[str] = set()
        for path, t in seen.items():
            why = windows_name_problem(path)
            if why is None:
                continue
            bad = why.split("'")[1]
            prefix = path[: path.index(bad) + len(bad)] if bad in path else path
            if prefix in reported:
                continue
            reported.add(prefix)
            out.append(
                Finding(
                    "windows-invalid-name",
                    server,
                    f"{path}: {why}; a Windows host cannot create it, so the sidecar's copy fails "
                    "(rsync exit 23) or lands under another name",
                    prefix,
                    t,
                )
            )
    return out


def temp_files_left(ix: TraceIndex) -> list[Finding]:
    out: list[Finding] = []
    renamed_away = {(r.server, r.path): r for r in ix.trace.records if isinstance(r, FileRenamed) and r.side == "nfs"}
    for server in ix.servers:
        win, nfs = ix.tree(server, "windows"), ix.tree(server, "nfs")
        if not ix.syncs_to_windows(server) or win is None or nfs is None:
            continue
        in_export = {fold(p) for p, *_ in nfs.entries}
        killed = [r for r in ix.sync_runs.get(server, []) if r.exit_code in (137, 143, 20)]
        # A torn copy under a name no writer opened is a writer's private temp name (its write never finished).
        opened = {r.path for r in ix.trace.records if isinstance(r, WriteOpened) and r.server == server}
        for path, size, _ in win.entries:
            base = path.rpartition("/")[2]
            back = (
                "; a pod restart's init container even copied it back into the export"
                if fold(path) in in_export
                else ""
            )
            ren = renamed_away.get((server, path))
            if ren is not None:
                copies = ix.synced.get((server, fold(path)), [])
                when = copies[0].t if copies else None
                out.append(
                    Finding(
                        "temp-file-left-behind",
                        server,
                        f"{path} is a writer's temp name (renamed to {ren.new_path} on NFS at t={ren.t:.1f}); "
                        f"a sync copied it while it existed ({size} bytes) and, without --delete, it stays on "
                        f"Windows for good{back}",
                        path,
                        when,
                    )
                )
            elif path not in opened and any(
                fs.torn and fs.path == path for fs in ix.synced.get((server, fold(path)), [])
            ):
                first = next(fs for fs in ix.synced[(server, fold(path))] if fs.path == path)
                out.append(
                    Finding(
                        "temp-file-left-behind",
                        server,
                        f"{path} is a writer's temp name: a sync copied it half-written ({size} bytes), the write "
                        "never finished under its final name, and, without --delete, the copy stays on Windows "
                        f"for good{back}",
                        path,
                        first.t,
                    )
                )
            elif _RSYNC_TEMP.match(base):
                when = killed[0].t if killed else None
                by = f"sync run {killed[0].run} was killed (exit {killed[0].exit_code}) " if killed else "a run died "
                out.append(
                    Finding(
                        "temp-file-left-behind",
                        server,
                        f"{path} ({size} bytes) is an rsync temp file: {by}while writing it, and nothing ever "
                        f"removes it from Windows{back}",
                        path,
                        when,
                    )
                )
    return out


def quick_check_misses(ix: TraceIndex) -> list[Finding]:
    """Writes the first sync run after them skipped while Windows held other content of the same size."""
    out: list[Finding] = []
    for w in ix.writes:
        if not ix.syncs_to_windows(w.server):
            continue
        key = (w.server, fold(w.path))
        runs = ix.sync_runs_between(w.server, w.t, float("inf"))
        if not runs or runs[0].exit_code != 0:
            continue
        r = runs[0]
        syncs = ix.synced.get(key, [])
        if any(fs.run == r.run and fs.container == r.container for fs in syncs):
            continue
        # The same name only: a case twin is another file on a case-sensitive host (case-collision covers
        # the other hosts).
        before = [fs for fs in syncs if fs.t < r.t and fs.path == w.path]
        if not before:
            continue
        last = before[-1]
        touched = any(last.t < t < r.t for t, _ in ix.win_changes.get(key, []))
        if touched or last.size != w.size or last.content == w.content:
            continue
        hit = clobbered(ix, w)
        if hit is not None and hit[0] < r.t:
            continue  # the export no longer held it when the run looked: a loss, not a quick-check miss
        nxt = next((fs for fs in syncs if fs.t > r.t), None)
        if nxt is None:
            until = "to the end of the trace"
        elif (nxt.content, nxt.size) == (w.content, w.size):
            until = f"until run {nxt.run} copied v{w.version} at t={nxt.t:.1f}"
        else:
            until = (
                f"until run {nxt.run} copied {ix.named(w.server, nxt.content, w.path, nxt.size)} at t={nxt.t:.1f}; "
                f"v{w.version} never reached Windows"
            )
        out.append(
            Finding(
                "quick-check-miss",
                w.server,
                f"sync run {r.run} skipped {w.path} v{w.version} (closed at t={w.t:.1f}): Windows held "
                f"{ix.named(w.server, last.content, w.path, last.size)} of the same size ({w.size} bytes), and "
                "rsync's quick check compares only size and whole-second mtime, so a rewrite in the second of "
                f"the last copy looks unchanged; Windows kept the stale content {until}",
                w.path,
                r.t,
            )
        )
    return out


def crash_loops(ix: TraceIndex) -> list[Finding]:
    out: list[Finding] = []
    for server in ix.servers:
        sync, init = ix.sync_container.get(server), ix.init_container.get(server)
        by_container: dict[tuple[str, str], list[ContainerState]] = defaultdict(list)
        for c in ix.containers.get(server, []):
            if c.container in (sync, init):
                by_container[(c.pod, c.container)].append(c)
        for (pod, container), states in by_container.items():
            waits = [i for i, c in enumerate(states) if c.reason == "CrashLoopBackOff"]
            if not waits:
                continue
            first = states[waits[0]]
            exits = [c.exit_code for c in states if c.state == "terminated" and c.exit_code not in (None, 0)]
            backoffs, waiting = [], False
            for i in waits:
                resumed = next((c.t for c in states[i + 1 :] if c.state == "running"), None)
                if resumed is None:
                    waiting = True
                else:
                    backoffs.append(f"{num(resumed - states[i].t)} s")
            backed = f"the kubelet backed off {', '.join(backoffs)} before restarting it" if backoffs else ""
            if waiting:
                backed += (" and " if backed else "") + "it was still backing off when the trace ended"
            is_sidecar = container == sync
            name = "sidecar-crash-loop" if is_sidecar else "init-crash-loop"
            if is_sidecar:
                runs = [r.t for r in ix.sync_runs.get(server, [])]
                crashed = next((c.t for c in states if c.state == "terminated" and c.exit_code), first.t)
                before = max((t for t in runs if t <= crashed), default=None)
                after = min((t for t in runs if t > crashed), default=None)
                gap = (
                    f"no sync ran from t={before:.1f} to t={after:.1f}"
                    if before is not None and after is not None
                    else "no sync ran after the crashes"
                    if after is None
                    else f"the first sync ran at t={after:.1f}"
                )
                effect = f"{gap}; writes wait on NFS meanwhile"
            else:
                effect = "the pod stays Pending (Init:CrashLoopBackOff) and its export is not served"
            codes = ", ".join(str(e) for e in exits)
            out.append(
                Finding(
                    name,
                    server,
                    f"{container} of pod {pod} exited {plural(len(exits), 'time')} (exit {codes}); {backed}: {effect}",
                    None,
                    first.t,
                )
            )
    return out


def regressions(ix: TraceIndex) -> list[Finding]:
    """A sync wrote an older version of a path over a newer one it (or another run) had put on Windows.

    rsync keeps no history: after a pod restart the replacement's export is seeded
    from Windows before the old pod's last run (during its grace period) copies a
    newer version there, and the new sidecar's next run copies the older one back.
    """
    out: list[Finding] = []
    for (server, _), syncs in ix.synced.items():
        newest: tuple[int, FileSynced] | None = None
        for fs in syncs:
            origin = ix.origin.get((server, fs.content))
            if fs.torn or origin is None or origin.path != fs.path:
                continue
            if newest is not None and origin.version < newest[0]:
                top = newest[1]
                out.append(
                    Finding(
                        "windows-regressed",
                        server,
                        f"{fs.container} run {fs.run} copied {fs.path} v{origin.version} over v{newest[0]}, "
                        f"which run {top.run} had put on Windows at t={top.t:.1f}: "
                        "Windows went back to an older version",
                        fs.path,
                        fs.t,
                    )
                )
            if newest is None or origin.version > newest[0]:
                newest = (origin.version, fs)
    return out
