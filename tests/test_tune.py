"""`lecture-rl tune`: search spaces, the preset format, a study end to end, the pruner,
resume after `kill -9` and Ctrl-C, misuse, and `lecture-rl` without Optuna."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from lecture_rl import agents
from lecture_rl.runners import presets
from lecture_rl.runners.agent_factory import build_agent
from lecture_rl.runners.cli import main
from lecture_rl.runners.compare.trials import Trial, run_trial
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.processes import group_members, lecture_rl_command
from lecture_rl.runners.settings import UsageError
from lecture_rl.runners.tune.preset import preset_text, source_line
from lecture_rl.runners.tune.spaces import SPACES, Dimension, parse_dimension, resolve_space

CLIFF = ["tune", "--env", "CliffWalking-v1", "--agent", "q_learning", "--episodes", "60",
         "--eval-episodes", "2", "--workers", "1"]  # fmt: skip
#: ppo on CartPole at a tiny budget, small and fast settings, three searched
CARTPOLE = ["tune", "--env", "CartPole-v1", "--agent", "ppo", "--steps", "2000", "--trials", "4",
            "--seeds", "2", "--eval-episodes", "2", "--set", "num_envs=8", "--set", "n_steps=32",
            "--set", "hidden_size=32", "--only", "lr,ent_coef,gamma"]  # fmt: skip


def tune(out: Path, *extra: str, trials: int = 4, seeds: int = 2) -> int:
    return main([*CLIFF, "--trials", str(trials), "--seeds", str(seeds), "--out", str(out), *extra])


def load(out: Path):
    return optuna.load_study(study_name="tune", storage=f"sqlite:///{out / 'study.db'}")


def rows(out: Path) -> list[dict[str, str]]:
    with open(out / "trials.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def trial_files(out: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "trials").glob("*")}


# ----- spaces -------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", sorted(SPACES))
def test_every_default_space_names_the_agents_own_hyperparameters_in_range(agent):
    cls = agents.agent_class(agent)
    space = resolve_space(cls, agent, {}, {}, None)
    assert space == SPACES[agent]
    for name, dim in space.items():
        assert name in cls.params, name
        for value in dim.values_to_check():
            cls.params[name].check(name, value, agent)
        assert dim.distribution() is not None
        assert parse_dimension(name, dim.text()) == dim  # the text form reads back


def test_space_forms_parse_and_misuse_is_one_line():
    assert parse_dimension("lr", "log(1e-5, 1e-2)") == Dimension("log", 1e-5, 1e-2)
    assert parse_dimension("n", "logint(8,512)") == Dimension("logint", 8, 512)
    assert parse_dimension("net", "choice(mlp,gru)").choices == ("mlp", "gru")
    assert parse_dimension("flag", "choice(true,false)").choices == (True, False)
    for text, says in [
        ("log(0,1)", "above 0"),
        ("int(1.5,3)", "whole numbers"),
        ("float(3,1)", "LOW must be below HIGH"),
        ("uniform(1,2)", "write one of"),
        ("choice()", "at least one value"),
        ("choice(1,1)", "appears twice"),
        ("choice([1],2)", "choice values must be"),
        ("log(1)", "two numbers"),
    ]:
        with pytest.raises(UsageError, match=says) as caught:
            parse_dimension("x", text)
        assert "\n" not in str(caught.value)


def test_set_fixes_only_cuts_and_ranges_are_the_agents():
    cls = agents.agent_class("q_learning")
    space = resolve_space(cls, "q_learning", {}, {"gamma": 1.0}, None)
    assert "gamma" not in space and "alpha" in space
    assert list(resolve_space(cls, "q_learning", {}, {}, ["epsilon", "alpha"])) == [
        "epsilon",
        "alpha",
    ]
    for overrides, only, fixed, says in [
        ({"alpah": "float(0.1,0.5)"}, None, {}, "did you mean 'alpha'"),
        ({"alpha": "float(0.5,2)"}, None, {}, "alpha must be in"),
        ({}, ["lr"], {}, "'lr' is not in q_learning's search space"),
        ({}, ["alpha"], {"alpha": 0.5}, "nothing left to search"),
    ]:
        with pytest.raises(UsageError, match=says):
            resolve_space(cls, "q_learning", overrides, fixed, only)
    with pytest.raises(UsageError, match="no search space for agent 'random'"):
        resolve_space(agents.agent_class("random"), "random", {}, {}, None)


# ----- the preset file ------------------------------------------------------------------------


def test_preset_is_the_specified_format_and_reads_back_as_the_values(tmp_path):
    source = source_line(17, 40, 500.0, 3, "2026-12-07")
    text = preset_text("CartPole-v1", {"steps": 20000}, {}, {"lr": 0.00025}, source)
    assert text == (
        "CartPole-v1:\n"
        "  steps: 20000           # the per-trial budget the best settings were found at\n"
        "  env_set: {}            # env keywords given to tune, as --env-set\n"
        "  set:                   # the agent's hyperparameters, names and values as --set "
        "takes them\n"
        "    lr: 0.00025\n"
        '  source: "lecture-rl tune, trial 17 of 40, mean eval return 500.0 (3 seeds), '
        '2026-12-07"\n'
    )
    values = {"lr": 1e-05, "big": 2.5e20, "gamma": 0.99, "n": 3, "net": "lstm", "on": True,
              "off": False, "net_kwargs": {"layers": 2, "yes": "no"},
              "sizes": [64, 1e-3]}  # fmt: skip
    env_set = {"map_name": "cliff", "slip": 0.1}
    nets = {"lstm": {"update_epochs": 3}}
    text = preset_text("my.pkg:Task-v0", {"episodes": 300}, env_set, values, "s", nets)
    assert yaml.safe_load(text) == {
        "my.pkg:Task-v0": {
            "episodes": 300, "env_set": env_set, "set": values, "nets": nets, "source": "s"
        }
    }  # fmt: skip
    path = tmp_path / "preset.yml"  # and the loader of train --preset reads it as written
    path.write_text(text)
    read = presets.preset_for("ppo", "my.pkg:Task-v0", str(path))
    assert (read.settings, read.env_set, read.nets, read.episodes, read.steps, read.source) == (
        values, env_set, nets, 300, None, "s"
    )  # fmt: skip


# ----- the evaluation curve inside compare's trial ------------------------------------------


def cliff_trial(tmp_path: Path, **curve) -> Trial:
    return Trial(agent="q", agent_target=None, seed=0, env_id="CliffWalking-v1", env_kwargs={},
                 hyperparameters={"alpha": 0.9}, device=None, budget={"episodes": 50},
                 eval_episodes=2, eval_seed=1_000_000, log_dir=None,
                 algorithm="q_learning", curve=curve)  # fmt: skip


def test_a_trial_reports_its_curve_while_it_trains_and_stops_on_its_stop_file(tmp_path):
    reports = []
    result = run_trial(cliff_trial(tmp_path, at=[10, 25, 40]), report=lambda *r: reports.append(r))
    points = [r[3] for r in reports if len(r) == 4]
    assert [p["at"] for p in points] == [10, 25, 40] == [p["at"] for p in result["curve"]]
    assert len(result["records"]) == 50 and "eval" in result and "stopped_at" not in result
    assert points[-1]["return"] == result["eval"]["return_mean"] == -13.0  # learned by then

    stop = tmp_path / "stop"  # the driver asks to stop when it has read the first point

    def driver(*item):
        if len(item) == 4:
            stop.write_text("stop")

    stopped = run_trial(cliff_trial(tmp_path, at=[10, 25], stop_file=str(stop)), report=driver)
    assert stopped["stopped_at"] == 10 and len(stopped["records"]) == 10
    assert [p["at"] for p in stopped["curve"]] == [10]
    assert "eval" not in stopped and not stopped["error"]


# ----- a study ------------------------------------------------------------------------------


def test_a_study_writes_the_best_preset_report_and_resumes_without_rerunning(tmp_path, capsys):
    out = tmp_path / "study"
    assert tune(out) == 0
    summary = json.loads((out / "summary.json").read_text())
    best = summary["best"]
    preset = yaml.safe_load((out / "q_learning.yml").read_text())["CliffWalking-v1"]
    assert preset["episodes"] == 60 and preset["env_set"] == {}
    assert preset["set"] == best["hyperparameters"]
    assert set(preset["set"]) == set(SPACES["q_learning"])
    assert f"trial {best['trial']} of 4" in preset["source"] and "(2 seeds)" in preset["source"]
    seeds = [
        json.loads((out / "trials" / f"trial-{best['trial']:04d}-seed{s}.json").read_text())
        for s in (0, 1)
    ]
    assert best["mean_eval_return"] == pytest.approx(
        sum(s["eval"]["return_mean"] for s in seeds) / 2
    )
    assert [r["trial"] for r in rows(out)] == ["0", "1", "2", "3"]
    for name in ("report.md", "history.png", "best_curve.png", "config.json"):
        assert (out / name).stat().st_size > 0, name
    assert (
        "lecture-rl train --env CliffWalking-v1 --agent q_learning --preset"
        in (out / "report.md").read_text()
    )

    trained = tmp_path / "trained"  # the preset trains: its settings and its budget in episodes
    argv = ["train", "--env", "CliffWalking-v1", "--agent", "q_learning", "--preset",
            str(out / "q_learning.yml"), "--eval-episodes", "1", "--out", str(trained)]  # fmt: skip
    assert main(argv) == 0
    meta = json.loads((trained / "agent.json").read_text())
    assert meta["training"]["budget"] == {"episodes": 60}
    assert all(meta["hyperparameters"][k] == v for k, v in best["hyperparameters"].items())

    before = trial_files(out)
    capsys.readouterr()
    assert tune(out) == 0  # the same command: the study is complete
    assert "4 of 4 trials already done; running 0" in capsys.readouterr().out
    assert trial_files(out) == before
    assert tune(out, trials=6) == 0  # a larger --trials goes on: two more, nothing rerun
    assert "4 of 6 trials already done; running 2" in capsys.readouterr().out
    after = trial_files(out)
    assert all(after[name] == stamp for name, stamp in before.items())
    assert len(after) == 12 and len(load(out).trials) == 6

    assert tune(out, "--set", "gamma=1") == 2  # other settings: refused, the study untouched
    assert "holds a study with other settings (hyperparameters" in capsys.readouterr().err
    assert tune(out, "--set", "gamma=1", "--fresh", trials=1, seeds=1) == 0
    assert len(load(out).trials) == 1 and len(trial_files(out)) == 1


def test_a_preset_from_tune_trains_exactly_the_best_trials_settings(tmp_path):
    """With an LSTM, whose own defaults (epochs, gate biases) sit above a preset's `set`, the
    file repeats the trial's values under `nets`, and the env's preset (CartPole's) that the
    trials started from is in the file too."""
    out = tmp_path / "lstm"
    argv = ["tune", "--env", "CartPole-v1", "--agent", "ppo", "--steps", "256", "--trials", "2",
            "--seeds", "1", "--workers", "1", "--eval-episodes", "1", "--set", "net=lstm",
            "--set", "num_envs=4", "--set", "n_steps=16", "--set", "hidden_size=8",
            "--only", "lr,update_epochs", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    best = json.loads((out / "summary.json").read_text())["best"]["hyperparameters"]
    builtin = presets.preset_for("ppo", "CartPole-v1")
    assert best["gamma"] == builtin.settings["gamma"]  # not searched: the env's preset's value
    entry = yaml.safe_load((out / "ppo.yml").read_text())["CartPole-v1"]
    assert entry["nets"] == {"lstm": {k: best[k] for k in ("update_epochs", "net_kwargs")}}
    trained = tmp_path / "trained"
    train = ["train", "--env", "CartPole-v1", "--agent", "ppo", "--preset", str(out / "ppo.yml"),
             "--eval-episodes", "1", "--out", str(trained)]  # fmt: skip
    assert main(train) == 0
    meta = json.loads((trained / "agent.json").read_text())
    env = make_env("CartPole-v1", {})
    expected = build_agent("ppo", env, seed=0, hyperparameters=best).hp
    assert meta["hyperparameters"] == json.loads(json.dumps(expected))
    assert meta["training"]["budget"] == {"steps": 256}


def test_the_same_command_gives_the_same_study(tmp_path):
    for name in ("a", "b"):
        assert tune(tmp_path / name, trials=3, seeds=1) == 0
    a, b = rows(tmp_path / "a"), rows(tmp_path / "b")
    for row in a + b:
        row.pop("wall_s")
    assert a == b
    assert (tmp_path / "a" / "q_learning.yml").read_text() == (
        tmp_path / "b" / "q_learning.yml"
    ).read_text()


def test_the_median_pruner_stops_a_poor_trial_at_its_curve(tmp_path):
    out = tmp_path / "pruned"
    extra = ["--startup-trials", "1", "--space", "alpha=choice(0.01,0.9)", "--only", "alpha"]
    assert tune(out, *extra, trials=4, seeds=1) == 0
    study = load(out)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert pruned and complete
    for trial in pruned:
        assert trial.params["alpha"] == 0.01
        assert max(trial.intermediate_values) < 60  # never reached the end of the budget
        seed = json.loads((out / "trials" / f"trial-{trial.number:04d}-seed0.json").read_text())
        assert seed["stopped_at"] == trial.user_attrs["pruned_at"] and "eval" not in seed
        assert len(seed["records"]) == seed["stopped_at"] < 60
    assert all(t.value == -13.0 for t in complete)
    assert [r["state"] for r in rows(out)].count("pruned") == len(pruned)


def test_refused_settings_and_failing_seeds_fail_their_trial_only(tmp_path, monkeypatch):
    cls = agents.agent_class("q_learning")
    original = cls.train

    def train(self, env, *args, **kwargs):
        if self.hp["alpha"] > 0.5:
            raise RuntimeError("simulated crash")
        return original(self, env, *args, **kwargs)

    monkeypatch.setattr(cls, "train", train)
    out = tmp_path / "failing"
    extra = ["--space", "alpha=choice(0.2,0.9)", "--only", "alpha", "--pruner", "none"]
    assert tune(out, *extra, trials=4, seeds=1) == 0
    table = rows(out)
    failed = [r for r in table if r["state"] == "failed"]
    assert failed and all(r["alpha"] == "0.9" for r in failed)
    assert all("RuntimeError: simulated crash" in r["note"] for r in failed)
    assert len(table) == 4  # failed trials count: the study does not retry them forever

    monkeypatch.setattr(cls, "train", original)
    ppo = ["tune", "--env", "CartPole-v1", "--agent", "ppo", "--steps", "256", "--trials", "3",
           "--seeds", "1", "--workers", "1", "--eval-episodes", "1", "--set", "num_envs=8",
           "--set", "n_steps=16", "--set", "hidden_size=8", "--only", "num_minibatches",
           "--space", "num_minibatches=choice(2,16)",
           "--out", str(tmp_path / "refused")]  # fmt: skip
    assert main(ppo) in (0, 1)
    notes = {r["num_minibatches"]: r["note"] for r in rows(tmp_path / "refused")}
    assert (
        "refused settings" in notes["16"] and "num_minibatches must be <= num_envs" in notes["16"]
    )


# ----- kill -9 and Ctrl-C -------------------------------------------------------------------


def start_tune(out: Path, workers: int, **popen) -> subprocess.Popen:
    """`lecture-rl tune` on CartPole as a real process in its own session, Ctrl-C enabled."""
    argv = [*lecture_rl_command(), *CARTPOLE, "--workers", str(workers), "--out", str(out)]
    default_ctrl_c = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    argv = [sys.executable, "-c", default_ctrl_c + "os.execv(sys.argv[1], sys.argv[1:])", *argv]
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(argv, start_new_session=True, **popen)


def wait_for_files(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 240
    while len(list((out / "trials").glob("*.json"))) < count and time.monotonic() < deadline:
        assert process.poll() is None, "tune ended before the signal; make trials longer"
        time.sleep(0.01)


def finish(out: Path) -> subprocess.CompletedProcess:
    argv = [*lecture_rl_command(), *CARTPOLE, "--workers", "2", "--out", str(out)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


def assert_counted_once(out: Path) -> list:
    study = load(out)
    states = [t.state for t in study.trials]
    interrupted = [t for t in study.trials if "interrupted" in t.user_attrs]
    counted = [t for t in study.trials if t.state.is_finished() and t not in interrupted]
    assert len(counted) == 4 and len(study.trials) == 4 + len(interrupted), states
    for old in interrupted:  # each rerun once, under a new number, with the same settings
        (retry,) = [t for t in study.trials if t.user_attrs.get("retry_of") == old.number]
        assert retry.params == old.params and retry.state.is_finished()
    return interrupted


def test_kill_9_mid_study_then_the_same_command_runs_only_the_remaining_trials(tmp_path):
    out = tmp_path / "killed"
    process = start_tune(out, workers=1)
    wait_for_files(out, 3, process)  # trial 0 done, trial 1 half done
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = trial_files(out)
    study = load(out)
    running = [t.number for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    done = sum(1 for t in study.trials if t.state.is_finished())
    assert len(running) == 1 and 1 <= done < 4

    rerun = finish(out)
    assert rerun.returncode == 0, rerun.stderr
    assert (
        f"{done} of 4 trials already done; trial {running[0]} had not ended and runs again; "
        f"running {4 - done}" in rerun.stdout
    )
    (killed,) = assert_counted_once(out)
    assert killed.number == running[0]
    after = trial_files(out)
    assert all(after[name] == stamp for name, stamp in before.items())  # nothing finished redone
    retry = next(t for t in load(out).trials if t.user_attrs.get("retry_of") == killed.number)
    for name in before:  # the seeds the killed trial finished were kept, not trained again
        if name.startswith(f"trial-{killed.number:04d}-"):
            old = json.loads(before[name][1])
            new = json.loads(
                (
                    out / "trials" / name.replace(f"{killed.number:04d}", f"{retry.number:04d}")
                ).read_text()
            )
            assert (new["records"], new["eval"], new["tune_key"]) == (
                old["records"], old["eval"], old["tune_key"]
            )  # fmt: skip
    preset = yaml.safe_load((out / "ppo.yml").read_text())["CartPole-v1"]
    builtin = presets.preset_for("ppo", "CartPole-v1").settings  # what the trials started from
    assert preset["steps"] == 2000 and set(preset["set"]) == {
        "num_envs", "n_steps", "hidden_size", "lr", "ent_coef", "gamma", *builtin
    }  # fmt: skip


def test_ctrl_c_keeps_the_study_and_leaves_no_process(tmp_path):
    out = tmp_path / "stopped"
    process = start_tune(out, workers=2, stdout=subprocess.PIPE, text=True)
    wait_for_files(out, 2, process)
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "the study is kept; run the same command again" in stdout
    deadline = time.monotonic() + 20
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_members(process.pid)
    study = load(out)
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.RUNNING not in states
    for old in [t for t in study.trials if "interrupted" in t.user_attrs]:
        (queued,) = [t for t in study.trials if t.user_attrs.get("retry_of") == old.number]
        assert queued.state == optuna.trial.TrialState.WAITING
        assert queued.system_attrs["fixed_params"] == old.params  # asked first, next time
    assert (out / "report.md").is_file() and (out / "trials.csv").is_file()


# ----- misuse and a missing Optuna ------------------------------------------------------------


def test_misuse_is_one_line_and_exit_2_before_any_work(tmp_path, capsys):
    out = tmp_path / "x"
    cases = [
        ([*CLIFF], "tune needs --out"),
        ([*CLIFF, "--trials", "0", "--out", str(out)], "--trials must be at least 1"),
        ([*CLIFF, "--evaluations", "0", "--out", str(out)], "--evaluations must be at least 1"),
        ([*CLIFF, "--space", "alpha", "--out", str(out)], "is not NAME=DIST"),
        ([*CLIFF, "--space", "alpha=log(0,1)", "--out", str(out)], "above 0"),
        ([*CLIFF, "--only", "lr", "--out", str(out)], "'lr' is not in q_learning's"),
        ([*CLIFF, "--set", "alpha=2", "--out", str(out)], "alpha"),
        (["tune", "--env", "CliffWalking-v1", "--agent", "random", "--out", str(out)],
         "no search space for agent 'random'"),
        (["tune", "--agent", "q_learning", "--out", str(out)], "tune needs --env"),
    ]  # fmt: skip
    for argv, says in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1, (argv, err)
    assert not out.exists()
    other = tmp_path / "compared"  # a folder another command wrote is never taken over
    (other / "trials").mkdir(parents=True)
    (other / "config.json").write_text('{"command": "compare", "env": "CliffWalking-v1"}')
    assert main([*CLIFF, "--fresh", "--out", str(other)]) == 2
    assert "holds a 'compare' run, not a tune study" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["config.json", "trials"]


def test_a_second_tune_on_the_same_out_is_refused(tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    with open(out / ".tune.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("12345")
        held.flush()
        assert tune(out) == 2
    assert "another lecture-rl tune (pid 12345) is running" in capsys.readouterr().err
    assert not (out / "study.db").exists()


def test_without_optuna_lecture_rl_runs_and_tune_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['optuna'] = None\n"
        "from lecture_rl.runners.cli import main\n"
        "assert main(['envs']) == 0\n"
        "code = main(['tune', '--env', 'CartPole-v1', '--agent', 'ppo', '--out', "
        f"{str(tmp_path)!r}])\n"
        "assert 'optuna' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "sys.exit(code)\n"
    )  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "lecture-rl: error: tune needs Optuna, which is not installed; install it with: pip "
        'install "lecture-rl[tune]"'
    )
