"""The red team's fixtures: the projects the attacks start from (built once per test
session, copied for every test) and the attacker's own key.

Every test in this folder is marked ``redteam`` (`pytest -m "not redteam"` leaves them out):
they are replayed against every new version, and many fail until issue 16 is done.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from late_helpers import milestone_fixture  # noqa: F401  (the `milestone` fixture)
from redteam.attacker import Attacker
from redteam.person import Person, Signed, build_signed
from run_helpers import agents_fixture, fresh_fixture  # noqa: F401  (`agents`, `fresh`)
from ssh_helpers import keygen

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "redteam: an attack of the red-team suite (issue 16)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.redteam)


@pytest.fixture
def signed(_stash: dict[str, object], work: Path) -> Signed:
    """A signed project (see ``build_signed``): implementation-approval waits."""
    folder, built = _stash["dir"], _stash["built"]
    assert isinstance(folder, Path) and isinstance(built, dict)
    if "redteam:signed" not in built:
        for leftover in ("ada", "signed"):  # of an earlier attempt that failed
            shutil.rmtree(folder / leftover, ignore_errors=True)
        person = Person.make(folder / "ada")
        built["redteam:signed"] = (build_signed(folder, person), person)
    source, person = built["redteam:signed"]
    target = work / "signed"
    shutil.copytree(source, target, symlinks=True)
    return Signed(target, person)


@pytest.fixture
def stranger(tmp_path: Path) -> Path:
    """The attacker's own key: no passphrase, never added by a person."""
    (tmp_path / "mallory").mkdir()
    return keygen(tmp_path / "mallory" / "key")


@pytest.fixture
def attacker(tmp_path: Path) -> Iterator[Attacker]:
    """The attacker's agent; whatever it leaves running is ended after the test."""
    agent = Attacker(tmp_path)
    yield agent
    agent.end_leftovers()
