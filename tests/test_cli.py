"""The `nassim` command."""

import subprocess
import sys


def test_demo_prints_itemized_changes_and_the_recopy_loop():
    """`nassim demo` shows a first copy, a quiet second run on Linux, and re-copies on a Windows host."""
    out = subprocess.run([sys.executable, "-m", "nassim", "demo"], capture_output=True, text=True, check=True).stdout
    linux, windows = out.split("== sidecar")[1:]
    assert ">f+++++++++ README.txt" in linux
    assert linux.count("(nothing to do)") == 2
    assert windows.count(">f..t...... README.txt") == 2


def test_unknown_command_exits_2_without_traceback():
    """A user's typo is one clear line and exit status 2."""
    p = subprocess.run([sys.executable, "-m", "nassim", "dmeo"], capture_output=True, text=True)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "No such command 'dmeo'" in p.stderr
