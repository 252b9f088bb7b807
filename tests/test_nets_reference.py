"""Reference cells and attention: the notes' parameter counts and equality with the fast modules."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lecture_rl.nets import make_backbone
from lecture_rl.nets.attention import (
    BahdanauAttention,
    LuongAttention,
    MultiHeadAttention,
    SelfAttention,
    sinusoidal_encoding,
)
from lecture_rl.nets.backbone import count_parameters
from lecture_rl.nets.cells import (
    GRUCell,
    LSTMCell,
    RNNCell,
    gru_param_count,
    lstm_param_count,
    notes_gru_sequence,
    rnn_param_count,
    run_cell,
    torch_param_count,
)
from lecture_rl.nets.cnn import NotesCNN, conv_param_count, coordinate_channels
from lecture_rl.nets.transformer import CausalSelfAttentionLayer

SIZES = [(1, 1), (3, 5), (7, 4), (10, 32)]


# ------------------------------------------------------------------------- parameter counts
@pytest.mark.parametrize("m,n", SIZES)
def test_parameter_counts_match_the_notes(m, n):
    # RNN n(m+n+1), LSTM (m+n+1)·4n, GRU 3n(m+n+1): notes 003 table, notes 000 §3.c
    assert count_parameters(RNNCell(m, n)) == rnn_param_count(m, n) == n * (m + n + 1)
    assert count_parameters(LSTMCell(m, n)) == lstm_param_count(m, n) == (m + n + 1) * 4 * n
    assert count_parameters(GRUCell(m, n)) == gru_param_count(m, n) == 3 * n * (m + n + 1)
    # LSTM with an output layer of k classes: + (n+1)·k (notes 000 §3.c)
    k = 3
    assert count_parameters(LSTMCell(m, n, output_size=k)) == (m + n + 1) * 4 * n + (n + 1) * k
    assert lstm_param_count(m, n, k) == (m + n + 1) * 4 * n + (n + 1) * k
    # torch keeps two biases per gate: its count is the notes' count + n per gate
    for cell, notes, gates in (
        ("rnn", rnn_param_count(m, n), 1),
        ("lstm", lstm_param_count(m, n), 4),
        ("gru", gru_param_count(m, n), 3),
    ):
        fast = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](m, n)
        assert count_parameters(fast) == torch_param_count(cell, m, n) == notes + gates * n
    # the torch-form GRU (notes 002 §4.4.8) needs b_hn apart from b_in: + n
    assert count_parameters(GRUCell(m, n, reset_after=True)) == gru_param_count(m, n) + n


def test_lecture_example_numbers():
    """Worked numbers: LSTM m=10, n=32, k=5 -> (10+32+1)·128 + 33·5 = 5504 + 165 = 5669."""
    assert lstm_param_count(10, 32) == 5504
    assert lstm_param_count(10, 32, 5) == 5669
    assert conv_param_count(3, 3, 3, 16) == 448  # (3·3·3 + 1)·16


@pytest.mark.parametrize("fw,fh,c,f", [(3, 3, 1, 8), (5, 3, 3, 16), (1, 1, 4, 2)])
def test_conv_parameter_count(fw, fh, c, f):
    conv = nn.Conv2d(c, f, kernel_size=(fh, fw))
    assert count_parameters(conv) == conv_param_count(fw, fh, c, f) == (fw * fh * c + 1) * f


def test_notes_cnn_count_is_sum_of_layer_formulas():
    notes = {"coord_channels": True, "global_pool": "avg"}  # the notes' GlobalAvgPool
    cnn = NotesCNN((3, 20, 20), channels=(8, 16), kernel_size=3, output_dim=32, **notes)
    expected = (
        conv_param_count(3, 3, 3 + 2, 8)  # +2 coordinate channels
        + conv_param_count(3, 3, 8, 16)
        + (16 + 1) * 32  # dense after global average pooling
    )
    assert count_parameters(cnn) == expected
    # the conv part does not grow with the image (weight sharing, notes 000 §1.b)
    big = NotesCNN((3, 80, 60), channels=(8, 16), kernel_size=3, output_dim=32, **notes)
    assert count_parameters(big) == expected
    # without global pooling the dense layer reads the whole map: 20 -> 10 (stride 2) -> 5 -> 2
    flat = NotesCNN((3, 20, 20), channels=(8, 16), output_dim=32, coord_channels=True)
    assert count_parameters(flat) == expected - (16 + 1) * 32 + (16 * 2 * 2 + 1) * 32
    assert flat(torch.rand(2, 3, 20, 20)).shape == (2, 32)


def test_notes_cnn_coordinate_shortcut_equals_concatenating_channels():
    """The CNN convolves the coordinate channels once per batch; same as concatenating them."""
    torch.manual_seed(5)
    cnn = NotesCNN((3, 20, 16), channels=(4, 8), output_dim=6, coord_channels=True)
    x = torch.rand(5, 3, 20, 16)
    h = cnn.blocks(coordinate_channels(x))  # conv on [X, rows, cols], as the notes draw it
    expected = torch.relu(cnn.dense(cnn.global_pool(h).flatten(1)))
    torch.testing.assert_close(cnn(x), expected, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------- reference == fast
def _grads_of(fast: nn.Module, cell_kind: str) -> nn.Module:
    """A copy of `fast` whose weights are its gradients, with bias_hh grads removed where the
    reference folds bias_hh into bias_ih (d/db = d/db_ih), so copy_from maps grads exactly."""
    g = copy.deepcopy(fast)
    with torch.no_grad():
        for p, q in zip(fast.parameters(), g.parameters()):
            q.copy_(p.grad)
        n = fast.hidden_size
        bias_hh = g.bias_hh_l0
        if cell_kind == "gru":
            bias_hh[: 2 * n].zero_()  # b_hn stays: it is its own reference parameter
        else:
            bias_hh.zero_()
    return g


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_reference_cell_equals_torch_module(kind):
    torch.manual_seed(0)
    m, n, t_len, batch = 3, 6, 7, 4
    ref = {"rnn": RNNCell(m, n), "lstm": LSTMCell(m, n), "gru": GRUCell(m, n, reset_after=True)}[
        kind
    ]
    fast = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](m, n)
    ref.copy_to(fast)
    x = torch.randn(t_len, batch, m)
    h0 = torch.randn(batch, n)
    c0 = torch.randn(batch, n)
    x_ref, x_fast = x.clone().requires_grad_(), x.clone().requires_grad_()
    state_ref = (h0, c0) if kind == "lstm" else h0
    out_ref, final_ref = run_cell(ref, x_ref, state_ref)
    state_fast = (h0[None], c0[None]) if kind == "lstm" else h0[None]
    out_fast, final_fast = fast(x_fast, state_fast)
    torch.testing.assert_close(out_ref, out_fast, atol=1e-5, rtol=1e-5)
    h_ref = final_ref[0] if kind == "lstm" else final_ref
    h_fast = final_fast[0][0] if kind == "lstm" else final_fast[0]
    torch.testing.assert_close(h_ref, h_fast, atol=1e-5, rtol=1e-5)
    if kind == "lstm":
        torch.testing.assert_close(final_ref[1], final_fast[1][0], atol=1e-5, rtol=1e-5)
    # gradients: w.r.t. the inputs and w.r.t. every weight (mapped through copy_from)
    target = torch.randn_like(out_ref)
    (out_ref * target).sum().backward()
    (out_fast * target).sum().backward()
    torch.testing.assert_close(x_ref.grad, x_fast.grad, atol=1e-5, rtol=1e-5)
    mapped = copy.deepcopy(ref).copy_from(_grads_of(fast, kind))
    for (name, p), (_, g) in zip(ref.named_parameters(), mapped.named_parameters()):
        torch.testing.assert_close(p.grad, g, atol=1e-5, rtol=1e-5, msg=f"grad of {name}")


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_copy_from_folds_both_torch_biases(kind):
    """torch -> reference: b = b_ih + b_hh is exact even when b_hh is not zero."""
    torch.manual_seed(1)
    fast = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind](4, 5)
    ref = {"rnn": RNNCell(4, 5), "lstm": LSTMCell(4, 5), "gru": GRUCell(4, 5, reset_after=True)}[
        kind
    ]
    ref.copy_from(fast)
    x, h = torch.randn(3, 4), torch.randn(3, 5)
    if kind == "lstm":
        c = torch.randn(3, 5)
        torch.testing.assert_close(ref(x, (h, c)), fast(x, (h, c)), atol=1e-6, rtol=1e-5)
    else:
        torch.testing.assert_close(ref(x, h), fast(x, h), atol=1e-6, rtol=1e-5)


def test_backbone_core_takes_reference_weights():
    """The fast LSTM backbone computes the reference LSTM's h^(t) on one-hot inputs."""
    from gymnasium import spaces

    torch.manual_seed(2)
    bb = make_backbone("lstm", spaces.Discrete(4), hidden_size=5)
    ref = LSTMCell(4, 5)
    ref.copy_to(bb.core)
    obs = torch.randint(0, 4, (6, 3))
    feats, _ = bb.forward_sequence(obs, bb.initial_state(3))
    expected, _ = run_cell(ref, F.one_hot(obs, 4).float())
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("mode", ["packed", "chunked"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_the_training_cores_sequence_equals_the_hand_written_cell_across_episode_starts(mode, kind):
    """What PPO trains through (torch's fused LSTM / GRU over a rollout, cuDNN on a GPU, cut at
    the episode starts it is told on the host) equals the reference cell stepped one t at a
    time with h^(0) = 0 (and C^(0) = 0) at each episode start: the features and every weight's
    gradient."""
    from gymnasium import spaces

    torch.manual_seed(4)
    t_len, batch, symbols, n = 9, 5, 4, 6
    bb = make_backbone(kind, spaces.Discrete(symbols), hidden_size=n, sequence_mode=mode)
    ref = LSTMCell(symbols, n) if kind == "lstm" else GRUCell(symbols, n, reset_after=True)
    ref.copy_to(bb.core)
    obs = torch.randint(0, symbols, (t_len, batch))
    starts = torch.zeros(t_len, batch, dtype=torch.bool)
    starts[[0, 3, 7], :] = True  # episodes that end together (Parity, Copy) ...
    starts[5, 1] = True  # ... and one that does not
    state0 = tuple(torch.randn_like(s) for s in bb.initial_state(batch))
    times = [t for t in range(1, t_len) if bool(starts[t].any())]
    feats, _ = bb.forward_sequence(obs, state0, starts, start_times=times)

    x = F.one_hot(obs, symbols).float()
    h, c = state0[0][:, 0], (state0[1][:, 0] if kind == "lstm" else None)
    expected = []
    for t in range(t_len):
        keep = (~starts[t]).float()[:, None]  # an episode start forgets the past
        h = h * keep
        if kind == "lstm":
            h, c = ref(x[t], (h, c * keep))
        else:
            h = ref(x[t], h)
        expected.append(h)
    expected = torch.stack(expected)
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=1e-5)
    target = torch.randn_like(feats)
    (feats * target).sum().backward()
    (expected * target).sum().backward()
    mapped = copy.deepcopy(ref).copy_from(_grads_of(bb.core, kind))
    for (name, p), (_, g) in zip(ref.named_parameters(), mapped.named_parameters()):
        torch.testing.assert_close(p.grad, g, atol=1e-5, rtol=1e-5, msg=f"grad of {name}")


def test_notes_003_gru_fast_unroll_equals_reference():
    torch.manual_seed(3)
    cell = GRUCell(3, 5)  # notes 003 form: r acts on h before W_h
    x = torch.randn(8, 2, 3, requires_grad=True)
    h0 = torch.randn(2, 5)
    ref, _ = run_cell(cell, x, h0)
    grads_ref = torch.autograd.grad(ref.square().sum(), [x, *cell.parameters()])
    fast, _ = notes_gru_sequence(cell, x, h0)
    grads_fast = torch.autograd.grad(fast.square().sum(), [x, *cell.parameters()])
    torch.testing.assert_close(ref, fast, atol=1e-5, rtol=1e-5)
    for a, b in zip(grads_ref, grads_fast):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # and it is a different function from torch's form, so copying is refused with a reason
    with pytest.raises(ValueError, match="reset_after=True"):
        cell.copy_to(nn.GRU(3, 5))


def test_gru_update_gate_keeps_or_writes():
    """003 form: z = 0 keeps h_{t-1}; z = 1 writes the candidate (notes 003 "GRU vs LSTM")."""
    cell = GRUCell(2, 3)
    with torch.no_grad():
        cell.W_z.weight.zero_()
        cell.W_z.bias.fill_(-50.0)  # z ≈ 0
    h = torch.randn(4, 3)
    torch.testing.assert_close(cell(torch.randn(4, 2), h), h, atol=1e-6, rtol=0)


def test_copy_checks_sizes():
    with pytest.raises(ValueError, match="weight_ih of shape"):
        LSTMCell(3, 4).copy_to(nn.LSTM(2, 4))
    with pytest.raises(ValueError, match="single-layer"):
        LSTMCell(3, 4).copy_to(nn.LSTM(3, 4, num_layers=2))


# ------------------------------------------------------------------------- attention
def causal(n: int) -> torch.Tensor:
    return torch.ones(n, n, dtype=torch.bool).tril()


def test_self_attention_equals_sdpa_and_masks():
    torch.manual_seed(0)
    att = SelfAttention(6, d_q=4)
    x = torch.randn(2, 5, 6)
    out, weights = att(x, causal(5))
    fast = F.scaled_dot_product_attention(att.query(x), att.key(x), att.value(x), causal(5))
    torch.testing.assert_close(out, fast, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5))
    assert torch.all(weights[:, ~causal(5)] == 0)
    # a[x_m, x_n] written out for one pair: softmax_m[k_mᵀ q_n / √D_q]
    q, k = att.query(x)[0], att.key(x)[0]
    n = 3
    scores = torch.stack([k[m] @ q[n] / math.sqrt(4) for m in range(n + 1)])
    torch.testing.assert_close(weights[0, n, : n + 1], torch.softmax(scores, 0))


