"""Make an env from a command-line id and `--env-set` keywords.

Description:
    `--env` takes any registered Gymnasium id: ours (`LectureRL/GridWorld-v0`), Gymnasium's
    (`CliffWalking-v1`, `FrozenLake-v1`), POPGym's (`popgym-RepeatPreviousEasy-v0`) and
    Minigrid's (`MiniGrid-MemoryS7-v0`; their packages are imported on first use, see
    `THIRD_PARTY`), or `module:Id` for a user's package, which Gymnasium imports before
    looking the id up. Every way this can go wrong (unknown id, a module that does not import,
    a keyword the env does not take, a value it rejects, spaces our agents cannot read) becomes
    a `UsageError` naming the problem and the fix.

    A third-party env (one whose entry point is neither Gymnasium's nor ours) is adapted to
    our networks by `lecture_rl.envs.adapters.adapt`: a dict observation's `image`
    key, flattened tuple/dict observations, a `MultiDiscrete` action as one `Discrete`.
    `--env-set wrap=NAME[+NAME]` chooses the wrappers by name for any env (`none`: none).
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

import gymnasium as gym

from lecture_rl.envs.adapters import WRAPPER_NAMES, adapt, index_wanted
from lecture_rl.runners.settings import UsageError

#: id prefix -> (the module that registers those ids, the pip package)
THIRD_PARTY = {
    "popgym-": ("popgym", "popgym"),
    "MiniGrid-": ("minigrid", "minigrid"),
    "BabyAI-": ("minigrid", "minigrid"),
}
#: the observation spaces lecture_rl.nets reads (after adapting)
READABLE_SPACES = (
    gym.spaces.Box,
    gym.spaces.Discrete,
    gym.spaces.MultiDiscrete,
    gym.spaces.MultiBinary,
)

#: one-line descriptions of our ids for `lecture-rl envs` (used if the class has no docstring)
OUR_ENVS = {
    "LectureRL/GridWorld-v0": "the lecture's grid world (notes 000 §7.f) and other maps",
    "LectureRL/Parity-v0": "one random bit per step; answer the XOR of all bits so far",
    "LectureRL/Copy-v0": "watch a sequence of symbols, then reproduce it",
}


def register_our_envs() -> None:
    """Import `lecture_rl.envs` so our ids are registered (quietly if it is unavailable)."""
    try:
        import lecture_rl.envs  # noqa: F401
    except ImportError:  # pragma: no cover - a broken checkout; Gymnasium's ids still work
        pass


def _did_you_mean(env_id: str) -> str:
    name = env_id.partition(":")[2] or env_id
    close = difflib.get_close_matches(name, list(gym.registry), n=1, cutoff=0.5)
    if not close:
        lowered = {key.lower(): key for key in gym.registry}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
        close = [lowered[c] for c in close]
    return f" (did you mean '{close[0]}'?)" if close else ""


def register_third_party(env_id: str) -> None:
    """Import the package that registers `env_id` (POPGym, Minigrid), or a
    `UsageError` saying which extra to install."""
    name = env_id.partition(":")[2] or env_id
    for prefix, (module, package) in THIRD_PARTY.items():
        if name.startswith(prefix):
            try:
                __import__(module)
            except ImportError as exc:
                raise UsageError(
                    f"env '{env_id}' needs the package '{package}' ({exc}); install it with "
                    "pip install 'lecture-rl[benchmarks]'"
                ) from exc
            return


def is_third_party(spec: gym.envs.registration.EnvSpec) -> bool:
    """True when the env comes from neither Gymnasium nor lecture-rl."""
    entry = spec.entry_point
    module = entry.partition(":")[0] if isinstance(entry, str) else getattr(entry, "__module__", "")
    return not module.startswith(("gymnasium.", "lecture_rl."))


def env_spec(env_id: str) -> gym.envs.registration.EnvSpec:
    """The registered spec of `env_id`, or a `UsageError` with a did-you-mean hint."""
    register_our_envs()
    register_third_party(env_id)
    try:
        if ":" in env_id:
            module, _, _ = env_id.partition(":")
            __import__(module)
            env_id = env_id.partition(":")[2]
        return gym.spec(env_id)
    except ImportError as exc:
        raise UsageError(
            f"cannot import module '{env_id.partition(':')[0]}' for env '{env_id}' ({exc}); "
            "install the package that registers it or check the spelling"
        ) from exc
    except gym.error.Error as exc:
        raise UsageError(
            f"unknown env '{env_id}'{_did_you_mean(env_id)}: {exc} "
            "Run 'lecture-rl envs' to list ours; any registered Gymnasium id works."
        ) from exc


def constructor_keywords(spec: gym.envs.registration.EnvSpec) -> list[str]:
    """The keyword names an env's constructor accepts (empty when it cannot be read)."""
    try:
        creator = spec.entry_point
        if isinstance(creator, str):
            creator = gym.envs.registration.load_env_creator(creator)
        target = creator.__init__ if inspect.isclass(creator) else creator
        params = inspect.signature(target).parameters.values()
    except (ImportError, AttributeError, TypeError, ValueError):
        return []
    return [p.name for p in params if p.name != "self" and p.kind is not p.VAR_POSITIONAL]


