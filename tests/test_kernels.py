"""Every SIMD level of every kernel against a float64 numpy reference."""
from __future__ import annotations

import numpy as np
import pytest

from densevec import _core

ISAS = _core.simd_isas()
DIMS = [1, 3, 17, 100, 301]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_serial_is_always_available_and_default_is_listed():
    assert ISAS[0] == "serial"
    assert _core.simd_active() in ISAS


def test_unknown_isa_is_rejected():
    a = np.ones(4, dtype=np.float32)
    with pytest.raises(ValueError, match="unknown SIMD level"):
        _core.testing.dot_f32(a, a, "sse9")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("n", DIMS + [0, 16, 32, 33])
def test_dot(isa, n):
    rng = np.random.default_rng(n)
    buf = rng.standard_normal(n + 1).astype(np.float32)
    a, b = buf[1:], rng.standard_normal(n).astype(np.float32)  # a starts unaligned
    got = _core.testing.dot_f32(np.ascontiguousarray(a), b, isa)
    want = float(np.dot(a.astype(np.float64), b.astype(np.float64)))
    assert got == pytest.approx(want, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("n", DIMS + [0, 8, 64, 65, 129])
@pytest.mark.parametrize("k", [0, 1, 2, 7, 23])
@pytest.mark.parametrize("acc", [False, True])
def test_combo_is_the_axpys_it_replaces(isa, n, k, acc):
    # The bags (CBOW's input mean, fastText's n-grams, encoded texts, InfoNCE's
    # gradients) are one combo instead of an axpy per row into a stored sum:
    # the same multiply-adds in the same order, so the results are bit-identical.
    rng = np.random.default_rng(100 * n + k)
    rows = rng.standard_normal((k, n)).astype(np.float32)
    coef = rng.standard_normal(k).astype(np.float32)
    start = rng.standard_normal(n).astype(np.float32)
    chain = start.copy() if acc else np.zeros(n, dtype=np.float32)
    for i in range(k):
        _core.testing.axpy_f32(float(coef[i]), rows[i], chain, isa)
    got = start.copy() if acc else np.full(n, np.nan, dtype=np.float32)
    _core.testing.combo_f32(rows, coef, got, acc, isa)
    assert np.array_equal(got, chain)
    want = (start.astype(np.float64) if acc else 0.0) + coef.astype(np.float64) @ rows.astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    if k > 1:  # one coefficient for every row (a mean, a bag): the axpys at that coefficient
        chain = start.copy() if acc else np.zeros(n, dtype=np.float32)
        for i in range(k):
            _core.testing.axpy_f32(float(coef[0]), rows[i], chain, isa)
        got = start.copy() if acc else np.full(n, np.nan, dtype=np.float32)
        _core.testing.combo_f32(rows, coef[:1], got, acc, isa)
        assert np.array_equal(got, chain)


def test_combo_checks_its_shapes():
    rows = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="one entry per row"):
        _core.testing.combo_f32(rows, np.ones(2, dtype=np.float32), np.zeros(4, dtype=np.float32), False)
    with pytest.raises(ValueError, match="one entry per column"):
        _core.testing.combo_f32(rows, np.ones(3, dtype=np.float32), np.zeros(5, dtype=np.float32), False)


def reference_window(win, wout, in_ids, out_ids, labels, alpha, skipgram, cbow_mean=True):
    win, wout = win.astype(np.float64), wout.astype(np.float64)
    X, Y, lab = win[in_ids], wout[out_ids], labels.astype(np.float64)
    if skipgram:
        F = X @ Y.T
        G = (lab - sigmoid(F)) * alpha
        Z = np.where(lab > 0.5, F, -F)
        loss = np.sum(np.log1p(np.exp(-Z)))
        win[in_ids] = X + G @ Y
        wout[out_ids] = Y + G.T @ X
    else:
        h = X.mean(axis=0) if cbow_mean else X.sum(axis=0)
        f = Y @ h
        g = (lab - sigmoid(f)) * alpha
        z = np.where(lab > 0.5, f, -f)
        loss = np.sum(np.log1p(np.exp(-z)))
        win[in_ids] = X + g @ Y
        wout[out_ids] = Y + np.outer(g, h)
    return win, wout, loss


