"""Presets: per-env settings as data, picked by env id, printed, overridden, recorded."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import yaml

from lecture_rl import agents
from lecture_rl.runners import presets
from lecture_rl.runners.cli import main
from lecture_rl.runners.settings import UsageError

CARTPOLE = ["--env", "CartPole-v1", "--agent", "ppo"]
TINY = ["--steps", "64", "--eval-episodes", "1"]


def train(tmp_path: Path, *argv: str, out: str = "run") -> tuple[dict, str]:
    """`lecture-rl train ARGV` into `tmp_path/out`: the checkpoint's command, and stderr."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["train", *argv, "--out", str(tmp_path / out)], out=io.StringIO())
    assert code == 0, err.getvalue()
    meta = json.loads((tmp_path / out / "agent.json").read_text())
    return meta["command"], err.getvalue()


def write_preset(path: Path, entries: dict) -> Path:
    path.write_text(yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# train: picked, printed, overridden, switched off, a user's file
# --------------------------------------------------------------------------------------------


def test_train_picks_the_builtin_preset_says_so_and_records_it(tmp_path):
    builtin = presets.preset_for("ppo", "CartPole-v1")
    assert builtin is not None and builtin.settings
    command, err = train(tmp_path, *CARTPOLE, *TINY)
    line = next(line for line in err.splitlines() if "preset" in line)
    assert line.startswith("ppo on CartPole-v1: preset from lecture_rl/assets/presets/ppo.yml: ")
    for key, value in builtin.settings.items():
        assert f"{key}={json.dumps(value)}" in line
        assert command["hyperparameters"][key] == value
    assert command["preset"]["entry"] == "CartPole-v1"
    assert command["preset"]["set"] == builtin.settings


def test_set_overrides_the_preset_and_the_rest_of_it_stays(tmp_path):
    builtin = presets.preset_for("ppo", "CartPole-v1")
    command, err = train(tmp_path, *CARTPOLE, *TINY, "--set", "lr=0.0123")
    assert command["hyperparameters"]["lr"] == 0.0123
    assert "lr=0.0123 (--set)" in err  # the line shows what is used, and why
    others = {k: v for k, v in builtin.settings.items() if k != "lr"}
    assert others and all(command["hyperparameters"][k] == v for k, v in others.items())


def test_preset_none_trains_with_the_agents_defaults(tmp_path):
    command, err = train(tmp_path, *CARTPOLE, *TINY, "--preset", "none")
    assert "preset" not in err
    assert command["hyperparameters"] == {} and command["preset"] is None


def test_a_users_preset_file_sets_hyperparameters_env_keywords_and_the_budget(tmp_path):
    path = write_preset(tmp_path / "mine.yml", {
        "LectureRL/GridWorld-v0": {
            "steps": 96, "env_set": {"map_name": "cliff"},
            "set": {"num_envs": 2, "n_steps": 16, "num_minibatches": 1, "lr": 0.002},
            "source": "a test",
        },
    })  # fmt: skip
    command, err = train(
        tmp_path, "--env", "LectureRL/GridWorld-v0", "--agent", "ppo", "--preset", str(path),
        "--eval-episodes", "0", "--env-set", "step_reward=-0.5",
    )  # fmt: skip
    assert f"preset from {path}" in err and "env map_name=cliff" in err
    assert command["env_kwargs"] == {"map_name": "cliff", "step_reward": -0.5}
    assert command["hyperparameters"]["lr"] == 0.002
    meta = json.loads((tmp_path / "run" / "agent.json").read_text())
    assert meta["training"]["budget"] == {"steps": 96}  # the file's budget: no --steps given


def test_steps_on_the_command_line_beat_the_presets_budget(tmp_path):
    path = write_preset(tmp_path / "mine.yml", {"CartPole-v1": {"steps": 10_000, "set": {}}})
    train(tmp_path, *CARTPOLE, "--preset", str(path), "--steps", "32", "--eval-episodes", "0")
    meta = json.loads((tmp_path / "run" / "agent.json").read_text())
    assert meta["training"]["budget"] == {"steps": 32}


def test_resume_takes_the_preset_from_the_folder_and_refuses_another(tmp_path, capsys):
    train(tmp_path, *CARTPOLE, *TINY)
    code = main(["train", "--resume", str(tmp_path / "run"), "--preset", "none"])
    err = capsys.readouterr().err
    assert code == 2 and "drop --preset" in err


BAD_FILES = {
    "missing file": (None, "no such file"),
    "bad yaml": ("CartPole-v1: {set: [lr: 1}\n", "not valid YAML (line 1)"),
    "not a mapping": ("- CartPole-v1\n", "must map env ids to entries"),
    "unknown entry key": ("CartPole-v1: {sett: {lr: 0.1}}\n", "unknown key 'sett'"),
    "set not a mapping": ("CartPole-v1: {set: 3}\n", "'set' must be a mapping"),
    "bad steps": ("CartPole-v1: {steps: -5, set: {}}\n", "steps must be a whole number"),
    "no entry for the env": ("Acrobot-v1: {set: {lr: 0.1}}\n",
                             "no entry for CartPole-v1 (its entries: Acrobot-v1)"),
    "not a hyperparameter": ("CartPole-v1: {set: {alpha: 0.1}}\n",
                             "'alpha' is not a hyperparameter of ppo"),
    "out of range": ("CartPole-v1: {set: {lr: -1}}\n", "lr"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_FILES))
@pytest.mark.parametrize("command", ["train", "compare"])
def test_a_bad_preset_file_is_one_line_and_exit_2(case, command, tmp_path, capsys):
    text, phrase = BAD_FILES[case]
    path = tmp_path / "preset.yml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    if command == "train":
        argv = ["train", *CARTPOLE, "--preset", str(path), "--out", str(tmp_path / "o")]
    else:
        argv = ["compare", "--env", "CartPole-v1", "--agents", "ppo", "--preset", str(path),
                "--out", str(tmp_path / "o")]  # fmt: skip
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert phrase in lines[0] and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # refused before any work


def test_every_builtin_entry_builds_its_agent():
    """The shipped files: valid YAML, known keys, names and values the agent takes."""
    import gymnasium as gym

    from lecture_rl.runners.agent_factory import agent_class

    folder = resources.files(presets.PRESETS_PACKAGE)
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".yml"))
    assert files
    for file in files:
        agent = file.name.removesuffix(".yml")
        cls = agent_class(agent)
        for env_id, entry in presets.read_file(Path(str(file))).items():
            assert entry.get("source"), f"{file.name}: {env_id} says nowhere where it is from"
            preset = presets.preset_for(agent, env_id.replace("*", "X"))
            assert preset is not None and preset.entry == env_id
            for net in ["mlp", *preset.nets]:
                hp = presets.hyperparameters(preset, agent, {"net": net}, cls)
                cls.validate_hyperparameters(hp)
            assert isinstance(preset.env_set, dict)
    assert isinstance(gym, object)


