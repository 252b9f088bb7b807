"""Fast recurrent backbones on `torch.nn.RNN` / `LSTM` / `GRU` (cuDNN on a GPU).

Description:
    The memory networks of the lecture, run a whole sequence per call:

    - `rnn`:  h^(t) = tanh(W_xh x^(t) + W_hh h^(t-1) + b_h)                  (notes 000 §2.c)
    - `lstm`: f, i, C~, o gates on [h^(t-1), x^(t)];
      C^(t) = C^(t-1) ⊙ f_t + i_t ⊙ C~_t;  h^(t) = o_t ⊙ tanh(C^(t))         (notes 000 §3.b)
    - `gru`:  update gate z, reset gate r, candidate h~ (notes 002 §4.4.8, notes 003 "GRU");
      torch's GRU puts r on (W_hn h + b_hn), see
      [`lecture_rl.nets.cells.GRUCell`][lecture_rl.nets.cells.GRUCell].

    The gate-by-gate reference versions a student reads beside the notes are in
    [`lecture_rl.nets.cells`][lecture_rl.nets.cells]; tests prove they compute the same numbers as
    these modules after copying weights. The features are the top layer's h^(t)
    (`output_dim = hidden_size`).

Episode boundaries:
    An episode start means h^(0) = 0 (and C^(0) = 0): `step` zeroes the state of rows that
    start an episode, and `forward_sequence` cuts the rollout `[T, B]` at episode starts into
    segments, pads and packs them (`torch.nn.utils.rnn.pack_padded_sequence`), runs ONE call of
    the core with the right initial state per segment (`state0` for each env's first segment,
    zeros for segments that begin an episode) and scatters the outputs back to `[T, B, D]`.
    Without resets inside the rollout it is one plain call. Both equal calling `step` T times.
    On a CPU (`sequence_mode="auto"`) the rollout is instead cut only at the times where some
    env starts an episode, one core call per stretch: torch's CPU backward through packed
    sequences is quadratic in T, cuDNN's is not (see `benchmarks/nets_sequence.py`).

    Finding those times reads the flags on the host, which on a GPU waits for the device. A
    caller that knows them already (an agent whose episode ends were copied to the host once
    per rollout) passes them as `start_times`: then nothing waits, and on a GPU the
    stretches are run one call each as well while there are few of them (at most
    `CHUNKED_AT_MOST`: Parity and Copy, whose episodes all end together), packed otherwise.

State:
    `(h[B, num_layers, H],)` for rnn / gru, `(h[B, num_layers, H], c[B, num_layers, H])` for
    lstm: batch on dim 0 (torch's own layout is `[num_layers, B, H]`; we transpose at the call).

Arguments:
    cell: `"rnn"`, `"lstm"` or `"gru"`.
    hidden_size: n, the number of units (default 128).
    num_layers: stacked layers (notes 000 §2.d), default 1.
    embed_size: optional width of a `Linear -> ReLU` embedding before the core (default none:
        the one-hot / flat observation feeds the core directly, as x^(t) in the notes). Image
        observations always pass through the notes' CNN (`lecture_rl.nets.cnn`) first.
    sequence_mode: `"auto"` (packed on CUDA, chunked on CPU), `"packed"` or `"chunked"`.
    forget_bias: initial LSTM forget-gate bias b_f (default 1.0: f_t ≈ σ(1) ≈ 0.73 keeps the
        cell state open at the start, notes 000 §3.a).
    update_bias: initial GRU update-gate bias b_z (default `None`: torch's random init). In
        torch's form h^(t) = (1 - z_t) ⊙ n_t + z_t ⊙ h^(t-1) (notes 002 §4.4.8) z keeps the old
        state: b_z = 2 gives z ≈ σ(2) ≈ 0.88, so h keeps ~13% over 16 steps instead of ~0.
    input_init: `"torch"` (default) keeps torch's W_xh ~ U(±1/√n); `"one_hot"` draws the
        input weights from U(±1/√k) when the core reads one-hot observations directly (k one-hots
        per observation: 1 for `Discrete`), so one symbol moves every gate's pre-activation by
        O(1) rather than by at most 1/√n (0.09 for n = 128), which Adam at lr 5e-3 needs hundreds
        of steps to grow; other inputs keep torch's init.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lecture_rl.nets.backbone import Backbone, Cuts, State, _check_positive

CORES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
#: with `start_times` known, a GPU runs the stretches between them one core call each (no
#: host wait) while there are at most this many cuts; beyond, packed sequences (one call)
CHUNKED_AT_MOST = 8


def make_input_encoder(
    backbone: Backbone, embed_size: int | None, cnn_kwargs: dict[str, Any] | None = None
) -> tuple[nn.Module, int]:
    """The part before a memory core: the notes' CNN for images, an optional embedding else."""
    if backbone.encoder.is_image:
        from lecture_rl.nets.cnn import NotesCNN

        cnn = NotesCNN(backbone.encoder.image_shape, **(cnn_kwargs or {}))
        return cnn, cnn.output_dim
    if embed_size:
        size = _check_positive("embed_size", embed_size)
        return nn.Sequential(nn.Linear(backbone.encoder.input_dim, size), nn.ReLU()), size
    return nn.Flatten(1), backbone.encoder.input_dim


