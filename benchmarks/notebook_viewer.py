"""Frame rate of the inline viewer in a running Jupyter kernel: frames handed to the widget.

A kernel is started as a notebook server starts it (`jupyter_client`), and a cell calls
`lecture_rl.notebook.watch(...)` with the live widget view; the cell returns while the viewer
runs in its thread. The buttons are clicked the way a frontend clicks them: a `comm_msg` to the
button's model (`{"event": "click"}`). Counted on the kernel's IOPub channel, which is what a
frontend receives: the updates of the image widget's `value` (one PNG frame each) per second of
wall time, and their size.

Cases (Q-learning on CliffWalking-v1, α 0.5, γ 1, ε 0.1):

* `turbo`: the "+ faster" button clicked up to turbo (the viewer draws about 30 frames per
  second and learns in between); target ≥ 15 updates/s;
* `15 steps/s`: the viewer's default speed (one frame per env step);
* `two agents`: SARSA and Q-learning side by side, in turbo (a canvas twice as tall);
* `paused`: after a click on "pause": updates per second (0 expected), then one click on
  "step": frames added (1 expected).

The peer, measured in the same run: the same viewer in turbo drawing into the pygame window
(`Window`, SDL's dummy driver), frames shown per second; the ratio is notebook / pygame.

Run:

```bash
python benchmarks/notebook_viewer.py            # 10 s per case
python benchmarks/notebook_viewer.py --smoke    # about 1 s per case, for CI
```
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import textwrap
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

HP = "alpha=0.5, gamma=1, epsilon=0.1"
TARGET = 15.0


def start_kernel():
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    return km, kc


def execute(kc, code: str, timeout: float = 120.0) -> str:
    """Run `code` in the kernel; returns what it printed (raises on an error)."""
    msg_id = kc.execute(textwrap.dedent(code))
    printed = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(printed)


def click(kc, model_id: str) -> None:
    """What a frontend sends when a button is clicked."""
    content = {"comm_id": model_id, "data": {"method": "custom", "content": {"event": "click"}}}
    kc.shell_channel.send(kc.session.msg("comm_msg", content))


def count_frames(kc, image_id: str, seconds: float) -> tuple[int, int]:
    """Image updates (and their bytes) arriving on IOPub during `seconds`."""
    frames = size = 0
    end = time.perf_counter() + seconds
    while (left := end - time.perf_counter()) > 0:
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except queue.Empty:
            break
        if msg["msg_type"] != "comm_msg" or msg["content"].get("comm_id") != image_id:
            continue
        data = msg["content"].get("data", {})
        if data.get("method") == "update" and ["value"] in data.get("buffer_paths", []):
            frames += 1
            size += sum(len(b) for b in msg.get("buffers", []))
    return frames, size


def drain(kc) -> None:
    while True:
        try:
            kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            return


def start_lesson(kc, agents: str, speed: float) -> dict[str, str]:
    out = execute(
        kc,
        f"""
        from lecture_rl import notebook as lrl
        lesson = lrl.watch("CliffWalking-v1", "{agents}", train_episodes=100000,
                           speed={speed}, view="widget", {HP})
        bar = lesson.widget.children[2].children
        ids = {{b.description: b.model_id for b in bar}}
        print(lesson.window.image.model_id)
        print(repr(ids))
        """,
    )
    image_id, ids = out.strip().splitlines()[-2:]
    return {"image": image_id, **eval(ids)}  # noqa: S307 - our own repr of a str dict


def measure_case(kc, agents: str, speed: float, turbo: bool, seconds: float) -> dict:
    ids = start_lesson(kc, agents, speed)
    if turbo:
        for _ in range(10):  # up to turbo, as a student clicking "+ faster"
            click(kc, ids["+ faster"])
    drain(kc)
    count_frames(kc, ids["image"], min(1.0, seconds / 4))  # settle
    frames, size = count_frames(kc, ids["image"], seconds)
    result = {"rate": frames / seconds, "kb": size / max(frames, 1) / 1000}
    return {**result, "ids": ids}


def paused_case(kc, ids: dict[str, str], seconds: float) -> tuple[float, int]:
    click(kc, ids["pause / resume"])
    time.sleep(0.5)
    drain(kc)
    frames, _ = count_frames(kc, ids["image"], seconds)
    click(kc, ids["step ▸"])
    stepped, _ = count_frames(kc, ids["image"], 1.0)
    return frames / seconds, stepped


def pygame_rate(seconds: float) -> float:
    """The peer: the same viewer in turbo, drawing into the pygame window (dummy driver)."""
    import threading

    import gymnasium as gym

    from lecture_rl import agents
    from lecture_rl.runners.viewer.controls import SPEEDS, Controls
    from lecture_rl.runners.viewer.live import LiveViewer, make_lane_factory
    from lecture_rl.runners.viewer.window import Window

    def make(name: str):
        env = gym.make("CliffWalking-v1")
        agent = agents.make(name, env, seed=0, alpha=0.5, gamma=1.0, epsilon=0.1)
        return agent, env, gym.make("CliffWalking-v1")

    window = Window("peer")
    v = LiveViewer(
        make_lane_factory(["q_learning"], make, {"episodes": 100000}),
        env_label="CliffWalking-v1", window=window, controls=Controls(speed=len(SPEEDS) - 1),
        greedy_episodes=0, hold=False,
    )  # fmt: skip
    thread = threading.Thread(target=v.run, daemon=True)
    thread.start()
    time.sleep(min(1.0, seconds / 4))
    before, start = window.frames, time.perf_counter()
    time.sleep(seconds)
    rate = (window.frames - before) / (time.perf_counter() - start)
    window.closed = True
    thread.join(10)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case")
    parser.add_argument("--smoke", action="store_true", help="about a second per case (CI)")
    args = parser.parse_args()
    seconds = 1.0 if args.smoke else args.seconds
    peer_before = pygame_rate(seconds)  # the peer before and after: the machine's load drifts
    km, kc = start_kernel()
    try:
        rows = []
        turbo = measure_case(kc, "q_learning", 120, True, seconds)
        rows.append(("Q-learning, turbo", turbo))
        paused, stepped = paused_case(kc, turbo["ids"], seconds)
        if not args.smoke:
            paced = measure_case(kc, "q_learning", 15, False, seconds)
            rows.append(("Q-learning, 15 steps/s", paced))
            both = measure_case(kc, "sarsa,q_learning", 120, True, seconds)
            rows.append(("SARSA + Q-learning, turbo", both))
        execute(kc, "lesson.stop()")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    peer_after = pygame_rate(seconds)
    peer = (peer_before + peer_after) / 2
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"inline viewer in a running kernel, CliffWalking-v1, {seconds:g} s per case, "
          f"{os.cpu_count()} CPUs, load average {load:.1f}")  # fmt: skip
    print(f"{'case':<28}{'updates/s':>10}{'kB/frame':>10}{'vs pygame':>11}")
    for name, row in rows:
        print(f"{name:<28}{row['rate']:>10.1f}{row['kb']:>10.1f}{row['rate'] / peer:>10.2f}x")
    print(f"{'pygame window, turbo (peer)':<28}{peer:>10.1f}   (before {peer_before:.1f}, "
          f"after {peer_after:.1f})")  # fmt: skip
    print(f"paused: {paused:.1f} updates/s; one click on 'step': {stepped} frame(s)")
    ok = turbo["rate"] >= TARGET and paused == 0 and stepped == 1
    print(f"target: >= {TARGET:g} updates/s in turbo, none while paused, one per step: "
          f"{'met' if ok else 'NOT met'}")  # fmt: skip
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
