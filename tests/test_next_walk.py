"""The way back is always named (issue 17 point 5): from every state, `sdd next` gives one
action the tool accepts, and its alternative is a different action.

A property test (hypothesis): random walks in a demo project in which the agent always runs
the command `next` names (or, now and then, its alternative), with the scripted agent and
the demo approver making random but legal choices, with the tests' clock — none is refused,
none is a usage error, none is stuck, and each ends the cycle (released, post-mortem done)
within the step bound. `tests/walk_helpers.py` says what a walk does and what it checks.

Each walk starts from a state of one plain cycle (the first: the fresh demo project), copied,
and runs in-process through `sdd.api`; the person's acts the demo approver has no part in
are typed at a real terminal. 50 walks in the default suite, 500 under the `slow` marker
(which CI runs: the default command runs every test).
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from walk_helpers import Start, Tape, Walker, make_base, plain_states

WALKS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# The tape's numbers (each 0-99; 15 % of them leave the plain course): enough for a walk
# that spends its whole budget of disruptions late in the cycle.
TAPE = st.lists(st.integers(0, 99), min_size=160, max_size=160)

_STATES: dict[str, list[Start]] = {}
_SERIAL = itertools.count()


@pytest.fixture(scope="session")
def _walk_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("walks")


@pytest.fixture
def plain(_walk_folder: Path, work: Path) -> list[Start]:
    """Every state of one plain cycle, built once per test session (in the isolated
    environment of the first test that asks: git's identity, a home of its own)."""
    if "states" not in _STATES:
        base = make_base(_walk_folder)
        _STATES["states"] = plain_states(base, _walk_folder)
    return _STATES["states"]


def walk(
    folder: Path, states: list[Start], start: int, budget: int, tape: list[int], *, cli: bool
) -> None:
    target = folder / f"walk-{next(_SERIAL)}"
    try:
        Walker.at(states[start % len(states)], target, Tape(tape, budget)).walk(cli=cli)
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_the_walks_start_from_every_state_of_a_plain_cycle(plain: list[Start]) -> None:
    assert plain[0].step == 0 and plain[0].next == "session"  # the fresh demo project
    # one state before each step of the cycle: every kind of action `next` names on the way
    kinds = {s.next for s in plain}
    assert kinds == {"session", "finish-session", "gate", "walkthrough", "release", "new-cycle"}
    assert plain[-1].next == "new-cycle"  # the cycle is over: a walk from there ends at once
    assert [s.step for s in plain] == list(range(len(plain)))


def test_walks_that_follow_next_are_never_refused_and_never_stuck(
    plain: list[Start], _walk_folder: Path
) -> None:
    walks = []

    @settings(WALKS, max_examples=50)
    @given(start=st.integers(0, 1000), budget=st.integers(0, 6), tape=TAPE)
    # Found by this walk, fixed in `sdd next`: a spec whose confidence is low, with no
    # question left open, named `sdd questions` (which changes nothing) for ever.
    @example(start=0, budget=1, tape=[0, 85])
    # Found by this walk, fixed in `sdd next`: a major finding's fix session was named while
    # the person's edit of the spec had turned its approval stale (`start` refused it).
    @example(start=0, budget=2, tape=[0] * 15 + [85, 1, 85])
    def one(start: int, budget: int, tape: list[int]) -> None:
        walks.append(start)
        walk(_walk_folder, plain, start, budget, tape, cli=True)

    one()
    assert len(walks) >= 50


@pytest.mark.slow
def test_five_hundred_walks_that_follow_next_are_never_refused_and_never_stuck(
    plain: list[Start], _walk_folder: Path
) -> None:
    walks = []

    @settings(WALKS, max_examples=500)
    @given(start=st.integers(0, 1000), budget=st.integers(0, 6), tape=TAPE)
    def one(start: int, budget: int, tape: list[int]) -> None:
        walks.append(start)
        walk(_walk_folder, plain, start, budget, tape, cli=False)

    one()
    assert len(walks) >= 500


def test_the_default_test_command_runs_the_slow_walks_too() -> None:
    """CI runs `scripts/test` (`.ci/run`), which runs pytest as it is: nothing there or in
    pytest's options deselects the tests marked `slow`."""
    import tomllib

    root = Path(__file__).parent.parent
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    options = pyproject["tool"]["pytest"]["ini_options"]
    assert any(marker.startswith("slow:") for marker in options["markers"])
    assert "slow" not in options["addopts"]
    script = (root / "scripts" / "test").read_text(encoding="utf-8")
    # pytest runs with the arguments given, and under CI=true also the real-CLI tests: no
    # marker expression there names `slow`
    assert '.venv/bin/python -m pytest -q "${select[@]}" "$@"' in script
    assert 'select=(-m "agent_clis or not agent_clis")' in script
    assert "slow" not in script
    assert "scripts/test" in (root / ".ci" / "run").read_text(encoding="utf-8")