def segment_rollout(episode_starts: torch.Tensor) -> dict[str, torch.Tensor]:
    """Cut a `[T, B]` rollout into segments that each begin at t=0 or at an episode start.

    Segments are numbered env-major (all of env 0's, then env 1's ...). Returns `seg[B*T]` and
    `pos[B*T]` (segment id and time inside it for each env-major cell), `lengths[S]`,
    `first[B]` / `last[B]` (each env's first / last segment) and `fresh[S]` (the segment
    begins an episode, so it starts from the zero state).
    """
    t_len, batch = episode_starts.shape
    starts = episode_starts.t().contiguous()  # [B, T], env-major
    cut = starts.clone()
    cut[:, 0] = True  # every env's row begins a segment at t = 0
    flat_cut = cut.reshape(-1)
    seg = torch.cumsum(flat_cut.long(), 0) - 1  # segment id of each cell
    seg_begin = torch.nonzero(flat_cut, as_tuple=False).squeeze(1)  # flat index of each start
    pos = torch.arange(t_len * batch, device=seg.device) - seg_begin[seg]
    lengths = torch.bincount(seg)
    env_rows = torch.arange(batch, device=seg.device) * t_len
    return {
        "seg": seg,
        "pos": pos,
        "lengths": lengths,
        "first": seg[env_rows],
        "last": seg[env_rows + t_len - 1],
        "fresh": starts.reshape(-1)[seg_begin],
    }