# the AVX2 kernels work in blocks of 8 and 16 columns (dot_many) and passes
# of up to 64 (combo), with masked or scalar tails: dims on and off those edges
WINDOW_DIMS = DIMS + [8, 16, 64, 65, 129]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dim", WINDOW_DIMS)
@pytest.mark.parametrize("mode", ["sg", "cbow", "cbow_sum"])
@pytest.mark.parametrize("n_out", [1, 2, 5, 6, 23])  # dot_many: blocks of 4 and the rest
def test_window_update_matches_reference(isa, dim, mode, n_out):
    rng = np.random.default_rng(dim * 100 + n_out)
    vocab = 60
    scale = 1.5 / np.sqrt(dim)  # keeps logits inside the sigmoid table
    win = (rng.standard_normal((vocab, dim)) * scale).astype(np.float32)
    wout = (rng.standard_normal((vocab, dim)) * scale).astype(np.float32)
    in_ids = rng.choice(vocab, size=7, replace=False).astype(np.uint32)
    out_ids = rng.choice(vocab, size=n_out, replace=False).astype(np.uint32)
    labels = (rng.random(n_out) < 0.3).astype(np.float32)
    alpha = 0.05
    skipgram = mode == "sg"
    cbow_mean = mode != "cbow_sum"
    want_in, want_out, want_loss = reference_window(win, wout, in_ids, out_ids, labels, alpha,
                                                    skipgram, cbow_mean)
    got_in, got_out = win.copy(), wout.copy()
    loss = _core.testing.w2v_window(got_in, got_out, in_ids, out_ids, labels, alpha, skipgram, cbow_mean, isa)
    np.testing.assert_allclose(got_in, want_in, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-4, atol=2e-6)
    assert loss == pytest.approx(want_loss, rel=1e-4)
    # rows that took no part are untouched, bit for bit
    untouched = np.setdiff1d(np.arange(vocab), in_ids)
    assert np.array_equal(got_in[untouched], win[untouched])


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dim", [1, 17, 100])
@pytest.mark.parametrize("mode", ["sg", "cbow", "sg_own"])
def test_window_out_lock_scales_only_the_output_rows(isa, dim, mode):
    """out_lock: a factor per output slot on that row's own update (0 freezes
    it); the input rows take the same gradients as without it."""
    rng = np.random.default_rng(dim + 7)
    vocab, n_in, n_out = 40, 5, 6
    scale = 1.5 / np.sqrt(dim)
    win = (rng.standard_normal((vocab, dim)) * scale).astype(np.float32)
    wout = (rng.standard_normal((vocab, dim)) * scale).astype(np.float32)
    in_ids = rng.choice(vocab, size=n_in, replace=False).astype(np.uint32)
    own = mode == "sg_own"
    shape = (n_in, n_out) if own else (n_out,)
    # distinct output rows, so that each row's change is its own slot's
    out_ids = rng.choice(vocab, size=int(np.prod(shape)), replace=False).astype(np.uint32).reshape(shape)
    labels = np.zeros(shape, dtype=np.float32)
    labels[..., 0] = 1.0
    factor = rng.choice(np.array([0.0, 0.25, 1.0, 2.0], dtype=np.float32), size=shape)
    factor.flat[0] = 0.0

    def run(out_lock):
        gi, go = win.copy(), wout.copy()
        loss = _core.testing.w2v_window(gi, go, in_ids, out_ids, labels, 0.05, mode != "cbow", True, isa,
                                        out_lock=out_lock)
        return gi, go, loss

    plain_in, plain_out, plain_loss = run(None)
    got_in, got_out, got_loss = run(factor)
    np.testing.assert_array_equal(run(np.ones(shape, np.float32))[1], plain_out)  # factor 1: bit-identical
    if own:  # later inputs read the rows earlier ones wrote: compare with the sequential reference
        want_in, want_out, _ = reference_own_outputs(win, wout, in_ids, out_ids, labels, 0.05, factor)
        np.testing.assert_allclose(got_in, want_in, rtol=1e-4, atol=2e-6)
        np.testing.assert_allclose(got_out, want_out, rtol=1e-4, atol=2e-6)
        return
    np.testing.assert_array_equal(got_in, plain_in)
    assert got_loss == plain_loss
    change = (plain_out[out_ids] - wout[out_ids]).astype(np.float64)
    np.testing.assert_allclose(got_out[out_ids], wout[out_ids] + factor[:, None] * change, rtol=1e-5, atol=1e-6)
    assert np.array_equal(got_out[out_ids[factor == 0]], wout[out_ids[factor == 0]])  # frozen: bit for bit


