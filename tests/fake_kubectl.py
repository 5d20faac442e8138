#!/usr/bin/env python3
"""A fake ``kubectl`` for the minikube backend's tests: serves a cluster described by a JSON state file.

Usage: ``fake_kubectl.py [global flags] COMMAND...`` with ``FAKE_KUBECTL_STATE``
naming the state file (tests write a wrapper named ``kubectl`` that sets it).
The state file::

    {"current_context": "minikube",          # null: "current-context is not set"
     "contexts": ["minikube"],               # --context must name one of these
     "unreachable": false,                   # true: API calls fail like a stopped cluster
     "hang": 0,                              # seconds every call sleeps first
     "pods": [ <pod objects as the API server returns them> ],
     "log": "/path/calls.jsonl"}            # optional: each argv appended as one JSON line

Served: ``config current-context`` and ``get pods -l KEY=VALUE -o json`` (with
``--context``, ``-n``/``--namespace``, ``--request-timeout``). A state file
written by ``tests/fake_cluster.py`` (a live cluster on the local backend)
adds what a live cluster serves:

- ``exec [-i] POD -c CONTAINER -- CMD ARG...``: runs CMD here, each argument
  that starts with one of the container's mount paths (``mounts``) mapped to
  the real folder, stdin passed through; the container must be running;
- ``logs POD -c CONTAINER [--timestamps] [--since-time=RFC3339]`` from
  ``container_logs``;
- ``delete pod POD [--wait=false]``: a request into the ``control`` folder.

Anything else exits 2 naming the command, so a test sees any call it did not expect.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime
from typing import Any, NoReturn

GLOBAL_WITH_VALUE = {"--context", "--namespace", "-n", "--request-timeout", "--kubeconfig"}


def parse(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    flags: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, value = a.partition("=")
        if name in GLOBAL_WITH_VALUE:
            if not eq:
                i += 1
                if i >= len(argv):
                    fail(f'error: flag needs an argument: {a}')
                value = argv[i]
            flags["--namespace" if name == "-n" else name] = value
        else:
            rest.append(a)
        i += 1
    return flags, rest


def fail(message: str, code: int = 1) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(code)


def get_pods(state: dict[str, Any], flags: dict[str, str], args: list[str]) -> None:
    selector: str | None = None
    output: str | None = None
    i = 0
    while i < len(args):
        if args[i] in ("-l", "--selector") and i + 1 < len(args):
            selector = args[i + 1]
            i += 2
        elif args[i] in ("-o", "--output") and i + 1 < len(args):
            output = args[i + 1]
            i += 2
        else:
            fail(f"fake kubectl: unsupported argument to get pods: {args[i]}", 2)
    if output != "json" or selector is None or "=" not in selector:
        fail(f"fake kubectl: only 'get pods -l KEY=VALUE -o json' is served (got {args})", 2)
    key, _, value = (selector or "").partition("=")
    namespace = flags.get("--namespace", "default")
    items = [
        p
        for p in state.get("pods", [])
        if p.get("metadata", {}).get("namespace", "default") == namespace
        and p.get("metadata", {}).get("labels", {}).get(key) == value
    ]
    print(json.dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}))


def find_pod(state: dict[str, Any], name: str, namespace: str) -> dict[str, Any]:
    for p in state.get("pods", []):
        meta = p.get("metadata", {})
        if meta.get("name") == name and meta.get("namespace", "default") == namespace:
            return p
    fail(f'Error from server (NotFound): pods "{name}" not found')


def split_container(args: list[str]) -> tuple[str | None, list[str]]:
    container = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-c", "--container") and i + 1 < len(args):
            container = args[i + 1]
            i += 2
            continue
        if a.startswith("--container="):
            container = a.partition("=")[2]
        else:
            rest.append(a)
        i += 1
    return container, rest


def exec_(state: dict[str, Any], flags: dict[str, str], args: list[str]) -> None:
    if "--" not in args:
        fail("fake kubectl: exec needs '-- COMMAND'", 2)
    k = args.index("--")
    container, opts = split_container(args[:k])
    command = args[k + 1 :]
    opts = [o for o in opts if o not in ("-i", "--stdin")]
    if len(opts) != 1 or container is None or not command:
        fail(f"fake kubectl: only 'exec [-i] POD -c CONTAINER -- CMD...' is served (got {args})", 2)
    pod = find_pod(state, opts[0], flags.get("--namespace", "default"))
    statuses = pod["status"].get("initContainerStatuses", []) + pod["status"].get("containerStatuses", [])
    st = next((s for s in statuses if s.get("name") == container), None)
    if st is None or "running" not in st.get("state", {}):
        fail(f'error: unable to upgrade connection: container not found ("{container}")')
    mounts = state["mounts"][opts[0]][container]

    def mapped(a: str) -> str:
        for path, real in mounts.items():
            if a == path or a.startswith(path + "/"):
                return real + a[len(path) :]
        return a

    p = subprocess.run([mapped(a) for a in command], stdin=sys.stdin, check=False)
    sys.exit(p.returncode)


def logs(state: dict[str, Any], flags: dict[str, str], args: list[str]) -> None:
    container, rest = split_container(args)
    stamps = "--timestamps" in rest
    since = next((a.partition("=")[2] for a in rest if a.startswith("--since-time=")), None)
    names = [a for a in rest if not a.startswith("--")]
    if len(names) != 1 or container is None:
        fail(f"fake kubectl: only 'logs POD -c CONTAINER [--timestamps] [--since-time=T]' is served (got {args})", 2)
    find_pod(state, names[0], flags.get("--namespace", "default"))
    path = state.get("container_logs", {}).get(names[0], {}).get(container)
    if path is None:
        return
    limit = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() if since else None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            stamp, _, text = line.rstrip("\n").partition(" ")
            if limit is not None and datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() < limit:
                continue
            print(line.rstrip("\n") if stamps else text)


def delete_pod(state: dict[str, Any], flags: dict[str, str], args: list[str]) -> None:
    names = [a for a in args if not a.startswith("--wait")]
    if len(names) != 1 or "control" not in state:
        fail(f"fake kubectl: only 'delete pod POD [--wait=false]' on a fake cluster is served (got {args})", 2)
    find_pod(state, names[0], flags.get("--namespace", "default"))
    path = os.path.join(state["control"], f"{time.time_ns()}-{uuid.uuid4().hex[:6]}.json")
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump({"verb": "delete", "pod": names[0]}, fh)
    os.replace(path + ".tmp", path)
    print(f'pod "{names[0]}" deleted')


def main() -> None:
    path = os.environ.get("FAKE_KUBECTL_STATE")
    if not path:
        fail("fake kubectl: FAKE_KUBECTL_STATE is not set", 2)
    with open(str(path), encoding="utf-8") as fh:
        state = json.load(fh)
    argv = sys.argv[1:]
    if state.get("log"):
        with open(state["log"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps(argv) + "\n")
    if state.get("hang"):
        time.sleep(float(state["hang"]))
    flags, rest = parse(argv)
    context = flags.get("--context", state.get("current_context"))
    if rest == ["config", "current-context"]:
        if state.get("current_context") is None:
            fail("error: current-context is not set")
        print(state["current_context"])
        return
    if "--context" in flags and context not in state.get("contexts", []):
        fail(f'error: context "{context}" does not exist')
    if context is None:
        fail("The connection to the server localhost:8080 was refused - did you specify the right host or port?")
    if rest[:2] == ["get", "pods"]:
        if state.get("unreachable"):
            fail("The connection to the server 127.0.0.1:32771 was refused - did you specify the right host or port?")
        get_pods(state, flags, rest[2:])
        return
    if state.get("unreachable"):
        fail("The connection to the server 127.0.0.1:32771 was refused - did you specify the right host or port?")
    if rest[:1] == ["exec"]:
        exec_(state, flags, rest[1:])
        return
    if rest[:1] == ["logs"]:
        logs(state, flags, rest[1:])
        return
    if rest[:2] == ["delete", "pod"]:
        delete_pod(state, flags, rest[2:])
        return
    fail(f"fake kubectl: unsupported command: {' '.join(argv)}", 2)


if __name__ == "__main__":
    main()
