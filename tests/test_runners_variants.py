"""Variants of one agent in `compare`: parsing, --grid, config tables, labels end to end."""

from __future__ import annotations

import csv
import json

import pytest

from lecture_rl.runners.cli import main
from lecture_rl.runners.compare import run as run_module
from lecture_rl.runners.compare.variants import (
    Variant,
    expand_grid,
    parse_agents,
    parse_grid,
    split_top_level,
)
from lecture_rl.runners.settings import UsageError

BASE = ["compare", "--env", "CliffWalking-v1", "--seeds", "2", "--episodes", "30",
        "--eval-episodes", "2", "--workers", "1"]  # fmt: skip


def test_parsing_labels_agents_and_settings():
    variants = parse_agents("fast=sarsa(alpha=0.5,epsilon=0.2),q_learning,sarsa(alpha=0.1)")
    assert variants == [
        Variant("fast", "sarsa", {"alpha": 0.5, "epsilon": 0.2}),
        Variant("q_learning", "q_learning", {}),
        Variant("sarsa(alpha=0.1)", "sarsa", {"alpha": 0.1}),
    ]
    assert split_top_level("a=ppo(sizes=[64,64],net=mlp),dqn") == [
        "a=ppo(sizes=[64,64],net=mlp)",
        "dqn",
    ]
    assert parse_agents("a=ppo(sizes=[64,64])")[0].hyperparameters == {"sizes": [64, 64]}
    table = {"label": "lstm", "agent": "ppo", "net": "lstm"}
    assert parse_agents([table, "dqn"])[0] == Variant("lstm", "ppo", {"net": "lstm"})


def test_grid_expands_every_entry_into_labelled_variants():
    grid = parse_grid(["epsilon=0.1,0.2", "alpha=0.5"])
    assert grid == {"epsilon": [0.1, 0.2], "alpha": [0.5]}
    labels = [v.label for v in expand_grid(parse_agents("s=sarsa,q_learning"), grid)]
    assert labels == [
        "s[epsilon=0.1,alpha=0.5]",
        "s[epsilon=0.2,alpha=0.5]",
        "q_learning[epsilon=0.1,alpha=0.5]",
        "q_learning[epsilon=0.2,alpha=0.5]",
    ]


@pytest.mark.parametrize(
    "agents, phrase",
    [
        ("a=sarsa(alpha=0.5", "unclosed '('"),
        ("a=sarsa alpha=0.5)", "unbalanced ')'"),
        ("a=sarsa(alpha)", "is not KEY=VALUE"),
        ("a b=sarsa", "label 'a b'"),
        ("a=sarsa,a=q_learning", "twice"),
        ("sarsa,sarsa", "label variants"),
        ("a=sarsa(alpha=0.5)x", "text after ')'"),
        ("a=sarsa(alpah=0.5)", "did you mean 'alpha'"),
        ("a=sarsaa(alpha=0.5)", "did you mean 'sarsa'"),
    ],
)
def test_bad_agent_lists_are_one_line_exit_2(agents, phrase, capsys, tmp_path):
    assert main([*BASE, "--agents", agents, "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert phrase in err
    assert not (tmp_path / "c").exists()


def test_bad_grid_is_one_line_exit_2(capsys, tmp_path):
    argv = [*BASE, "--agents", "sarsa", "--grid", "epsilon", "--out", str(tmp_path / "c")]
    assert main(argv) == 2
    assert "--grid 'epsilon'" in capsys.readouterr().err
    with pytest.raises(UsageError):
        parse_grid(["=1,2"])


def test_labels_reach_the_table_results_summary_and_legend(tmp_path, capsys, monkeypatch):
    legends = {}
    plot = run_module.plot_curves

    def spy(curves, *args, **kwargs):
        legends["labels"] = list(curves)
        return plot(curves, *args, **kwargs)

    monkeypatch.setattr(run_module, "plot_curves", spy)
    out = tmp_path / "run"
    argv = [*BASE, "--agents", "careful=sarsa(epsilon=0.05),bold=sarsa(epsilon=0.3)"]
    assert main([*argv, "--grid", "alpha=0.5", "--out", str(out)]) == 0
    labels = ["careful[alpha=0.5]", "bold[alpha=0.5]"]
    table = capsys.readouterr().out
    assert "careful[alpha" in table and "bold[alpha" in table  # (the table may wrap)
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(dict.fromkeys(row["agent"] for row in rows)) == labels
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["agents"]) == labels
    assert summary["agents"]["bold[alpha=0.5]"]["agent"] == "sarsa"
    assert summary["agents"]["bold[alpha=0.5]"]["variant"] == {"epsilon": 0.3, "alpha": 0.5}
    assert legends["labels"] == labels
    # the variants really differ: more exploration, a lower training return
    careful, bold = (summary["agents"][label] for label in labels)
    assert careful["train_return_last_10pct"]["mean"] != bold["train_return_last_10pct"]["mean"]


def test_config_tables_rerun_the_same_variants(tmp_path):
    argv = [*BASE, "--agents", "a=sarsa(alpha=0.5),q_learning"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["agents"] == [{"label": "a", "agent": "sarsa", "alpha": 0.5}, "q_learning"]
    toml = tmp_path / "sweep.toml"
    toml.write_text(
        'env = "CliffWalking-v1"\nseeds = 2\nepisodes = 30\neval_episodes = 2\n'
        '[[agents]]\nlabel = "a"\nagent = "sarsa"\nalpha = 0.5\n'
        '[[agents]]\nagent = "q_learning"\n'
    )
    assert (
        main(["compare", "--config", str(toml), "--workers", "1", "--out", str(tmp_path / "b")])
        == 0
    )
    assert (tmp_path / "a" / "results.csv").read_bytes() == (
        tmp_path / "b" / "results.csv"
    ).read_bytes()


def test_the_trial_hash_includes_the_variant(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*BASE, "--agents", "a=sarsa(alpha=0.5),b=sarsa", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main([*BASE, "--agents", "a=sarsa(alpha=0.2),b=sarsa", "--out", str(out)]) == 0
    assert "2 of 4 trials already done, running 2" in capsys.readouterr().out
