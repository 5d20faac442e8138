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
``--context``, ``-n``/``--namespace``, ``--request-timeout``). Anything else
exits 2 naming the command, so a test sees any call it did not expect.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

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


def fail(message: str, code: int = 1) -> None:
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
    fail(f"fake kubectl: unsupported command: {' '.join(argv)}", 2)


if __name__ == "__main__":
    main()
