"""The README and the documentation site: short README, every page reachable, every command runs.

Every fenced `lecture-rl ...` command in `README.md` and `docs/**/*.md` runs here at a tiny
budget (`--episodes`/`--steps`/`--seeds`/`--train-episodes` rewritten to tiny values,
`--workers 1`, in a fresh folder), unless the block is preceded by a
`<!-- not-run: why -->` marker. A block's commands run in order in one folder, so a command may
read what an earlier one in its block wrote (`evaluate --checkpoint runs/lstm`).
"""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "screenshots" not in p.parts)
MARKER = re.compile(r"^<!--\s*not-run:\s*(?P<why>.*?)\s*-->$")

#: flag -> the tiny value it is rewritten to
TINY = {
    "--episodes": "2",
    "--train-episodes": "1",
    "--steps": "256",
    "--seeds": "1",
    "--workers": "1",
    "--length": "10",
    "--trials": "2",
}
#: commands that train: given no budget, they get a tiny one (compare, tune and experiment also
#: get one worker, experiment one seed)
TRAINING = {"train", "compare", "tune"}


def fenced_blocks(path: Path) -> list[tuple[int, str | None, list[str]]]:
    """`(line, not-run reason or None, lines)` of every fenced block of `path`."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith("```"):
            start, body = i, []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                body.append(lines[i])
                i += 1
            before = next(
                (lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), ""
            )
            marker = MARKER.match(before)
            blocks.append((start + 1, marker.group("why") if marker else None, body))
        i += 1
    return blocks


def commands_of(body: list[str]) -> list[list[str]]:
    """The `lecture-rl` commands of a block as argument lists (continuations joined, comments
    dropped)."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line.strip() for line in body))
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "lecture-rl":
            commands.append(words[1:])
    return commands


def tiny(argv: list[str]) -> list[str]:
    """`argv` with its budgets rewritten to tiny values (and a tiny budget where none is)."""
    out = list(argv)
    for i, word in enumerate(out[:-1]):
        if word in TINY:
            out[i + 1] = TINY[word]
    if out and out[0] in TRAINING and not {"--episodes", "--steps"} & set(out):
        out += ["--steps", TINY["--steps"]]
    if out and out[0] in {"compare", "experiment", "tune"} and "--workers" not in out:
        out += ["--workers", "1"]
    if out[:1] == ["experiment"] and out[1:2] != ["list"] and "--seeds" not in out:
        out += ["--seeds", "1"]
    return out


def all_blocks():
    for path in [README, *PAGES]:
        for line, why, body in fenced_blocks(path):
            commands = commands_of(body)
            if commands:
                yield pytest.param(why, commands, id=f"{path.relative_to(ROOT)}:{line}")


BLOCKS = list(all_blocks())
RUN = [pytest.param(b.values[1], id=b.id) for b in BLOCKS if b.values[0] is None]
NOT_RUN = [pytest.param(*b.values, id=b.id) for b in BLOCKS if b.values[0] is not None]


def test_the_scan_finds_the_pages_commands():
    """The scan itself: it must see the README's commands and most of the pages' ones, so a
    change in the fences cannot make the command test below silently run nothing."""
    ids = [block.id for block in BLOCKS]
    assert sum(i.startswith("README.md") for i in ids) >= 4
    assert len(ids) >= 15
    assert tiny(["train", "--env", "X", "--steps", "150000", "--out", "runs/a"]) == [
        "train", "--env", "X", "--steps", "256", "--out", "runs/a"
    ]  # fmt: skip
    assert tiny(["train", "--env", "X"])[-2:] == ["--steps", "256"]
    assert commands_of(["lecture-rl a --b 1 \\", "    --c 'x y'  # note", "python z.py"]) == [
        ["a", "--b", "1", "--c", "x y"]
    ]


@pytest.mark.parametrize("commands", RUN)
def test_every_documented_command_runs(commands, tmp_path, monkeypatch):
    from lecture_rl.runners.cli import main

    monkeypatch.chdir(tmp_path)
    for argv in commands:
        argv = tiny(argv)
        out = io.StringIO()
        code = main(argv, out=out)
        assert code == 0, f"lecture-rl {' '.join(argv)} exited with {code}:\n{out.getvalue()}"


@pytest.mark.parametrize(("why", "commands"), NOT_RUN)
def test_a_block_that_cannot_run_here_says_why_and_still_parses(why, commands):
    """A `not-run` block (a window, a cluster) gives its reason, names the test that covers it
    where it says one does, and its commands are still valid `lecture-rl` command lines."""
    from lecture_rl.runners.cli import build_parser

    assert len(why) >= 10, "a not-run marker says why the block cannot run here"
    for named in re.findall(r"tests/\w+\.py", why):
        assert (ROOT / named).is_file(), f"the marker names {named}, which does not exist"
    parser = build_parser()
    for argv in commands:
        if "..." in argv:  # a placeholder for the reader's own options
            argv = [word for word in argv if word != "..."]
            parser.parse_known_args(argv)
        else:
            parser.parse_args(argv)


def test_the_readme_reads_in_five_minutes():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250


def markdown_links(path: Path) -> set[Path]:
    """The local files `path` links to (Markdown links and images, anchors dropped)."""
    text = path.read_text(encoding="utf-8")
    found = set()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+://", target) or target.startswith("#"):
            continue
        found.add((path.parent / target.split("#")[0]).resolve())
    return found


def test_every_docs_page_is_reachable_from_the_readme():
    seen, todo = {README.resolve()}, [README.resolve()]
    while todo:
        for target in markdown_links(todo.pop()):
            if target.suffix == ".md" and target not in seen and target.exists():
                seen.add(target)
                todo.append(target)
    missing = [str(p.relative_to(ROOT)) for p in PAGES if p.resolve() not in seen]
    assert not missing, f"pages no link from README.md reaches: {missing}"


def test_every_local_link_and_picture_exists():
    broken = [
        f"{path.relative_to(ROOT)} -> {target}"
        for path in [README, ROOT / "ARCHITECTURE.md", *PAGES]
        for target in markdown_links(path)
        if not target.exists()
    ]
    assert not broken


def test_every_docs_page_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:", 1)[1]
    listed = set(re.findall(r":\s*(\S+\.md)\s*$", nav, flags=re.M))
    missing = [str(p.relative_to(DOCS)) for p in PAGES if str(p.relative_to(DOCS)) not in listed]
    assert not missing, f"docs pages missing from mkdocs.yml's nav: {missing}"
