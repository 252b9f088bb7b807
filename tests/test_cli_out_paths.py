"""What is in the way of an output path: every command's output flag answers in one line on
stderr, exit code 2, before any work (`runners/out_paths.py`, the check compare uses)."""

from __future__ import annotations

import pytest

from lecture_rl.runners.cli import main

GRID = ["--env", "LectureRL/GridWorld-v0"]
TRAIN = ["train", *GRID, "--agent", "q_learning", "--episodes", "3", "--eval-episodes", "1"]
WATCH = ["watch", *GRID, "--agent", "q_learning", "--train-episodes", "2", "--max-frames", "5"]

# argv ({file}: an existing file, {dir}: an existing folder), the phrase of the one line, and
# what lies in {dir}: {name: "file" or "folder"}
CASES = {
    "train --out FILE": ([*TRAIN, "--out", "{file}"], "--out {file} is a file, not a folder", {}),
    "train --out FILE/sub": ([*TRAIN, "--out", "{file}/sub"], "lies under {file}, which is a file",
                             {}),
    "train --out DIR holding a file named tb": ([*TRAIN, "--out", "{dir}"], "file named tb",
                                                {"tb": "file"}),
    "train --out DIR holding a folder named agent.json": (
        [*TRAIN, "--out", "{dir}"], "folder named agent.json", {"agent.json": "folder"}),
    "train --resume DIR holding a folder named train_log.csv": (
        ["train", "--resume", "{ckpt}"], "folder named train_log.csv", {}),
    "experiment --out FILE": (["experiment", "cliff", "--quick", "--out", "{file}"],
                              "--out {file} is a file, not a folder", {}),
    "experiment --out DIR holding a folder named report.md": (
        ["experiment", "cliff", "--quick", "--out", "{dir}"], "folder named report.md",
        {"report.md": "folder"}),
    "experiment all --out DIR holding a file named cliff": (
        ["experiment", "all", "--quick", "--out", "{dir}"], "file named cliff",
        {"cliff": "file"}),
    "inspect --out FILE/x.png": (["inspect", "--checkpoint", "{dir}", "--out", "{file}/x.png"],
                                 "lies under {file}, which is a file", {}),
    "inspect --out DIR.png": (["inspect", "--checkpoint", "{dir}", "--out", "{dir}/fig.png"],
                              "is a folder, not a file", {"fig.png": "folder"}),
    "vanishing-gradient --out FILE/x.png": (
        ["vanishing-gradient", "--length", "3", "--out", "{file}/x.png"], "lies under {file}", {}),
    "vanishing-gradient --out DIR": (["vanishing-gradient", "--length", "3", "--out", "{dir}"],
                                     "must name a .png, .pdf or .svg file", {}),
    "watch --record FILE/x.gif": ([*WATCH, "--record", "{file}/x.gif"],
                                  "lies under {file}, which is a file", {}),
    "watch --record DIR.gif": ([*WATCH, "--record", "{dir}/clip.gif"], "is a folder, not a file",
                               {"clip.gif": "folder"}),
}  # fmt: skip


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A train folder whose train_log.csv has become a folder."""
    folder = tmp_path_factory.mktemp("run") / "q"
    assert main([*TRAIN, "--out", str(folder)]) == 0
    (folder / "train_log.csv").unlink()
    (folder / "train_log.csv").mkdir()
    return folder


@pytest.mark.parametrize("case", list(CASES))
def test_what_is_in_the_way_of_an_output_is_one_line_before_any_work(
    case, tmp_path, capsys, monkeypatch, finished_run
):
    monkeypatch.chdir(tmp_path)  # default folders (runs/...) would land here
    argv, phrase, inside = CASES[case]
    blocker, folder = tmp_path / "blocker.txt", tmp_path / "folder"
    blocker.write_text("mine")
    folder.mkdir()
    for name, kind in inside.items():
        (folder / name).mkdir() if kind == "folder" else (folder / name).write_text("mine")
    places = {"file": blocker, "dir": folder, "ckpt": finished_run}
    code = main([arg.format(**places) for arg in argv])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert phrase.format(**places) in lines[0]
    assert blocker.read_text() == "mine"
    assert sorted(p.name for p in folder.iterdir()) == sorted(inside)  # nothing written there
    assert captured.out.strip() == ""  # no experiment announced, no episode shown
    assert not (tmp_path / "runs").exists()  # nothing trained, nothing written
