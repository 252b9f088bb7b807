"""The status lines of a live pane, the same on a grid and beside an env's own picture.

Description:
    `hud_lines` writes: the agent and env; the mode (learning, greedy, paused) and speed; the
    episode, step and return (for an agent learning in several envs at once: the episodes of
    all of them, and env 0's step and return, the env the pane draws); the agent's α, γ, ε;
    and the last action with how it was chosen (explore, exploit, sampled from π, greedy), its
    reward and, on a grid, BLOCKED when it ran into a wall.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lecture_rl.envs import rendering
from lecture_rl.runners.viewer import panel
from lecture_rl.runners.viewer.controls import Controls, speed_text

EXPLORE: rendering.Color = (201, 42, 42)
Line = str | tuple[str, rendering.Color]


def episode_lines(lane: Any, episode: str) -> list[str]:
    """["episode k/N   step t   return G"]; an agent learning in several envs at once counts
    the episodes of all of them while the pane draws env 0's, so its lines say so."""
    st = lane.state
    hp = getattr(lane.agent, "hp", None)
    envs = hp.get("num_envs") if isinstance(hp, dict) else None
    step_return = f"step {st.episode_steps}   return {panel.num(st.episode_return)}"
    if st.mode == "learning" and isinstance(envs, int) and envs > 1:
        return [f"episodes {episode}, all {envs} envs", f"env 0 (drawn): {step_return}"]
    return [f"episode {episode}   {step_return}"]


def hud_lines(
    lane: Any, env_label: str, controls: Controls, action_word: Callable[[Any], str]
) -> list[Line]:
    """The status lines of one pane; `action_word(a)` names an action."""
    st, agent = lane.state, lane.agent
    total = lane.display_total
    shown = len(lane.returns) + (1 if st.mode == "learning" and not lane.finished else 0)
    if total:
        shown = min(max(shown, 1), total)
    episode = f"{shown}/{total}" if total else str(shown)
    mode = "paused" if controls.paused else st.mode
    params = []
    for name, symbol in (("alpha", "α"), ("gamma", "γ"), ("epsilon", "ε")):
        value = getattr(agent, name, None)
        if value is None and isinstance(getattr(agent, "hp", None), dict) and name == "gamma":
            value = agent.hp.get("gamma")
        if isinstance(value, (int, float)):
            params.append(f"{symbol}={panel.num(value)}")
    lines: list[Line] = [
        f"{lane.name} on {env_label}",
        f"mode: {mode}   speed: {speed_text(controls.speed)}",
        *episode_lines(lane, episode),
        "   ".join(params) if params else "",
    ]
    if st.last_action is not None:
        how = {True: "explore", False: "exploit", None: "sampled from π"}[st.explored]
        if st.mode != "learning":
            how = "greedy"
        text = f"last: {action_word(st.last_action)} ({how})   r={panel.num(st.last_reward or 0.0)}"
        if st.blocked:
            text += "   BLOCKED"
        color = EXPLORE if st.explored and st.mode == "learning" else rendering.INK
        lines.append((text, EXPLORE if st.blocked else color))
    return lines