class RecurrentBackbone(Backbone):
    """`rnn` / `lstm` / `gru` backbone on the fast torch cores (see module docstring)."""

    is_recurrent = True

    def __init__(
        self,
        observation_space: spaces.Space,
        cell: str = "lstm",
        hidden_size: int = 128,
        num_layers: int = 1,
        embed_size: int | None = None,
        forget_bias: float = 1.0,
        cnn_kwargs: dict[str, Any] | None = None,
        sequence_mode: str = "auto",
        input_init: str = "torch",
        update_bias: float | None = None,
    ):
        super().__init__(observation_space)
        if sequence_mode not in ("auto", "packed", "chunked"):
            raise ValueError(
                f"sequence_mode must be 'auto', 'packed' or 'chunked', got {sequence_mode!r}"
            )
        self.sequence_mode = sequence_mode
        if cell not in CORES:
            raise ValueError(f"cell must be one of {sorted(CORES)}, got {cell!r}")
        self.name = cell
        self.cell = cell
        self.hidden_size = _check_positive("hidden_size", hidden_size)
        self.num_layers = _check_positive("num_layers", num_layers)
        self.input_encoder, input_size = make_input_encoder(self, embed_size, cnn_kwargs)
        if input_init not in ("torch", "one_hot"):
            raise ValueError(f"input_init must be 'torch' or 'one_hot', got {input_init!r}")
        self.core = CORES[cell](input_size, self.hidden_size, self.num_layers)
        parts = self.encoder.one_hot_parts
        if input_init == "one_hot" and parts and isinstance(self.input_encoder, nn.Flatten):
            with torch.no_grad():  # W_xh ~ U(±1/√k): one symbol moves each gate by O(1)
                self.core.weight_ih_l0.uniform_(-(parts**-0.5), parts**-0.5)
        # the second block of torch's biases is the LSTM's forget gate f (order i, f, g, o) and
        # the GRU's update gate z (order r, z, n): b = b_ih + b_hh, so b_hh's part is zeroed
        gate_bias = forget_bias if cell == "lstm" else update_bias if cell == "gru" else None
        if update_bias is not None and cell != "gru":
            raise ValueError(f"update_bias is the GRU's update-gate bias; cell is {cell!r}")
        if gate_bias is not None:
            n = self.hidden_size
            with torch.no_grad():
                for layer in range(self.num_layers):
                    getattr(self.core, f"bias_ih_l{layer}")[n : 2 * n].fill_(float(gate_bias))
                    getattr(self.core, f"bias_hh_l{layer}")[n : 2 * n].zero_()
        self.output_dim = self.hidden_size

    # ---------------------------------------------------------------------------- state layout
    @property
    def num_state_tensors(self) -> int:
        return 2 if self.cell == "lstm" else 1

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """h^(0) = 0 (and C^(0) = 0): zeros `[B, num_layers, hidden_size]` per tensor."""
        device = self.device if device is None else device
        shape = (batch_size, self.num_layers, self.hidden_size)
        return tuple(torch.zeros(shape, device=device) for _ in range(self.num_state_tensors))

    def _check_state(self, state: State, batch: int) -> State:
        if not state:
            return self.initial_state(batch)
        shape = (batch, self.num_layers, self.hidden_size)
        if len(state) != self.num_state_tensors or any(tuple(s.shape) != shape for s in state):
            got = [tuple(s.shape) for s in state]
            raise ValueError(
                f"{self.cell} state must be {self.num_state_tensors} tensor(s) of shape {shape} "
                f"(batch first), got {got}; build it with initial_state(batch_size)"
            )
        return state

    def _to_core(self, state: State) -> Any:
        """Batch-first state tuple -> torch's `[num_layers, B, H]` (a pair for LSTM)."""
        h = tuple(s.transpose(0, 1).contiguous() for s in state)
        return h if self.cell == "lstm" else h[0]

    def _from_core(self, core_state: Any) -> State:
        parts = core_state if isinstance(core_state, tuple) else (core_state,)
        return tuple(s.transpose(0, 1) for s in parts)

    @staticmethod
    def _reset_rows(state: State, starts: torch.Tensor | None) -> State:
        """Rows that begin an episode go back to the zero initial state."""
        if starts is None:
            return state
        keep = (~starts).to(state[0].dtype).view(-1, 1, 1)
        return tuple(s * keep for s in state)

    # ---------------------------------------------------------------------------- forward
    def _embed(self, obs: torch.Tensor, leading: int) -> torch.Tensor:
        lead_shape = obs.shape[:leading]
        flat = obs.reshape(-1, *obs.shape[leading:])
        x = self.input_encoder(self.preprocess(flat))
        return x.reshape(*lead_shape, x.shape[-1])

    def step(
        self, obs: Any, state: State = (), episode_start: Any = None
    ) -> tuple[torch.Tensor, State]:
        """One step of the cell for a batch `obs[B, ...]`: h^(t) from x^(t) and h^(t-1)."""
        o = self.as_obs_tensor(obs, 1)
        batch = o.shape[0]
        state = self._reset_rows(
            self._check_state(state, batch), self._flags(episode_start, (batch,))
        )
        x = self._embed(o, 1)
        out, new = self.core(x.unsqueeze(0), self._to_core(state))
        return out[0], self._from_core(new)

    def forward_sequence(
        self, obs: Any, state0: State = (), episode_starts: Any = None, *, start_times: Cuts = None
    ) -> tuple[torch.Tensor, State]:
        """A rollout `obs[T, B, ...]` in one call of the core; equals `step` T times.

        `start_times` (optional): the times `t >= 1` at which some row of
        `episode_starts` is true, when the caller knows them on the host; the flags are
        then not read back from the device (see the module docstring).
        """
        o = self.as_obs_tensor(obs, 2)
        t_len, batch = o.shape[:2]
        state0 = self._check_state(state0, batch)
        starts = self._flags(episode_starts, (t_len, batch))
        x = self._embed(o, 2)  # [T, B, F]
        if starts is not None and start_times is None:
            start_times = (torch.nonzero(starts[1:].any(dim=1)).squeeze(1) + 1).tolist()
        if starts is None or not start_times:
            # Fast path: no episode begins inside the rollout.
            state = self._reset_rows(state0, None if starts is None else starts[0])
            out, new = self.core(x, self._to_core(state))
            return out, self._from_core(new)
        mode = self.sequence_mode
        if mode == "auto":
            few = len(start_times) <= CHUNKED_AT_MOST
            mode = "packed" if x.is_cuda and not few else "chunked"
        if mode == "packed":
            return self._forward_segments(x, state0, starts)
        return self._forward_chunks(x, state0, starts, start_times)

    def _forward_chunks(
        self, x: torch.Tensor, state0: State, starts: torch.Tensor, cut_times: list[int]
    ) -> tuple[torch.Tensor, State]:
        """One core call per stretch of time in which no env starts an episode.

        On a CPU, torch's packed-sequence backward re-fills the whole input projection once per
        time step (quadratic in T), so there we cut the rollout only at the times where some env
        starts an episode (`cut_times`) and zero those rows of the state between calls.
        """
        bounds = [0, *cut_times, x.shape[0]]
        state = self._to_core(self._reset_rows(state0, starts[0]))
        parts = state if isinstance(state, tuple) else (state,)
        outs = []
        for begin, end in zip(bounds[:-1], bounds[1:]):
            if begin > 0:  # h^(0) = 0 for the envs that start an episode at `begin`
                keep = (~starts[begin]).to(x.dtype).view(1, -1, 1)
                parts = tuple(p * keep for p in parts)
            out, new = self.core(x[begin:end], parts if self.cell == "lstm" else parts[0])
            parts = new if isinstance(new, tuple) else (new,)
            outs.append(out)
        return torch.cat(outs, dim=0), tuple(p.transpose(0, 1) for p in parts)

    def _forward_segments(
        self, x: torch.Tensor, state0: State, starts: torch.Tensor
    ) -> tuple[torch.Tensor, State]:
        t_len, batch, feat = x.shape
        seg = segment_rollout(starts)
        lengths = seg["lengths"]
        n_seg = lengths.shape[0]
        max_len = int(lengths.max())
        # Pad: segment s, time p <- the env-major cell (b, t).
        x_env_major = x.transpose(0, 1).reshape(batch * t_len, feat)
        padded = x.new_zeros(max_len, n_seg, feat)
        padded = padded.index_put((seg["pos"], seg["seg"]), x_env_major)
        # Initial state per segment: state0 for an env's first segment unless it starts an
        # episode; zeros (h^(0) = 0) for every segment that begins an episode.
        first = seg["first"]
        carry = ~seg["fresh"][first]
        h0 = []
        for s in state0:
            init = s.new_zeros(n_seg, self.num_layers, self.hidden_size)
            init = init.index_put((first,), s * carry.to(s.dtype).view(-1, 1, 1))
            h0.append(init)
        packed = pack_padded_sequence(padded, lengths.cpu(), enforce_sorted=False)
        out_packed, hn = self.core(packed, self._to_core(tuple(h0)))
        out_padded, _ = pad_packed_sequence(out_packed, total_length=max_len)  # [L, S, H]
        out = out_padded[seg["pos"], seg["seg"]]  # [B*T, H] env-major
        out = out.reshape(batch, t_len, -1).transpose(0, 1)
        final = tuple(s[seg["last"]] for s in self._from_core(hn))
        return out, final