# --------------------------------------------------------------------------------------------
# What wins: the layers
# --------------------------------------------------------------------------------------------


def test_layers_defaults_preset_net_defaults_preset_nets_command_line():
    preset = presets.Preset(
        "ppo", "X-v0", "mine.yml",
        settings={"lr": 0.005, "update_epochs": 4, "gae_lambda": 0.8,
                  "net_kwargs": {"forget_bias": 1.0, "num_layers": 2}},
        nets={"lstm": {"gae_lambda": 0.9}},
    )  # fmt: skip
    cls = agents.agent_class("ppo")
    mlp = presets.hyperparameters(preset, "ppo", {}, cls)
    assert mlp["lr"] == 0.005 and mlp["update_epochs"] == 4 and mlp["gae_lambda"] == 0.8
    lstm = presets.hyperparameters(preset, "ppo", {"net": "lstm", "lr": 0.01}, cls)
    assert lstm["lr"] == 0.01  # the command line wins
    assert lstm["update_epochs"] == cls.net_defaults["lstm"]["update_epochs"]  # the net's own
    assert lstm["gae_lambda"] == 0.9  # the preset's entry for the net
    # net_kwargs merge key by key: the preset's, the net's defaults over them
    assert lstm["net_kwargs"]["num_layers"] == 2
    line = preset.describe("lstm", lstm, {"net": "lstm", "lr": 0.01})
    assert "lr=0.01 (--set)" in line and "update_epochs=8 (lstm's default)" in line
    assert "gae_lambda=0.9," in line  # the preset's own entry for the net: no remark
    lstm_defaults = cls.net_defaults["lstm"]["net_kwargs"]
    assert lstm["net_kwargs"]["forget_bias"] == lstm_defaults["forget_bias"]
    assert presets.hyperparameters(None, "ppo", {"lr": 1.0}) == {"lr": 1.0}


