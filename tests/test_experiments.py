"""`lecture-rl experiment`: every experiment writes a report whose verdict follows from its own
numbers; every verdict function turns when fed numbers that contradict the claim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lecture_rl.runners import experiments
from lecture_rl.runners.cli import main
from lecture_rl.runners.experiments.engine import Context


def check_report(folder: Path, module) -> dict:
    numbers = json.loads((folder / "numbers.json").read_text(encoding="utf-8"))
    verdict = module.verdict(numbers["numbers"])
    assert numbers["held"] == verdict.held
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert verdict.line in markdown and "lecture-rl experiment" in markdown
    assert module.CLAIM in markdown
    if "![" in markdown:  # plots are embedded, nothing is linked from the page
        assert "data:image/png;base64," in page and 'src="http' not in page
    return numbers["numbers"]


@pytest.mark.parametrize(
    ("name", "seeds"),
    [("xor", None), ("vanishing-gradient", 2), ("random-walk", 3), ("cliff", 2), ("td0-vs-dp", 1)],
)
def test_quick_experiment_writes_a_report_that_follows_from_its_numbers(tmp_path, name, seeds):
    module = experiments.load(name)
    verdict = module.run(Context(tmp_path, quick=True, seeds=seeds, workers=1))
    numbers = check_report(tmp_path, module)
    assert module.verdict(numbers) == verdict


@pytest.mark.parametrize("name", ["parity_memory", "copy_delay", "dqn_target", "popgym_memory"])
def test_training_experiments_on_tiny_settings(tmp_path, monkeypatch, name):
    from lecture_rl.runners.experiments import copy_delay, dqn_target, parity_memory

    if name == "popgym_memory":
        pytest.importorskip("popgym", reason="the 'benchmarks' extra is not installed")
    from lecture_rl.runners.experiments import popgym_memory

    monkeypatch.setattr(popgym_memory, "QUICK_STEPS", 256)

    monkeypatch.setattr(parity_memory, "QUICK_NETS", ("mlp", "rnn", "gru", "lstm", "transformer"))
    monkeypatch.setattr(parity_memory, "QUICK", (512, 2))
    monkeypatch.setattr(parity_memory, "TEST_LENGTHS", (4, 8))
    monkeypatch.setattr(copy_delay, "QUICK", ((0, 1), 256))
    monkeypatch.setattr(copy_delay, "QUICK_NETS", ("lstm", "transformer"))
    monkeypatch.setattr(dqn_target, "QUICK_STEPS", 220)  # two 100-step episodes at least
    module = {"parity_memory": parity_memory, "copy_delay": copy_delay, "dqn_target": dqn_target,
              "popgym_memory": popgym_memory}[name]  # fmt: skip
    folder = tmp_path / module.NAME
    verdict = module.run(Context(folder, quick=True, seeds=1, workers=1))
    assert module.verdict(check_report(folder, module)) == verdict
    # compare's files are there, so a rerun resumes
    assert list(folder.glob("runs*/summary.json")) and list(folder.glob("runs*/trials/*"))


CONTRARY = {
    "xor": (
        {"relu_wrong": 0, "max_grad_difference": 1e-17, "loss": 0.6, "loss_after": 0.5},
        {"relu_wrong": 0, "max_grad_difference": 1e-3, "loss": 0.6, "loss_after": 0.5},
    ),
    "vanishing-gradient": (
        {"ratio": {"rnn": 1e-12, "gru": 1e-10, "lstm": 1e-5}, "exploding_ratio": 1e3,
         "scale": 4.0, "clipped_norm": 1.0},
        {"ratio": {"rnn": 1e-12, "gru": 1e-10, "lstm": 1e-12}, "exploding_ratio": 1e3,
         "scale": 4.0, "clipped_norm": 1.0},
    ),
    "td0-vs-dp": (
        {"maps": {"lecture": {"first_rms": 2.8, "final_rms": 0.4, "alpha": "a", "episodes": 9}}},
        {"maps": {"lecture": {"first_rms": 2.8, "final_rms": 2.0, "alpha": "a", "episodes": 9}}},
    ),
    "random-walk": (
        {"episodes": 100, "final_rms": {"TD(0) α=0.1": 0.05, "MC α=0.01": 0.1}},
        {"episodes": 100, "final_rms": {"TD(0) α=0.1": 0.2, "MC α=0.01": 0.1}},
    ),
    "cliff": (
        {"online": {"sarsa": -25.0, "q_learning": -50.0},
         "greedy_length": {"sarsa": [17, None, 15], "q_learning": [13, 13, 15]}},
        {"online": {"sarsa": -60.0, "q_learning": -50.0},
         "greedy_length": {"sarsa": [17, 17], "q_learning": [13, 13]}},
    ),
    "parity-memory": (
        {"steps": 1, "accuracy": {"mlp": 0.53, "rnn": 0.6, "gru": 1.0, "lstm": 1.0,
                                  "transformer": 1.0}},
        {"steps": 1, "accuracy": {"mlp": 0.53, "rnn": 1.0, "gru": 1.0, "lstm": 1.0,
                                  "transformer": 1.0}},
    ),
    "copy-delay": (
        {"chance": 0.25, "accuracy": {"0": {"lstm": 0.3}, "8": {"lstm": 0.9, "gru": 0.8}}},
        {"chance": 0.25, "accuracy": {"0": {"lstm": 0.9}, "8": {"lstm": 0.9, "gru": 0.26}}},
    ),
    "dqn-target": (
        {"steps": 1, "greedy_return": {"dqn": 0.89, "target-every-step": 0.2, "no-replay": -1},
         "last_quarter": {"dqn": 0.8, "target-every-step": 0.1, "no-replay": -1}},
        {"steps": 1, "greedy_return": {"dqn": 0.2, "target-every-step": 0.89, "no-replay": -1},
         "last_quarter": {"dqn": 0.1, "target-every-step": 0.8, "no-replay": -1}},
    ),
    "popgym-memory": (
        {"steps": 1, "seeds": 1, "needs_memory": {"RP": True, "HL": False},
         "return": {"RP": {"mlp": -0.5, "gru": 0.9}, "HL": {"mlp": 0.5, "gru": 0.52}}},
        {"steps": 1, "seeds": 1, "needs_memory": {"RP": True, "HL": False},
         "return": {"RP": {"mlp": -0.5, "gru": -0.4}, "HL": {"mlp": 0.5, "gru": 0.52}}},
    ),
}  # fmt: skip


#: more contradicting numbers: each turns one further condition of the claim
MORE_CONTRARY = [
    # SARSA's greedy paths loop ("no path"): not a safer path, however good its online return
    ("cliff", {"online": {"sarsa": -25.0, "q_learning": -50.0},
               "greedy_length": {"sarsa": [None, None, 17], "q_learning": [13, 13, 13]}}),
    # Q-learning's greedy path is not the edge
    ("cliff", {"online": {"sarsa": -25.0, "q_learning": -50.0},
               "greedy_length": {"sarsa": [17, 17], "q_learning": [15, None]}}),
    # full DQN did not learn (far from the optimum 0.89): the ablations say nothing
    ("dqn-target", {"steps": 1,
                    "greedy_return": {"dqn": -0.07, "target-every-step": -1.0, "no-replay": -1},
                    "last_quarter": {"dqn": 0.5, "target-every-step": -1.0, "no-replay": -1}}),
    # optimal after training on every seed, but no steadier than without θ̃ over the last quarter
    ("dqn-target", {"steps": 1,
                    "greedy_return": {"dqn": 0.89, "target-every-step": -0.37, "no-replay": -1},
                    "last_quarter": {"dqn": 0.6, "target-every-step": 0.55, "no-replay": -1}}),
    # no probe numbers for an ablation: nothing to compare with, not held
    ("dqn-target", {"steps": 1,
                    "greedy_return": {"dqn": 0.89, "target-every-step": -1.0, "no-replay": -1},
                    "last_quarter": {"dqn": 0.89, "target-every-step": None, "no-replay": -1}}),
    # memory also helps on the memoryless task: the claim's second half fails
    ("popgym-memory", {"steps": 1, "seeds": 1, "needs_memory": {"RP": True, "HL": False},
                       "return": {"RP": {"mlp": -0.5, "gru": 0.9, "lstm": 0.8},
                                  "HL": {"mlp": 0.2, "gru": 0.3, "lstm": 0.5}}}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "numbers"), MORE_CONTRARY)
def test_verdict_turns_with_each_condition(name, numbers):
    held = experiments.load(name).verdict(numbers)
    assert held.held is False and held.line.startswith("NOT HELD")


def test_dqn_that_did_not_learn_is_inconclusive():
    from lecture_rl.runners.experiments import dqn_target

    line = dqn_target.verdict(
        {"steps": 1, "greedy_return": {"dqn": -0.07, "target-every-step": -1.0, "no-replay": -1},
         "last_quarter": {"dqn": -0.5, "target-every-step": -1.0, "no-replay": -1}}
    ).line  # fmt: skip
    assert line.startswith("NOT HELD: inconclusive") and "DQN learned" in line


def test_dqn_caught_in_its_one_flip_after_training_still_learned():
    """Full DQN optimal at nearly every greedy episode of the last quarter but caught in a flip
    by the one evaluation after training (seed 1 of the careful run) learned; one optimal at
    the end but not during the last quarter did not."""
    from lecture_rl.runners.experiments import dqn_target

    flip = {
        "steps": 1,
        "greedy_return": {"dqn": 0.51, "target-every-step": -0.2, "no-replay": -1},
        "last_quarter": {"dqn": 0.85, "target-every-step": -0.4, "no-replay": -1},
    }
    assert dqn_target.verdict(flip).held
    lucky = {
        "steps": 1,
        "greedy_return": {"dqn": 0.89, "target-every-step": -0.2, "no-replay": -1},
        "last_quarter": {"dqn": 0.5, "target-every-step": -0.4, "no-replay": -1},
    }
    assert not dqn_target.verdict(lucky).held
    assert dqn_target.verdict(lucky).text.startswith("inconclusive")


def test_dqn_ablation_caught_at_a_good_moment_does_not_turn_the_verdict():
    """θ̃ ← θ every step ends optimal on every seed (a flipping policy caught at a good moment)
    but was optimal only part of the last quarter: the claim holds on the steadier policy."""
    from lecture_rl.runners.experiments import dqn_target

    line = dqn_target.verdict(
        {"steps": 1, "greedy_return": {"dqn": 0.89, "target-every-step": 0.89, "no-replay": -1},
         "last_quarter": {"dqn": 0.89, "target-every-step": 0.13, "no-replay": -1}}
    ).line  # fmt: skip
    assert line.startswith("HELD") and "over the last quarter of training: DQN 0.89" in line


def test_cliff_reports_a_looping_greedy_path_as_no_path():
    from lecture_rl.runners.experiments import cliff

    line = cliff.verdict(
        {"online": {"sarsa": -25.0, "q_learning": -50.0},
         "greedy_length": {"sarsa": [None, 17, 17], "q_learning": [13, 13, 13]}}
    ).line  # fmt: skip
    assert line.startswith("HELD") and "[no path, 17, 17]" in line and "2/3" in line


@pytest.mark.parametrize("name", experiments.names())
def test_verdict_turns_with_numbers_that_contradict_the_claim(name):
    module = experiments.load(name)
    agreeing, contradicting = CONTRARY[name]
    assert module.verdict(agreeing).held is True
    held = module.verdict(contradicting)
    assert held.held is False and held.line.startswith("NOT HELD")


def test_every_experiment_is_listed_with_its_claim(capsys):
    assert main(["experiment", "list"]) == 0
    out = capsys.readouterr().out
    for name in experiments.names():
        assert name in out and experiments.load(name).CLAIM[:40] in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["experiment", "parity"], "unknown experiment 'parity'"),
        (["experiment", "xor", "--seeds", "0"], "--seeds must be at least 1"),
        (["experiment", "xor", "--first-seed", "-1"], "--first-seed must be at least 0"),
    ],
)
def test_misuse_exits_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_all_writes_an_index(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(experiments, "MODULES", {"xor": "xor", "cliff": "cliff"})
    assert main(["experiment", "all", "--quick", "--seeds", "1", "--workers", "1",
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    index = (tmp_path / "index.md").read_text(encoding="utf-8")
    for name in ("xor", "cliff"):
        verdict = json.loads((tmp_path / name / "numbers.json").read_text())["verdict"]
        assert f"[{name}]({name}/report.md)" in index and verdict in index
    assert 'href="cliff/report.html"' in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_memoryless_bound_is_17_over_32():
    """Over every tape of 16 bits, the best of the four memoryless policies (answer as a function
    of the current bit only) scores 17/32, the bound parity-memory and envs/parity.py quote."""
    import numpy as np

    from lecture_rl.runners.experiments.parity_memory import MEMORYLESS

    tapes = (np.arange(2**16)[:, None] >> np.arange(16)) & 1
    parity = np.cumsum(tapes, axis=1) % 2
    best = max(
        float(np.mean(np.where(tapes == 1, on_one, on_zero) == parity))
        for on_zero in (0, 1)
        for on_one in (0, 1)
    )
    assert best == pytest.approx(17 / 32) and MEMORYLESS == pytest.approx(best)


def test_greedy_path_probe_marks_a_loop_and_a_goal():
    """A greedy policy that walks into the wall forever has reached nothing after the limit;
    up, 11 × right, down reaches G in 13 moves."""
    from lecture_rl.runners.env_factory import make_env
    from lecture_rl.runners.experiments.probes import greedy_path

    class Scripted:
        def __init__(self, moves):
            self.moves = list(moves)

        def reset(self):
            self.left = iter(self.moves)

        def act(self, obs, info, greedy=False):
            return next(self.left, 3)

    env = make_env("LectureRL/GridWorld-v0", {"map_name": "cliff", "max_steps": None})
    looping = greedy_path(Scripted([]), env, True, limit=30)  # LEFT at the start: a wall
    assert looping["reached"] is False and len(looping["path"]) == 31
    edge = greedy_path(Scripted([0] + [1] * 11 + [2]), env, True, limit=30)
    assert edge["reached"] is True and len(edge["path"]) - 1 == 13
    env.close()


def test_check_fails_on_a_claim_that_did_not_hold(tmp_path, monkeypatch, capsys):
    """The gate CI runs (`experiment all --quick --check`): exit 0 while every claim holds; a
    deliberately broken experiment (xor's autograd off by 1e-3) turns its verdict NOT HELD and
    the command exits 1, naming it on stderr, after writing every report and the index."""
    from lecture_rl.runners.experiments import xor

    monkeypatch.setattr(experiments, "MODULES", {"xor": "xor", "random-walk": "random_walk"})
    argv = ["experiment", "all", "--quick", "--seeds", "2", "--workers", "1", "--check"]
    assert main([*argv, "--out", str(tmp_path / "sound")]) == 0
    assert "NOT HELD" not in capsys.readouterr().err

    right = xor.by_autograd
    monkeypatch.setattr(xor, "by_autograd", lambda p: {k: v + 1e-3 for k, v in right(p).items()})
    assert main([*argv, "--out", str(tmp_path / "broken")]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "NOT HELD" in line]
    assert len(err) == 1 and "NOT HELD: xor" in err[0] and "random-walk" not in err[0]
    numbers = json.loads((tmp_path / "broken" / "xor" / "numbers.json").read_text())
    assert numbers["held"] is False
    assert "HELD" in (tmp_path / "broken" / "random-walk" / "report.md").read_text()
    assert "1 of 2 claims held" in (tmp_path / "broken" / "index.md").read_text()
    # without --check the verdicts are reported, not enforced (the trials resume: no training)
    assert main([*argv[:-1], "--out", str(tmp_path / "broken")]) == 0


def test_first_seed_moves_every_seed_and_the_rerun_line(tmp_path):
    """`--first-seed 7 --seeds 2` trains seeds 7 and 8 (not 0 and 1) and the report's rerun
    line says so; compare's trials and timing.json carry CPU seconds."""
    folder = tmp_path / "cliff"
    argv = ["experiment", "cliff", "--quick", "--seeds", "2", "--first-seed", "7"]
    assert main([*argv, "--workers", "1", "--out", str(folder)]) == 0
    trials = [json.loads(p.read_text()) for p in folder.glob("runs/trials/*.json")]
    assert {t["seed"] for t in trials} == {7, 8}
    # each trial's CPU seconds (what it costs on a shared machine) beside its wall time
    assert all(0 < t["cpu_time"] <= t["wall_time"] + 0.5 for t in trials)
    timing = json.loads((folder / "runs" / "timing.json").read_text())
    assert all(agent["cpu_time_s_mean"] > 0 for agent in timing["agents"].values())
    assert "--seeds 2 --first-seed 7" in (folder / "report.md").read_text(encoding="utf-8")


def test_ci_runs_every_quick_experiment_as_a_gate():
    """`.ci/run` runs `experiment all --quick --check`, so a claim that stops holding fails CI."""
    script = (Path(__file__).parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in script.splitlines() if not line.lstrip().startswith("#")]
    gate = [c for c in commands if "experiment all" in c]
    assert gate and "--quick" in gate[0] and "--check" in gate[0] and "set -e" in script


def test_greedy_return_probe_runs_on_its_own_env_every_so_many_steps():
    """The probe dqn-target draws: one greedy episode each time training passes a multiple of
    `every` env steps, on a copy of the env (never the one given), nothing after training."""
    from lecture_rl.runners.env_factory import make_env
    from lecture_rl.runners.experiments.probes import greedy_return

    class Agent:
        env_steps = 0

        def __init__(self):
            self.envs = []

        def evaluate(self, env, episodes, seed):
            self.envs.append(env)
            return {"return_mean": 0.5}

    env = make_env("LectureRL/GridWorld-v0", {"map_name": "maze"})
    agent, seen = Agent(), {}
    for steps in (40, 100, 150, 199, 260, 420):
        agent.env_steps = steps
        seen[steps] = greedy_return(agent, env, False, every=100)
    assert [s for s, numbers in seen.items() if numbers] == [100, 260, 420]
    assert seen[260] == {"greedy_return": 0.5, "greedy_at": 260}
    assert all(e is not env and e.spec.kwargs == env.spec.kwargs for e in agent.envs)
    assert len({id(e) for e in agent.envs}) == 1  # one copy per agent, made once
    assert greedy_return(agent, env, True, every=100) == {}
    env.close()