def test_multi_head_attention_equals_torch():
    torch.manual_seed(1)
    d, heads = 8, 2
    ref = MultiHeadAttention(d, heads)
    fast = ref.copy_to(nn.MultiheadAttention(d, heads, batch_first=True))
    x_ref = torch.randn(3, 6, d, requires_grad=True)
    x_fast = x_ref.detach().clone().requires_grad_()
    out_ref, w_ref = ref(x_ref, causal(6))
    out_fast, w_fast = fast(
        x_fast, x_fast, x_fast, attn_mask=~causal(6), average_attn_weights=False
    )
    torch.testing.assert_close(out_ref, out_fast, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w_ref, w_fast, atol=1e-5, rtol=1e-5)
    out_ref.square().sum().backward()
    out_fast.square().sum().backward()
    torch.testing.assert_close(x_ref.grad, x_fast.grad, atol=1e-5, rtol=1e-5)
    back = MultiHeadAttention(d, heads).copy_from(fast)
    torch.testing.assert_close(back(x_ref, causal(6))[0], out_ref, atol=1e-6, rtol=1e-5)


def test_transformer_layer_equals_reference_attention():
    """The fused layer the Transformer backbone trains with == the notes' heads, written out."""
    torch.manual_seed(2)
    d, heads, t_len = 8, 2, 5
    layer = CausalSelfAttentionLayer(d, heads, ff_size=16)
    ref = MultiHeadAttention(d, heads)
    with torch.no_grad():  # qkv rows [Ω_q; Ω_k; Ω_v], head h owning a D/H slice of each
        fake = nn.MultiheadAttention(d, heads, batch_first=True)
        fake.in_proj_weight.copy_(layer.qkv.weight)
        fake.in_proj_bias.copy_(layer.qkv.bias)
        fake.out_proj.weight.copy_(layer.out.weight)
        fake.out_proj.bias.copy_(layer.out.bias)
        ref.copy_from(fake)
    x = torch.randn(2, t_len, d)
    empty = torch.zeros(2, 0, d)
    mask = causal(t_len).expand(2, t_len, t_len)
    fast_out, _, _, _ = layer(x, empty, empty, mask)
    explicit_out, _, _, weights = layer(x, empty, empty, mask, return_weights=True)
    attn, ref_weights = ref(layer.norm_attn(x), causal(t_len))
    y = x + attn
    y = y + layer.ff(layer.norm_ff(y))
    torch.testing.assert_close(fast_out, y, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(explicit_out, y, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights, ref_weights, atol=1e-5, rtol=1e-5)


def test_sinusoidal_encoding_values():
    pe = sinusoidal_encoding(torch.arange(50), 16)
    assert pe.shape == (50, 16)
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0] * 8))
    n, i = 7, 3
    torch.testing.assert_close(pe[n, 2 * i], torch.tensor(math.sin(n / 10000 ** (2 * i / 16))))
    torch.testing.assert_close(pe[n, 2 * i + 1], torch.tensor(math.cos(n / 10000 ** (2 * i / 16))))