def make_env(
    env_id: str, env_kwargs: dict[str, Any] | None = None, *, render_mode: str | None = None
) -> gym.Env:
    """`gym.make(env_id, render_mode=..., **env_kwargs)` with command-line friendly errors.

    `env_kwargs["wrap"]` (not passed to the env) names the adapters to apply (see
    `lecture_rl.envs.adapters.adapt`); a third-party env gets `"auto"` without it, a
    Gymnasium env with a `Tuple` of `Discrete` observations (Blackjack) `"index"`.
    """
    spec = env_spec(env_id)
    kwargs = dict(env_kwargs or {})
    wrap = kwargs.pop("wrap", "auto" if is_third_party(spec) else None)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = _make_without_unknown_render_mode(env_id, kwargs, render_mode)
    except TypeError as exc:
        accepted = [k for k in constructor_keywords(spec) if k != "kwargs"]
        bad = [key for key in kwargs if accepted and key not in accepted]
        if bad:
            close = [k for k in accepted if k.startswith(bad[0]) or bad[0].startswith(k)]
            close = close or difflib.get_close_matches(bad[0], accepted, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(
                f"env '{env_id}' does not take the keyword '{bad[0]}'{hint}; "
                f"its keywords: {', '.join(accepted) or 'none'}"
            ) from exc
        raise UsageError(f"env '{env_id}' rejected keywords {kwargs}: {_first_line(exc)}") from exc
    except (ValueError, gym.error.Error, AssertionError) as exc:
        raise UsageError(
            f"env '{env_id}' rejected keywords {kwargs}: {_first_line(exc)}; "
            "fix the --env-set values"
        ) from exc
    if wrap is None and index_wanted(env):  # Blackjack's tuple as one state for every agent
        wrap = "index"
    return adapted(env, env_id, wrap) if wrap is not None else env


def _make_without_unknown_render_mode(
    env_id: str, kwargs: dict[str, Any], render_mode: str | None
) -> gym.Env:
    """`gym.make`; an env whose constructor takes no `render_mode` (POPGym's) is made
    without the one the command asked for (`watch` then shows the agent's insides)."""
    try:
        return gym.make(env_id, **kwargs)
    except TypeError as exc:
        if render_mode is None or "render_mode" not in str(exc):
            raise
        return gym.make(env_id, **{k: v for k, v in kwargs.items() if k != "render_mode"})


def adapted(env: gym.Env, env_id: str, wrap: str) -> gym.Env:
    """`env` through `adapt`, checked readable by our nets."""
    try:
        env = adapt(env, wrap)
    except (ValueError, gym.error.Error) as exc:
        env.close()
        raise UsageError(
            f"env '{env_id}' cannot be adapted with wrap={wrap!r}: {_first_line(exc)}; "
            f"wrappers: {', '.join(WRAPPER_NAMES)}"
        ) from exc
    if not isinstance(env.observation_space, READABLE_SPACES):
        space = env.observation_space
        env.close()
        raise UsageError(
            f"env '{env_id}' gives {type(space).__name__} observations ({space}), which our "
            "networks cannot read; pick another --env-set wrap= or another env"
        )
    return env


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def describe_envs() -> list[tuple[str, str, str]]:
    """`(id, one-line description, keywords)` for every id in the `LectureRL` namespace."""
    register_our_envs()
    try:
        from lecture_rl.envs import ENV_IDS as described
    except ImportError:  # pragma: no cover - an older envs package
        described = OUR_ENVS
    rows = []
    ids = sorted({*described, *(k for k in gym.registry if k.startswith("LectureRL/"))})
    for env_id in ids:
        text = described.get(env_id, "")
        spec = gym.registry.get(env_id)
        if spec is not None and not text:
            try:
                creator = spec.entry_point
                if isinstance(creator, str):
                    creator = gym.envs.registration.load_env_creator(creator)
                text = (inspect.getdoc(creator) or "").strip().splitlines()[0]
            except Exception:  # noqa: BLE001 - a listing must not fail on one broken env
                text = "(description unavailable)"
        keywords = ""
        if spec is None:
            text += "  [not registered: lecture_rl.envs did not register it]"
        else:
            names = constructor_keywords(spec)
            keywords = ", ".join(k for k in names if k not in ("render_mode", "kwargs"))
        rows.append((env_id, text, keywords))
    return rows
