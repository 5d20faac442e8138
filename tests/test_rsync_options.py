"""Parsing rsync argument lists: what the model accepts and the errors it gives."""

import pytest

from nassim.errors import RsyncOptionError
from nassim.rsync import parse_args


def test_archive_expands_to_its_parts():
    """`-a` is `-rlptgoD`."""
    o = parse_args(["-a"])
    assert (o.recursive, o.links, o.perms, o.times, o.group, o.owner, o.devices) == (True,) * 7


def test_combined_short_flags_and_counts():
    """Short flags combine (`-av`), and `-v`/`-i` count their repeats."""
    o = parse_args(["-avvi", "-n"])
    assert o.recursive and o.verbose == 2 and o.itemize == 1 and o.dry_run


@pytest.mark.parametrize(
    ("args", "mode"),
    [(["--delete"], "during"), (["--delete-before"], "before"), (["--delete-during"], "during"),
     (["--delete-after"], "after"), (["--delete-delay"], "delay"), (["--delete-after", "--delete"], "after")],
)
def test_delete_modes(args, mode):
    """`--delete` means delete-during; the explicit forms choose their timing."""
    assert parse_args(["-r", *args]).delete == mode


@pytest.mark.parametrize(("arg", "window"), [("--modify-window=1", 1), ("--modify-window=-1", -1)])
def test_modify_window_accepts_negative(arg, window):
    """`--modify-window` takes any integer, negative included."""
    assert parse_args([arg]).modify_window == window


def test_modify_window_as_separate_argument():
    """A long option's value may follow as the next argument."""
    assert parse_args(["--modify-window", "2"]).modify_window == 2


def test_operands_and_trailing_slash():
    """`src/` copies the contents; `src` copies the directory itself."""
    assert parse_args(["-a", "/windows-mount/", "/nfs-data/"]).copies_contents
    slashless = parse_args(["-a", "/windows-mount", "/nfs-data/"])
    assert not slashless.copies_contents and slashless.source_name == "windows-mount"


def test_to_args_round_trips():
    """`to_args` gives an argument list that parses back to the same options."""
    o = parse_args(["-avi", "--delete-after", "--modify-window=-1", "--exclude=*.tmp", "-u", "a/", "b"])
    assert parse_args(o.to_args()) == o


def test_negated_archive_parts():
    """`--no-OPTION` switches a part of `-a` off again."""
    o = parse_args(["-a", "--no-owner", "--no-times"])
    assert not o.owner and not o.times and o.recursive


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backup"], "rsync option '--backup' is not supported by the nassim rsync model"),
        (["-avz"], "rsync option '-z' in '-avz' is not supported by the nassim rsync model"),
        (["-H"], "rsync option '-H' is not supported by the nassim rsync model"),
        (["--modify-window=x"], "rsync option '--modify-window' needs an integer number of seconds (got 'x')"),
        (["--modify-window"], "rsync option '--modify-window' needs a value (e.g. --modify-window=VALUE)"),
        (["--delete=yes"], "rsync option '--delete' takes no value (got '--delete=yes')"),
        (["-a", "only-one"], "rsync needs both a source and a destination operand, or neither (got only 'only-one')"),
        (["a/", "b/", "c/"], "the nassim rsync model copies one source directory (got operands ['a/', 'b/', 'c/'])"),
    ],
)
def test_unsupported_or_malformed_options_are_named(args, message):
    """An option the model cannot honour is an error naming it, never silently ignored."""
    with pytest.raises(RsyncOptionError) as exc:
        parse_args(args)
    assert str(exc.value) == message


def test_a_single_string_is_refused_with_the_fix():
    """Passing one command string instead of a list names the slip and the fix."""
    with pytest.raises(RsyncOptionError, match=r"split it first, e.g. shlex.split\('-av --delete'\)"):
        parse_args("-av --delete")  # type: ignore[arg-type]