def test_an_exact_id_beats_a_pattern_and_the_longest_pattern_wins():
    entries = {"popgym-*": {}, "popgym-Repeat*": {}, "popgym-RepeatPreviousEasy-v0": {}}
    assert presets.entry_for(entries, "popgym-RepeatPreviousEasy-v0") == (
        "popgym-RepeatPreviousEasy-v0"
    )
    assert presets.entry_for(entries, "popgym-RepeatFirstEasy-v0") == "popgym-Repeat*"
    assert presets.entry_for(entries, "popgym-CountRecallEasy-v0") == "popgym-*"
    assert presets.entry_for(entries, "CartPole-v1") is None


def test_no_builtin_entry_means_no_preset_and_no_line(tmp_path):
    assert presets.preset_for("ppo", "FrozenLake-v1") is None
    assert presets.preset_for("q_learning", "CartPole-v1") is None  # no file for the agent
    assert presets.preset_for("sb3:PPO", "CartPole-v1") is None
    with pytest.raises(UsageError, match="needs a value"):
        presets.check_choice(" ")


# --------------------------------------------------------------------------------------------
# compare: per agent, recorded in config.json, repeated from it
# --------------------------------------------------------------------------------------------


def run_compare(*argv: str) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["compare", "--workers", "1", "--seeds", "1", "--eval-episodes", "1", *argv],
                    out=io.StringIO())  # fmt: skip
    return code, err.getvalue()


def trial_settings(out: Path) -> dict[str, tuple[dict, dict]]:
    """`{label: (hyperparameters, env_kwargs)}` of the trials in a compare folder."""
    from lecture_rl.runners.compare.trials import trial_identity  # noqa: F401

    found = {}
    for path in (out / "trials").glob("*.json"):
        result = json.loads(path.read_text())
        found[result["agent"]] = result
    return found


def test_compare_applies_each_agents_preset_records_them_and_repeats_from_config(tmp_path):
    mine = write_preset(tmp_path / "mine.yml", {
        "LectureRL/GridWorld-v0": {"set": {"num_envs": 2, "n_steps": 8, "num_minibatches": 1,
                                           "lr": 0.004},
                                   "env_set": {"step_reward": -0.1}, "source": "a test"},
    })  # fmt: skip
    out = tmp_path / "c"
    code, err = run_compare(
        "--env", "LectureRL/GridWorld-v0", "--agents", "tuned=ppo,plain=ppo,q_learning",
        "--preset", f"tuned={mine}", "--preset", "plain=none", "--steps", "32",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert f"tuned (ppo) on LectureRL/GridWorld-v0: preset from {mine}" in err
    assert "plain (ppo) on" not in err and "q_learning on" not in err
    config = json.loads((out / "config.json").read_text())
    assert config["preset"] == [f"tuned={mine}", "plain=none"]
    assert list(config["presets"]) == ["tuned"]
    assert config["presets"]["tuned"]["set"]["lr"] == 0.004
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["agents"]) == {"tuned", "plain", "q_learning"}

    mine.unlink()  # the rerun reads what config.json recorded, not the file
    again = tmp_path / "again"
    code, err = run_compare("--config", str(out / "config.json"), "--out", str(again))
    assert code == 0, err
    from lecture_rl.runners.compare.run import load_finished  # noqa: F401

    first = {p.name: json.loads(p.read_text()) for p in (out / "trials").glob("*.json")}
    second = {p.name: json.loads(p.read_text()) for p in (again / "trials").glob("*.json")}
    assert first.keys() == second.keys()
    for name in first:
        assert first[name]["trial_hash"] == second[name]["trial_hash"], name