def reference_own_outputs(win, wout, in_ids, out_ids, labels, alpha, out_lock=None):
    """Skip-gram where input c predicts its own rows out_ids[c] (word2vec.c's
    fresh negatives per context word), in word2vec.c's order: context c's
    output rows are updated before context c + 1 reads them; the input rows
    take their summed gradients at the end. A label below 0 is an unused slot;
    `out_lock` (shaped as labels) scales each slot's own row update."""
    win, wout = win.astype(np.float64), wout.astype(np.float64)
    loss = 0.0
    grads = np.zeros((len(in_ids), win.shape[1]))
    for c, i in enumerate(in_ids):
        x = win[i]
        used = labels[c] >= 0
        rows, lab = out_ids[c][used], labels[c][used].astype(np.float64)
        factor = np.ones(len(rows)) if out_lock is None else out_lock[c][used]
        f = wout[rows] @ x
        g = (lab - sigmoid(f)) * alpha
        loss += np.sum(np.log1p(np.exp(-np.where(lab > 0.5, f, -f))))
        grads[c] = g @ wout[rows]
        for r, gr, fr in zip(rows, g, factor):  # one by one: a noise word may repeat
            wout[r] += gr * fr * x
    for c, i in enumerate(in_ids):
        win[i] += grads[c]
    return win, wout, loss


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dim", [1, 17, 100])
def test_own_outputs_window_matches_reference(isa, dim):
    rng = np.random.default_rng(dim)
    vocab, n_in, n_out = 30, 6, 6
    scale = 1.5 / np.sqrt(dim)
    win = (rng.standard_normal((vocab, dim)) * scale).astype(np.float32)
    wout = (rng.standard_normal((vocab, dim)) * scale).astype(np.float32)
    in_ids = rng.choice(vocab, size=n_in, replace=False).astype(np.uint32)
    # the centre first, then noise words that may repeat within and across contexts
    out_ids = rng.integers(0, 8, size=(n_in, n_out)).astype(np.uint32)
    out_ids[:, 0] = 3
    labels = np.zeros((n_in, n_out), dtype=np.float32)
    labels[:, 0] = 1.0
    labels[out_ids == 3] = -1.0  # a noise word equal to the centre: unused slot
    labels[:, 0] = 1.0
    got_in, got_out, want_in = own_outputs_against_reference(win, wout, in_ids, out_ids, labels, isa)
    # negative control: the shared-outputs update of the same rows differs
    shared_in = win.copy()
    _core.testing.w2v_window(shared_in, wout.copy(), in_ids, out_ids[0], np.maximum(labels[0], 0), 0.05, True,
                             True, isa)
    assert not np.allclose(shared_in, want_in, rtol=1e-4, atol=2e-6)


def own_outputs_against_reference(win, wout, in_ids, out_ids, labels, isa):
    """Runs the per-input-outputs skip-gram window on copies of the rows and
    checks it against reference_own_outputs; returns the kernel's rows and the
    reference's input rows."""
    want_in, want_out, want_loss = reference_own_outputs(win, wout, in_ids, out_ids, labels, 0.05)
    got_in, got_out = win.copy(), wout.copy()
    loss = _core.testing.w2v_window(got_in, got_out, in_ids, out_ids, labels, 0.05, True, True, isa)
    np.testing.assert_allclose(got_in, want_in, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-4, atol=2e-6)
    assert loss == pytest.approx(want_loss, rel=1e-4)
    return got_in, got_out, want_in


