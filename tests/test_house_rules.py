"""The plan of ARCHITECTURE.md, enforced: import-linter's contracts hold, fail on a reverse import,
and every path the "where things go" table names exists."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "agents", "nets", "runners", "notebook")

pytest.importorskip("importlinter", reason="import-linter is in the dev extra")


def _lint(config: Path, cwd: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        + (f"sys.path.insert(0, {str(extra_path)!r})\n" if extra_path else "")
        + "from importlinter.cli import lint_imports\n"
        + f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _copy_as(tmp_path: Path, root: str) -> Path:
    """The four packages copied under another top-level name (so the installed ones cannot
    answer for them), with pyproject's contracts renamed to match."""
    top = tmp_path / root
    for package in PACKAGES:
        shutil.copytree(ROOT / package, top / package, ignore=shutil.ignore_patterns("__pycache__"))
        for source in (top / package).rglob("*.py"):
            source.write_text(source.read_text(encoding="utf-8").replace("lecture_rl.", f"{root}."))
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    start = config.index("[tool.importlinter]")
    end = config.index("[tool.pytest.ini_options]")
    (tmp_path / "contracts.toml").write_text(
        config[start:end].replace("lecture_rl.", f"{root}."), encoding="utf-8"
    )
    return tmp_path / "contracts.toml"


def test_the_contracts_hold_on_the_tree():
    result = _lint(ROOT / "pyproject.toml", ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("where", "line", "broken"),
    [
        # nets reaching up into agents: the layers contract
        ("nets/mlp.py", "import house_copy.agents.base  # noqa\n", "runners -> agents -> nets"),
        # envs importing a package of ours
        ("envs/parity.py", "import house_copy.nets  # noqa\n", "envs import no other package"),
        # a circle between two sibling modules (the factory imports the base it builds on)
        ("nets/backbone.py", "import house_copy.nets.factory  # noqa\n", "no import cycles"),
    ],
)
def test_a_deliberate_reverse_import_breaks_the_contract(tmp_path, where, line, broken):
    config = _copy_as(tmp_path, "house_copy")
    clean = _lint(config, tmp_path, extra_path=tmp_path)
    assert clean.returncode == 0, clean.stdout[-3000:]  # the copy itself is clean
    target = tmp_path / "house_copy" / where
    target.write_text(target.read_text(encoding="utf-8") + line, encoding="utf-8")
    result = _lint(config, tmp_path, extra_path=tmp_path)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout, result.stdout[-3000:]


def test_the_import_linter_config_names_every_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    roots = set(config["tool"]["importlinter"]["root_packages"])
    installed = set(config["tool"]["setuptools"]["package-dir"])
    top_level = {name for name in installed if name.count(".") == 1 and name != "lecture_rl.assets"}
    assert top_level <= roots


def _table_paths() -> list[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text[text.index("## Where things go") :]
    table = table[: table.index("\n## ", 3)] if "\n## " in table[3:] else table
    paths = []
    for cell in re.findall(r"`([^`]+)`", table):
        if "/" in cell and not cell.startswith("--") and " " not in cell:
            paths.append(cell)
    return paths


def test_every_path_in_where_things_go_exists():
    paths = _table_paths()
    assert len(paths) > 15  # the table was read
    missing = []
    for path in paths:
        if "<" in path:  # a pattern such as envs/<name>.py: its folder must exist
            path = path.split("<")[0]
        if not (ROOT / path).exists():
            missing.append(path)
    assert not missing, f"ARCHITECTURE.md names paths that do not exist: {missing}"
