"""What a deep agent does inside, episode by episode: the numbers the insides views draw.

Description:
    `record_insides` plays greedy episodes with a deep agent (or takes the steps a
    live run reported) and collects, per step: the observation, the task's hidden variable
    (`info["hidden"]`: the running parity on Parity, the symbol to recall next on Copy), the
    policy π(a|s) and value V(s) (PPO/REINFORCE: softmax of the actor and the critic; DQN: the
    greedy one-hot and max_a Q), and the memory network's insides from
    `lecture_rl.nets.trace_backbone`:

    - LSTM (notes 003, "Long Short-Term Memory"): the cell state C_t and the forget, input and
      output gates f_t, i_t, o_t and the candidate C~_t of the last layer;
    - GRU (notes 003, "GRU"): update and reset gates and the hidden state;
    - RNN: the hidden state;
    - Transformer: the attention weights of every layer and head over the steps so far;
    - CNN on a grid's pixels (notes 000 §1.a): the first layer's feature maps and the saliency
      Σ_c |∂y/∂x_c| of the taken action's score y (logit or Q) per input pixel and per grid
      cell (`grid_context` gives the cells of a GridWorld seen as an image).

    `pick_units` chooses the few most informative units: by the correlation ratio η
    between a unit's value and the hidden variable (for a binary variable such as parity this
    is |Pearson r|), or by variance when the env exposes no hidden variable;
    `pick_feature_maps` the CNN's channels that vary most over the steps and positions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lecture_rl.envs.grid_layout import GridLayout
from lecture_rl.envs.grid_maps import ACTION_ARROWS
from lecture_rl.envs.protocols import tape_task
from lecture_rl.nets.backbone import is_image_space
from lecture_rl.nets.introspection import trace_backbone

#: the signal units are picked by, and the signals drawn per unit, per memory cell
CELL_SIGNALS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lstm": ("cell", ("cell", "forget_gate", "input_gate", "candidate", "output_gate")),
    "gru": ("hidden", ("hidden", "update_gate", "reset_gate", "candidate")),
    "rnn": ("hidden", ("hidden",)),
}


@dataclass
class Insides:
    """One or more episodes of a deep agent seen from inside (time on axis 0)."""

    net: str
    obs: np.ndarray  # [T] (or [T, ...]) the observation read at each step
    episode_starts: np.ndarray  # [T] True where an episode begins
    hidden: np.ndarray | None  # [T] info["hidden"] for the observation of step t (or None)
    probs: np.ndarray  # [T, nA] π(a|s)
    values: np.ndarray  # [T] V(s) (or max_a Q)
    actions: np.ndarray  # [T]
    rewards: np.ndarray  # [T]
    trace: dict[str, np.ndarray]  # trace_backbone's arrays, batch dim removed
    units: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    unit_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    picked_by: str = ""  # "correlation with info['hidden']" or "variance"
    tape: list[str] = field(default_factory=list)  # the observations as the env shows them
    graded: np.ndarray | None = None  # [T] True where the action was graded (None: all)
    grid: tuple[int, int] | None = None  # (rows, cols) of a grid seen as an image (CNN)
    action_labels: list[str] = field(default_factory=list)  # e.g. the grid's arrows
    score: str = "logit"  # what the actions' scores are: "logit" (π's) or "Q" (DQN)
    scores: np.ndarray | None = None  # [T, nA] the actions' scores (logits, or Q(s, ·))
    tape_task: bool = False  # the env declares itself a tape task: draw the tape row
    first_step: int = 0  # the episode step of row 0 (a window of a longer episode)

    @property
    def steps(self) -> int:
        return len(self.actions)

    def signal(self, name: str) -> np.ndarray:
        """`[T, H]`: a traced signal of the last layer (`cell`, `forget_gate`, ...)."""
        return self.trace[name][:, -1]

    def attention(self) -> np.ndarray | None:
        """`[layers, heads, T, T]`: query step (axis 2) on key step (axis 3), or `None`."""
        return self.trace.get("attention")

    def saliency(self) -> np.ndarray | None:
        """CNN: `[T, rows, cols]` per grid cell (`[T, H, W]` per pixel without a grid)."""
        return self.trace.get("saliency_cells", self.trace.get("saliency"))

    def action_label(self, a: int) -> str:
        a = int(a)
        return self.action_labels[a] if 0 <= a < len(self.action_labels) else f"a={a}"


def correlation_ratio(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """η per column of `values [T, H]` for the categorical `labels [T]`.

    η² = Σ_c n_c (ȳ_c − ȳ)² / Σ_t (y_t − ȳ)²: the share of a unit's variance the label
    explains; for two classes η = |Pearson r| between the unit and the label.
    """
    values = np.asarray(values, dtype=np.float64)
    total = ((values - values.mean(0)) ** 2).sum(0)
    between = np.zeros(values.shape[1])
    for label in np.unique(labels):
        rows = values[labels == label]
        between += len(rows) * (rows.mean(0) - values.mean(0)) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        eta = np.sqrt(np.where(total > 1e-12, between / total, 0.0))
    return np.nan_to_num(eta)


def pick_units(
    signal: np.ndarray, hidden: np.ndarray | None, k: int = 3
) -> tuple[np.ndarray, np.ndarray, str]:
    """The `k` units of `signal [T, H]` that tell most about `hidden [T]`.

    Steps where `hidden` is `-1` (not defined yet) are left out. Returns ``(units, scores,
    how)``, the best first.
    """
    k = min(k, signal.shape[1])
    if hidden is not None:
        known = np.asarray(hidden) >= 0
        if known.sum() >= 2 and len(np.unique(hidden[known])) >= 2:
            scores = correlation_ratio(signal[known], np.asarray(hidden)[known])
            order = np.argsort(-scores, kind="stable")[:k]
            return order, scores[order], "correlation with info['hidden']"
    scores = np.asarray(signal, dtype=np.float64).var(0)
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores[order], "variance"


def pick_feature_maps(conv1: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray, str]:
    """The `k` channels of `conv1 [T, F, H, W]` with the largest variance over the steps
    and positions (a map that lights up where the agent is, not a constant), the best first."""
    flat = np.asarray(conv1, dtype=np.float64).transpose(1, 0, 2, 3).reshape(conv1.shape[1], -1)
    scores = flat.var(1)
    order = np.argsort(-scores, kind="stable")[: min(k, len(scores))]
    return order, scores[order], "variance over steps and positions"


def grid_context(env: Any) -> tuple[tuple[int, int] | None, list[str]]:
    """`((rows, cols), arrows)` for a grid env whose observations are its picture (the
    CNN's maps are pooled to these cells), else `(None, arrows or [])`."""
    try:
        layout = GridLayout.from_env(env)
    except (ValueError, AttributeError):
        return None, []
    arrows = [ACTION_ARROWS[d] for d in layout.directions]
    space = getattr(env, "observation_space", None)
    if space is None or not is_image_space(space):
        return None, arrows
    return (int(layout.nrow), int(layout.ncol)), arrows


def _frozen(agent: Any) -> Any:
    """The agent with its own copy of its networks: autograd reads the weights back in its
    backward pass, and a live run's optimizer may step them in place meanwhile."""
    frozen = copy.copy(agent)
    frozen.backbone = copy.deepcopy(agent.backbone)
    frozen.heads = copy.deepcopy(agent.heads)
    return frozen


def _policy(agent: Any, features: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """π(a|s), V(s) and the actions' scores for `features [T, D]` (DQN: the greedy one-hot,
    max_a Q and Q(s, ·))."""
    scores = agent._action_scores(features)
    if hasattr(agent, "value"):
        probs = torch.softmax(scores, dim=-1)
        values = agent.value(features)
    else:  # a Q-network: the greedy policy and max_a Q(s, a)
        probs = torch.nn.functional.one_hot(scores.argmax(-1), scores.shape[-1]).float()
        values = scores.max(-1).values
    return probs.cpu().numpy(), values.cpu().numpy(), scores.float().cpu().numpy()


@torch.no_grad()
def insides_from_steps(
    agent: Any,
    obs: np.ndarray,
    episode_starts: np.ndarray,
    hidden: np.ndarray | None,
    actions: np.ndarray,
    rewards: np.ndarray,
    k: int = 3,
    grid: tuple[int, int] | None = None,
    action_labels: list[str] | None = None,
) -> Insides:
    """The insides of steps already taken (`obs [T, ...]` with their episode starts).

    `grid`: the `(rows, cols)` a CNN's maps are pooled to (see `grid_context`).
    """
    net = str(agent.hp.get("net", "mlp"))
    obs_t = agent.obs_tensor(np.asarray(obs)[:, None])  # [T, 1, ...]
    starts = torch.as_tensor(np.asarray(episode_starts, dtype=bool)[:, None])
    if net == "cnn":  # saliency of the taken action's score, on a still copy of the weights
        agent = _frozen(agent)
        taken = np.asarray(actions, dtype=np.int64)[:, None] - int(agent.action_start)
        trace = trace_backbone(
            agent.backbone, obs_t, starts, head=agent._action_scores, actions=taken, cells=grid
        )
    else:
        trace = trace_backbone(agent.backbone, obs_t, starts)
    trace = {key: value[:, 0] for key, value in trace.items()}  # batch of one: axis 1 dropped
    features = torch.as_tensor(trace["features"], device=agent.device)
    probs, values, scores = _policy(agent, features)
    insides = Insides(
        net, np.asarray(obs), np.asarray(episode_starts, dtype=bool),
        None if hidden is None else np.asarray(hidden), probs, values,
        np.asarray(actions), np.asarray(rewards, dtype=float), trace,
        grid=None if grid is None else (int(grid[0]), int(grid[1])),
        action_labels=list(action_labels or []),
        score="logit" if hasattr(agent, "value") else "Q", scores=scores,
    )  # fmt: skip
    if net in CELL_SIGNALS:
        by, _ = CELL_SIGNALS[net]
        insides.units, insides.unit_scores, insides.picked_by = pick_units(
            insides.signal(by), insides.hidden, k
        )
    elif "conv1" in trace:
        insides.units, insides.unit_scores, insides.picked_by = pick_feature_maps(trace["conv1"], k)
    return insides


def record_insides(agent: Any, env: Any, episodes: int = 1, seed: int = 0, k: int = 3) -> Insides:
    """Play `episodes` greedy episodes of `agent` on `env` and return their insides."""
    obs_list, starts, hidden, actions, rewards, graded = [], [], [], [], [], []
    has_hidden = True
    for episode in range(episodes):
        obs, info = env.reset(seed=seed + episode)
        agent.reset()
        done, first = False, True
        for _ in range(10_000):
            obs_list.append(np.asarray(obs))
            starts.append(first)
            has_hidden = has_hidden and "hidden" in info
            hidden.append(int(info.get("hidden", -1)))
            action = agent.act(obs, info)
            obs, reward, terminated, truncated, info = env.step(action)
            actions.append(action)
            rewards.append(float(reward))
            graded.append("correct" in info or "correct" not in info and "phase" not in info)
            first = False
            done = terminated or truncated
            if done:
                break
    grid, labels = grid_context(env)
    insides = insides_from_steps(
        agent, np.stack(obs_list), np.array(starts), np.array(hidden) if has_hidden else None,
        np.array(actions), np.array(rewards), k, grid, labels,
    )  # fmt: skip
    insides.tape = tape_text(env, insides.obs)
    insides.graded = np.array(graded)
    insides.tape_task = tape_task(env) is not None
    return insides


def tape_text(env: Any, obs: np.ndarray) -> list[str]:
    """Each observation as short text: a tape task's own symbols
    (`TapeTask`: Copy's blank `·`, its go marker `GO`);
    else a Discrete id as its number and a vector as the index of its largest entry."""
    task = tape_task(env) if env is not None else None
    obs = np.asarray(obs)
    if task is not None and obs.ndim == 1:
        return [task.tape_symbol(o) for o in obs]
    if obs.ndim == 1:
        return [str(int(o)) for o in obs]
    return [str(int(np.argmax(o))) for o in obs.reshape(len(obs), -1)]


def steps_window(ins: Insides, start: int, stop: int) -> Insides:
    """Steps `start:stop` of `ins` (the live views draw the last few; a causal network's
    insides of a step do not change with later steps)."""
    from dataclasses import replace

    window = slice(start, stop)
    trace = {}
    for key, value in ins.trace.items():
        trace[key] = value[:, :, window, window] if key == "attention" else value[window]
    trace.pop("attention_cache", None)

    def part(values: Any) -> Any:
        return None if values is None else values[window]

    return replace(
        ins, obs=ins.obs[window], episode_starts=ins.episode_starts[window],
        hidden=part(ins.hidden), probs=ins.probs[window], values=ins.values[window],
        actions=ins.actions[window], rewards=ins.rewards[window], trace=trace,
        tape=ins.tape[window], graded=part(ins.graded), scores=part(ins.scores),
        first_step=ins.first_step + start,
    )  # fmt: skip