@pytest.mark.parametrize("isa", ISAS)
def test_own_outputs_long_window_matches_reference(isa):
    """A window of 20 inputs at dim 128 (the shape node2vec trains), with
    inputs sharing noise rows as noise_group does: every input past the first
    ones has its rows prefetched ahead, which must not change the update."""
    rng = np.random.default_rng(5)
    vocab, n_in, n_out, dim = 50, 20, 6, 128
    win = (rng.standard_normal((vocab, dim)) * 0.1).astype(np.float32)
    wout = (rng.standard_normal((vocab, dim)) * 0.1).astype(np.float32)
    in_ids = rng.choice(vocab, size=n_in, replace=False).astype(np.uint32)
    out_ids = rng.integers(0, vocab, size=(n_in, n_out)).astype(np.uint32)
    out_ids[1::2] = out_ids[0::2]  # pairs of inputs share a set
    out_ids[:, 0] = 7
    labels = np.where(out_ids == 7, -1.0, 0.0).astype(np.float32)
    labels[:, 0] = 1.0
    got_in, got_out, want_in = own_outputs_against_reference(win, wout, in_ids, out_ids, labels, isa)
    if isa != "serial":  # the SIMD path against the scalar one
        s_in, s_out = win.copy(), wout.copy()
        _core.testing.w2v_window(s_in, s_out, in_ids, out_ids, labels, 0.05, True, True, "serial")
        np.testing.assert_allclose(got_in, s_in, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(got_out, s_out, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("isa", ISAS[1:])
def test_simd_levels_agree_with_serial(isa):
    rng = np.random.default_rng(7)
    dim, vocab = 301, 40
    win = (rng.standard_normal((vocab, dim)) * 0.05).astype(np.float32)
    wout = (rng.standard_normal((vocab, dim)) * 0.05).astype(np.float32)
    in_ids = np.arange(10, dtype=np.uint32)
    out_ids = np.arange(20, 26, dtype=np.uint32)
    labels = np.array([1, 0, 0, 0, 0, 0], dtype=np.float32)
    a_in, a_out, b_in, b_out = win.copy(), wout.copy(), win.copy(), wout.copy()
    la = _core.testing.w2v_window(a_in, a_out, in_ids, out_ids, labels, 0.025, True, True, "serial")
    lb = _core.testing.w2v_window(b_in, b_out, in_ids, out_ids, labels, 0.025, True, True, isa)
    np.testing.assert_allclose(a_in, b_in, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(a_out, b_out, rtol=1e-5, atol=1e-7)
    assert la == pytest.approx(lb, rel=1e-5)


def reference_infer_window(vec, win, wout, in_ids, out_ids, labels, alpha, dm):
    """Doc2Vec inference: x (vec, or in PV-DM the mean of the context rows and
    vec) predicts the output rows; only vec moves, by sum_o g_o * out_o."""
    v = vec.astype(np.float64)
    x = np.vstack([win[in_ids].astype(np.float64), v]).mean(axis=0) if dm else v
    Y = wout[out_ids].astype(np.float64)
    g = (labels.astype(np.float64) - sigmoid(Y @ x)) * alpha
    return v + g @ Y


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("dm", [False, True])
@pytest.mark.parametrize("n_out", [1, 6, 23])
def test_infer_window_matches_reference(isa, dim, dm, n_out):
    rng = np.random.default_rng(dim * 100 + n_out + dm)
    vocab = 60
    scale = 1.5 / np.sqrt(dim)
    win = (rng.standard_normal((vocab, dim)) * scale).astype(np.float32)
    wout = (rng.standard_normal((vocab, dim)) * scale).astype(np.float32)
    vec = (rng.standard_normal(dim) * scale).astype(np.float32)
    in_ids = (rng.choice(vocab, size=4, replace=False) if dm else np.zeros(0)).astype(np.uint32)
    out_ids = rng.integers(0, vocab, size=n_out).astype(np.uint32)  # noise words may repeat
    labels = np.zeros(n_out, dtype=np.float32)
    labels[0] = 1.0
    want = reference_infer_window(vec, win, wout, in_ids, out_ids, labels, 0.05, dm)
    got = vec.copy()
    w0, o0 = win.copy(), wout.copy()
    _core.testing.d2v_infer_window(got, win, wout, in_ids, out_ids, labels, 0.05, dm, isa)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-6)
    assert np.array_equal(win, w0) and np.array_equal(wout, o0)  # the model is frozen
    # negative control: PV-DBOW's x (vec alone) is not PV-DM's mean
    other = reference_infer_window(vec, win, wout, in_ids, out_ids, labels, 0.05, not dm)
    if dm:
        assert not np.allclose(got, other, rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("isa", ISAS[1:])
def test_infer_window_simd_levels_agree_with_serial(isa):
    rng = np.random.default_rng(9)
    dim, vocab = 100, 40
    win = (rng.standard_normal((vocab, dim)) * 0.1).astype(np.float32)
    wout = (rng.standard_normal((vocab, dim)) * 0.1).astype(np.float32)
    vec = (rng.standard_normal(dim) * 0.1).astype(np.float32)
    out_ids = np.array([3, 17, 17, 5, 39, 0], dtype=np.uint32)
    labels = np.array([1, 0, 0, 0, 0, 0], dtype=np.float32)
    for dm, in_ids in ((False, []), (True, [1, 2, 3, 4])):
        a, b = vec.copy(), vec.copy()
        ids = np.array(in_ids, dtype=np.uint32)
        _core.testing.d2v_infer_window(a, win, wout, ids, out_ids, labels, 0.025, dm, "serial")
        _core.testing.d2v_infer_window(b, win, wout, ids, out_ids, labels, 0.025, dm, isa)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        assert not np.array_equal(a, vec)


def test_window_rejects_bad_arrays():
    win = np.zeros((5, 4), dtype=np.float32)
    wout = np.zeros((5, 4), dtype=np.float32)
    ids = np.array([0, 1], dtype=np.uint32)
    lab = np.array([1, 0], dtype=np.float32)
    with pytest.raises(ValueError, match="dtype"):
        _core.testing.w2v_window(win.astype(np.float64), wout, ids, ids, lab, 0.1, True)
    with pytest.raises(ValueError, match="out of range"):
        _core.testing.w2v_window(win, wout, np.array([9], dtype=np.uint32), ids, lab, 0.1, True)
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.testing.w2v_window(np.zeros((4, 5), dtype=np.float32).T, wout, ids, ids, lab, 0.1, True)
    with pytest.raises(ValueError, match="writeable"):
        ro = win.copy()
        ro.flags.writeable = False
        _core.testing.w2v_window(ro, wout, ids, ids, lab, 0.1, True)


# ------------------------------------------------------------------ samplers
@pytest.mark.parametrize("seed", range(5))
def test_alias_table_reproduces_distribution(seed):
    rng = np.random.default_rng(seed)
    w = rng.random(rng.integers(1, 200)) ** 3
    w[rng.random(w.size) < 0.1] = 0.0
    if w.sum() == 0:
        w[0] = 1.0
    sampler = _core.NoiseSampler(w)
    thr, alias = sampler.threshold, sampler.alias
    n = w.size
    assert len(sampler) == n
    keep = thr.astype(np.float64) / 2**32
    keep[thr == 0xFFFFFFFF] = 1.0
    prob = keep.copy()
    np.add.at(prob, alias, 1.0 - keep)
    np.testing.assert_allclose(prob / n, w / w.sum(), atol=1e-8)


@pytest.mark.parametrize("seed", range(3))
def test_noise_draw_follows_the_alias_table(seed):
    """draw(r) reads the table as alias_draw defines it: slot i from the low
    32 bits of r, kept when the high 32 bits are below threshold[i], else
    alias[i] (the trainers draw through it)."""
    rng = np.random.default_rng(seed)
    w = rng.random(int(rng.integers(2, 3000))) ** 3
    sampler = _core.NoiseSampler(w)
    r = rng.integers(0, 2**64, size=20000, dtype=np.uint64)
    slot = ((r & np.uint64(0xFFFFFFFF)) * np.uint64(len(w))) >> np.uint64(32)
    keep = (r >> np.uint64(32)) < sampler.threshold[slot].astype(np.uint64)
    want = np.where(keep, slot, sampler.alias[slot])
    got = sampler.draw(r)
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(got, slot)  # negative control: some draws take the alias


def test_alias_rejects_bad_weights():
    with pytest.raises(ValueError):
        _core.NoiseSampler(np.zeros(3))
    with pytest.raises(ValueError):
        _core.NoiseSampler(np.array([1.0, -1.0]))
    with pytest.raises(ValueError):
        _core.NoiseSampler(np.zeros(0))


def optimal_cost(counts):
    import heapq

    h = list(counts)
    heapq.heapify(h)
    cost = 0
    while len(h) > 1:
        a, b = heapq.heappop(h), heapq.heappop(h)
        cost += a + b
        heapq.heappush(h, a + b)
    return cost


@pytest.mark.parametrize("seed", range(5))
def test_huffman_codes_are_prefix_free_and_optimal(seed):
    rng = np.random.default_rng(seed)
    counts = np.sort(rng.integers(1, 1000, size=rng.integers(2, 300)))[::-1].astype(np.uint64)
    tree = _core.HuffmanTree(counts)
    codes, points, offsets = tree.codes, tree.points, tree.offsets
    n = counts.size
    assert len(tree) == n and tree.max_depth == int(np.diff(offsets).max())
    assert offsets[0] == 0 and offsets[-1] == codes.size == points.size
    words = ["".join(map(str, codes[offsets[i]:offsets[i + 1]])) for i in range(n)]
    assert len(set(words)) == n
    for i, a in enumerate(words):
        assert a  # every word has a path
        for j, b in enumerate(words):
            if i != j:
                assert not b.startswith(a)
    lengths = np.diff(offsets).astype(np.int64)
    assert int((lengths * counts.astype(np.int64)).sum()) == optimal_cost(counts.tolist())
    assert points.max() <= n - 2
    assert all(points[offsets[i]] == 0 for i in range(n))  # every path starts at the root


def test_huffman_needs_two_words():
    with pytest.raises(ValueError, match="at least 2"):
        _core.HuffmanTree(np.array([5], dtype=np.uint64))