def test_compare_refuses_to_resume_a_folder_run_with_other_presets(tmp_path):
    out = tmp_path / "c"
    base = ["--env", "CartPole-v1", "--agents", "ppo", "--steps", "32", "--out", str(out)]
    mine = write_preset(
        tmp_path / "mine.yml",
        {
            "CartPole-v1": {
                "set": {"num_envs": 2, "n_steps": 16, "num_minibatches": 1},
                "source": "a test",
            }
        },
    )
    assert run_compare(*base, "--preset", str(mine))[0] == 0
    code, err = run_compare(*base, "--preset", "none")
    assert code == 2 and "holds a run with another configuration" in err


def test_compare_names_an_unknown_agent_in_preset(tmp_path):
    code, err = run_compare("--env", "CartPole-v1", "--agents", "ppo", "--preset",
                            "dqn=none", "--out", str(tmp_path / "c"))  # fmt: skip
    assert code == 2 and "'dqn' is not one of the agents" in err


def test_watch_off_screen_trains_with_the_preset(tmp_path, capsys):
    path = write_preset(
        tmp_path / "mine.yml",
        {
            "CartPole-v1": {
                "set": {"num_envs": 2, "n_steps": 8, "num_minibatches": 1},
                "source": "a test",
            }
        },
    )
    code = main(["watch", *CARTPOLE, "--no-live", "--train-episodes", "2", "--episodes", "0",
                 "--preset", str(path)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"ppo on CartPole-v1: preset from {path}: num_envs=2, n_steps=8" in err


def test_agents_lists_the_envs_of_the_builtin_presets():
    import io

    out = io.StringIO()
    assert main(["agents", "ppo"], out=out) == 0
    text = " ".join(out.getvalue().split())
    assert "presets (lecture_rl/assets/presets/ppo.yml" in text
    assert "LectureRL/Parity-v0" in text and "CartPole-v1" in text


#: ppo's defaults before the presets came (the settings every figure of ours on Parity, Copy,
#: the grid world and POPGym was measured with)
FORMER_PPO_DEFAULTS = {
    "num_envs": 128, "n_steps": 32, "num_minibatches": 4, "update_epochs": 4,
    "lr": 5e-3, "gae_lambda": 0.8, "ent_coef": 0.01, "hidden_size": 128,
}  # fmt: skip


@pytest.mark.parametrize(
    "env_id",
    ["LectureRL/Parity-v0", "LectureRL/Copy-v0", "LectureRL/GridWorld-v0",
     "popgym-RepeatPreviousEasy-v0", "popgym-MineSweeperEasy-v0"],
)  # fmt: skip
def test_our_envs_train_with_what_were_ppos_defaults_on_every_net(env_id):
    """Our envs' presets restate ppo's former defaults, the per-net defaults over them: every
    figure measured on them before (same seed, same numbers) stands."""
    cls = agents.agent_class("ppo")
    assert any(cls.params[k].default != v for k, v in FORMER_PPO_DEFAULTS.items())
    for net in ("mlp", "rnn", "lstm", "gru", "transformer"):
        built = cls.validate_hyperparameters(presets.settings_for("ppo", env_id, {"net": net}))
        former = {**FORMER_PPO_DEFAULTS, "net": net}
        for key, value in cls.net_defaults.get(net, {}).items():
            former[key] = value
        expected = cls.validate_hyperparameters(former)
        assert built == expected, (env_id, net)
