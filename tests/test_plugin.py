"""The pytest plugin, as a user meets it: options, fixtures, profiles, and failures that explain themselves.

Each test runs pytest in a subprocess on a small user test file, so the
plugin is the one the ``pytest11`` entry point loads (and hypothesis'
global profile state stays out of this session).
"""

import re

import pytest

from nassim.scenario import load_scenario

pytest_plugins = ["pytester"]

USER_TESTS = """
from hypothesis import given, settings
from nassim import strategies as ns
from nassim.scenario import Scenario, TopologySpec, WindowsSpec, Writer

WINDOWS_HOST = Scenario(
    name="windows-host",
    duration=200,
    seed=3,
    topology=TopologySpec(servers=("nas-output-1",)),
    windows=WindowsSpec(host="windows"),
    workloads=(Writer(rate=1.0, names=3, stop=20),),
)


@settings(max_examples=5)
@given(scenario=ns.scenarios(topology=TopologySpec(servers=("nas-output-1",)), windows="linux", faults=False,
                             settle=True))
def test_linux_host_settles(scenario, nassim_run):
    nassim_run(scenario).assert_valid("loop-freedom")


def test_windows_host_settles(nassim_run):
    nassim_run(WINDOWS_HOST).assert_valid("loop-freedom")


def test_fixtures(nassim_backend, nassim_seed, nassim_run):
    result = nassim_run(WINDOWS_HOST)
    print(f"BACKEND={nassim_backend} SEED={nassim_seed} RUN-SEED={result.seed}")


def test_profile():
    print(f"PROFILE derandomize={settings.default.derandomize} max_examples={settings.default.max_examples}")
"""


@pytest.fixture
def user_tests(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    return pytester


def test_passing_property_and_fixtures(user_tests):
    """A user's property test passes on the simulator; the fixtures give the backend and the seed."""
    result = user_tests.runpytest_subprocess("-k", "linux_host or fixtures", "-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["nassim: backend sim", "*BACKEND=sim SEED=None RUN-SEED=3*"])


def test_failure_prints_seed_replay_command_yaml_and_witness(user_tests):
    """A failing check prints the seed, a replay command whose file `nassim run` loads, the YAML and the witness."""
    result = user_tests.runpytest_subprocess("-k", "windows_host_settles", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "nassim: loop-freedom INVALID (expected VALID) on backend sim" in out
    assert "seed: 3" in out
    replay = re.search(r"replay: nassim run (\S+\.yaml) --seed 3$", out, re.MULTILINE)
    assert replay is not None, out
    # The YAML, indented under the file it was written to, and the witness, one step per line.
    result.stdout.fnmatch_lines(
        [
            f"*scenario ({replay.group(1)}):",
            "*    name: windows-host",
            "*    duration: 200",
            "*loop-freedom: INVALID: nas-output-1: out/f00000?.dat v* was copied to Windows * times without changing*",
            "*  t=* sync run * copied out/f00000?.dat v* to Windows*",
        ]
    )
    scenario = load_scenario(replay.group(1))
    assert (scenario.name, scenario.seed, scenario.duration) == ("windows-host", 3, 200)


def test_seed_option_overrides_every_scenario_seed(user_tests):
    """--nassim-seed=N runs each scenario with seed N and says so in the header."""
    result = user_tests.runpytest_subprocess("-k", "fixtures", "-s", "--nassim-seed=42", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["nassim: backend sim, seed 42", "*BACKEND=sim SEED=42 RUN-SEED=42*"])


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ("simulator", "ERROR: --nassim-backend: 'simulator' is not a backend (valid: local, minikube, sim)"),
    ],
)
def test_unknown_backend_is_a_usage_error_naming_the_valid_ones(user_tests, backend, message):
    """An unknown --nassim-backend stops pytest with a usage error that lists the valid backends."""
    result = user_tests.runpytest_subprocess(f"--nassim-backend={backend}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_nassim_profiles_are_registered(user_tests):
    """--hypothesis-profile=nassim-ci (derandomized, 25 examples) is available to users."""
    result = user_tests.runpytest_subprocess(
        "-k", "profile", "-s", "--hypothesis-profile=nassim-ci", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PROFILE derandomize=True max_examples=25*"])