def test_bahdanau_matches_the_formula_and_masks():
    torch.manual_seed(3)
    att = BahdanauAttention(decoder_size=4, encoder_size=6, attention_size=5)
    s_prev, h = torch.randn(2, 4), torch.randn(2, 7, 6)
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[1, 5:] = False  # padding in the second source sentence
    context, alpha = att(s_prev, h, mask)
    for b in range(2):
        e = torch.stack(
            [att.v_a(torch.tanh(att.W_a(s_prev[b]) + att.U_a(h[b, j])))[0] for j in range(7)]
        )  # e_tj = v_aᵀ tanh(W_a s_{t-1} + U_a h_j)
        e = e.masked_fill(~mask[b], float("-inf"))
        a = torch.softmax(e, 0)
        torch.testing.assert_close(alpha[b], a, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(context[b], (a[:, None] * h[b]).sum(0), atol=1e-6, rtol=1e-5)
    assert torch.all(alpha[1, 5:] == 0)


def test_luong_scores():
    torch.manual_seed(4)
    h_t, h_bar = torch.randn(2, 5), torch.randn(2, 4, 5)
    dot = LuongAttention(5, "dot")
    general = LuongAttention(5, "general")
    with torch.no_grad():
        general.W_a.weight.copy_(torch.eye(5))  # W_a = I turns general into dot
    torch.testing.assert_close(general(h_t, h_bar)[1], dot(h_t, h_bar)[1])
    expected = torch.softmax(torch.einsum("bd,bsd->bs", h_t, h_bar), -1)  # h_tᵀ h̄_s
    torch.testing.assert_close(dot(h_t, h_bar)[1], expected)
    concat = LuongAttention(5, "concat", source_size=3, attention_size=6)
    src = torch.randn(2, 4, 3)
    context, alpha = concat(h_t, src)
    manual = concat.v_a(torch.tanh(concat.W_a(torch.cat([h_t[0], src[0, 2]])))).squeeze()
    scores = concat.scores(h_t, src)
    torch.testing.assert_close(scores[0, 2], manual)
    assert context.shape == (2, 3)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(2))
    with pytest.raises(ValueError, match="dot score"):
        LuongAttention(5, "dot", source_size=3)


@pytest.mark.parametrize("cell_class", [RNNCell, LSTMCell])
def test_the_output_layer_is_w_ho_h_plus_b_ho_and_absent_without_output_size(cell_class):
    torch.manual_seed(0)
    cell = cell_class(3, 5, output_size=2)
    h = torch.randn(4, 5)
    expected = h @ cell.W_ho.weight.T + cell.W_ho.bias  # o = W_ho h + b_ho, notes 000 §3.c
    assert torch.allclose(cell.output(h), expected)
    with pytest.raises(ValueError, match="output_size=k"):
        cell_class(3, 5).output(h)
