"""The distribution as a user gets it: a wheel built from this checkout, installed into a fresh
venv, gives the `sdd` command; and nothing sends a user to a package index for it, where the
name is not ours yet.

No network: the wheel is built with the test venv's setuptools, installed with --no-index, and
its dependencies are the test venv's own (a .pth file puts the test venv's site-packages after
the fresh venv's own, so `sdd` itself comes from the wheel).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "session-driven-development"
NOT_SOURCES = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")
NOT_SOURCES += ("test-artifacts",)
PIP = (sys.executable, "-m", "pip")


def call(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stderr}"
    return result


def without_sdk(venv: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`sdd mcp` in ``venv`` as if the mcp extra were not installed."""
    script = (
        "import runpy, sys\n"
        "sys.modules['mcp'] = None\n"
        "sys.argv = ['sdd', 'mcp']\n"
        f"runpy.run_path({str(venv / 'bin' / 'sdd')!r}, run_name='__main__')\n"
    )
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the checkout (the build writes into its source folder)."""
    source = tmp_path_factory.mktemp("source") / "sdd"
    shutil.copytree(CHECKOUT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    out = tmp_path_factory.mktemp("wheels")
    call(*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out, source)
    (built,) = out.glob("*.whl")
    return built


def installed(requirement: str | Path, wheels: Path, venv: Path) -> Path:
    """A fresh venv at ``venv`` with ``requirement`` installed from ``wheels``, offline."""
    call(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    offline = ("install", "-q", "--no-index", "--no-deps", "--find-links", wheels)
    call(*PIP, "--python", python, *offline, requirement)
    # Only now: pip would otherwise take the test venv's own (editable) copy as installed.
    target = call(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(target.stdout.strip(), "test-venv-dependencies.pth").write_text(
        "".join(f"{folder}\n" for folder in sorted(dependencies)), encoding="utf-8"
    )
    return venv


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed by the distribution's name, as from an index."""
    return installed(DISTRIBUTION, wheel.parent, tmp_path_factory.mktemp("venv") / "v")


def test_the_wheel_is_named_for_the_distribution(wheel: Path) -> None:
    assert wheel.name.startswith("session_driven_development-")


def test_the_installed_wheel_gives_the_sdd_command(venv: Path, tmp_path: Path) -> None:
    python = venv / "bin" / "python"
    found = call(python, "-c", "import sdd; print(sdd.__file__)")
    assert found.stdout.startswith(str(venv)), "sdd must come from the wheel, not the checkout"
    version = call(venv / "bin" / "sdd", "--version")
    assert re.fullmatch(r"sdd \d+\.\d+\.\d+\S*\n", version.stdout)
    demo = tmp_path / "demo"
    call(venv / "bin" / "sdd", "demo", demo)
    assert list((demo / ".sdd" / "history").glob("*.jsonl"))
    status = call(venv / "bin" / "sdd", "status", cwd=demo)
    assert "postmortem" in status.stdout


def test_the_install_hint_names_the_source_it_was_installed_from(
    venv: Path, wheel: Path, tmp_path: Path
) -> None:
    """Installed from the wheel's path: the hint names that wheel. Installed by name (no
    source recorded, as from an index): how to install from a clone, never from an index."""
    project = tmp_path / "demo"
    call(venv / "bin" / "sdd", "demo", project)
    by_name = without_sdk(venv, project)
    assert by_name.returncode == 1, by_name.stderr
    assert "`sdd mcp` needs the MCP Python SDK" in by_name.stderr
    assert "in a clone of sdd's source: pip install '.[mcp]'" in by_name.stderr
    by_path = without_sdk(installed(wheel, wheel.parent, tmp_path / "by-path"), project)
    assert by_path.returncode == 1, by_path.stderr
    assert f"-m pip install '{DISTRIBUTION}[mcp] @ {wheel.as_uri()}'" in by_path.stderr


# ----------------------------------------------------------------------------- no index

# `pip install` (or pipx) of this distribution by name, without a direct reference (`@ URL`)
# or a path: what would fetch whatever an index holds under that name.
FROM_AN_INDEX = re.compile(
    r"\bpipx?3?\s+install\s+(?:-\S+\s+)*['\"]?(?:sdd|session[-_.]driven[-_.]development)\b"
    r"(?:\[[^\]]*\])?+(?!\s*@)(?![\w/.-])",
    re.IGNORECASE,
)


def test_the_rule_tells_an_index_install_from_a_source_install() -> None:
    for bad in (
        "pip install 'sdd[mcp]'",
        "pip install sdd",
        "pip install -U session-driven-development",
        'pipx install "session_driven_development[mcp]"',
    ):
        assert FROM_AN_INDEX.search(bad), bad
    for good in (
        "pip install '.[mcp]'",
        "pip install -e '.[test]'",
        "pip install 'session-driven-development[mcp] @ file:///tmp/x.whl'",
        "pip install -e '/home/ada/sdd[mcp]'",
        "pip install sdd-tools",
    ):
        assert not FROM_AN_INDEX.search(good), good


def test_no_text_tells_a_user_to_install_from_an_index() -> None:
    texts = [CHECKOUT / "README.md", *sorted((CHECKOUT / "src" / "sdd").rglob("*"))]
    found = []
    for path in texts:
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FROM_AN_INDEX.search(line):
                found.append(f"{path.relative_to(CHECKOUT)}:{number}: {line.strip()}")
    assert not found, "install from a clone or a path instead:\n" + "\n".join(found)
