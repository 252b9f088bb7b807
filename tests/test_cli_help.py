"""Help that teaches: every option has a help line, every command an example, and the common
slips (misspelt command, space instead of comma, wrong case of a value) get a hint."""

from __future__ import annotations

import argparse

import pytest

from lecture_rl.runners.cli import build_parser, main
from lecture_rl.runners.commands import COMMANDS


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_is_registered_once_with_a_help_line():
    subparsers = _subparsers()
    assert sorted(subparsers) == sorted(module.NAME for module in COMMANDS)
    listed = build_parser().format_help()
    for name in subparsers:
        assert name in listed


@pytest.mark.parametrize("command", [module.NAME for module in COMMANDS])
def test_every_option_has_help_and_every_command_an_example(command):
    parser = _subparsers()[command]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help != argparse.SUPPRESS, (command, action.dest)
    assert parser.epilog and f"lecture-rl {command}" in parser.epilog


def test_compare_help_rerun_example_names_a_new_out(capsys):
    assert main(["compare", "--help"]) == 0
    text = capsys.readouterr().out
    rerun = next(line for line in text.splitlines() if "compare --config" in line)
    assert "--out" in rerun and "runs/cliff/config.json" in rerun
    assert rerun.split("--out", 1)[1].split()[0] != "runs/cliff"


def _error(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_misspelt_command_gets_did_you_mean(capsys):
    assert "did you mean 'train'" in _error(["trian"], capsys)
    assert "did you mean 'compare'" in _error(["compair"], capsys)


def test_space_separated_agents_hint_at_the_comma(capsys, tmp_path):
    argv = ["compare", "--env", "CliffWalking-v1", "--agents", "sarsa", "q_learning"]
    err = _error([*argv, "--out", str(tmp_path / "c")], capsys)
    assert "--agents sarsa,q_learning" in err
    assert not (tmp_path / "c").exists()


def test_value_in_the_wrong_case_gets_did_you_mean(capsys):
    argv = ["train", "--env", "LectureRL/Parity-v0", "--agent", "ppo", "--set", "net=LSTM"]
    err = _error(argv, capsys)
    assert "did you mean 'lstm'" in err and "net" in err
