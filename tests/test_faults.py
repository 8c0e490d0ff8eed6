"""Faults found by an adversarial probe (issue 12): diverging training, a full
disk under GloVe, refused threads and Ctrl-C in the command line. Anything
that crashed the interpreter before runs in a subprocess, so that a regression
fails the test instead of killing pytest."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import densevec as dv
from densevec import _core, datasets
from densevec.glove import GloVe, cooccurrence

from planted import planted_sentences

ISAS = _core.simd_isas()
TESTS = Path(__file__).parent


def run_python(code, env=None, timeout=120):
    """Runs ``code`` in a fresh interpreter (tests/ on sys.path); returns the process."""
    full_env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **(env or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=full_env, timeout=timeout, cwd=TESTS)


# ------------------------------------------------------------- divergence
def reference_loss(x, label):
    """-log sigmoid(z), z = x for label 1 and -x for label 0, in float64."""
    z = x if label > 0.5 else -x
    if math.isnan(z):
        return math.nan
    if z == -math.inf:
        return math.inf
    return math.log1p(math.exp(-z)) if z > 0 else -z + math.log1p(math.exp(z))


SPECIAL = [math.nan, math.inf, -math.inf, 1e30, -1e30, 8.0, -8.0, 7.9999995, -7.9999995,
           np.nextafter(np.float32(8), np.float32(0)), 0.0, 2.5, -3.75]


@pytest.mark.parametrize("x", SPECIAL)
@pytest.mark.parametrize("label", [0.0, 1.0])
def test_sigmoid_lookup_is_safe_for_nan_and_infinities(x, label):
    s, loss = _core.testing.sigmoid_and_loss(float(x), label)
    want_s = 1.0 / (1.0 + math.exp(-x)) if abs(x) < 700 else (1.0 if x > 0 else 0.0)
    want = reference_loss(float(x), label)
    if math.isnan(x):
        assert math.isnan(s) and math.isnan(loss)
        return
    # the table saturates beyond |x| = 8: the loss stays exact there
    assert s == pytest.approx(want_s, abs=5e-4)
    if math.isinf(want):
        assert loss == math.inf
    else:
        assert loss == pytest.approx(want, rel=1e-3, abs=2e-4)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("skipgram", [True, False])
@pytest.mark.parametrize("dim", [1, 17, 64])
def test_window_kernels_on_nonfinite_logits(isa, skipgram, dim):
    """Every ISA's window update on rows whose logit is NaN, +-inf or overflows:
    the loss is NaN or +inf as the reference says (never a wild table read)."""
    cases = [(math.nan, 1.0), (math.nan, 0.0), (math.inf, 0.0), (-math.inf, 1.0),
             (1e30, 0.0), (-1e30, 1.0), (math.inf, 1.0)]
    for v, label in cases:
        win = np.zeros((1, dim), dtype=np.float32)
        wout = np.zeros((1, dim), dtype=np.float32)
        win[0, 0], wout[0, 0] = np.float32(v), np.float32(1e30 if abs(v) == 1e30 else 1.0)
        ids = np.zeros(1, dtype=np.uint32)
        with np.errstate(over="ignore", invalid="ignore"):
            x = float(np.float32(v) * wout[0, 0])  # the float32 logit: 1e30 * 1e30 is inf
        loss = _core.testing.w2v_window(win, wout, ids, ids, np.array([label], dtype=np.float32), 0.025,
                                skipgram, True, isa)
        want = reference_loss(x, label)
        if math.isnan(want):
            assert math.isnan(loss), (v, label)
        else:
            assert loss == want, (v, label)


DIVERGE = """
    import sys, time
    from planted import planted_sentences
    from densevec import Word2Vec
    sents = planted_sentences(2000)
    for mode in ("skipgram", "cbow"):
        for loss in ("ns", "hs"):
            t0 = time.perf_counter()
            try:
                Word2Vec(alpha=1.0, mode=mode, loss=loss, min_count=1, epochs=50, dim=32,
                         threads=2).fit(sents, progress=False)
            except FloatingPointError as e:
                print(mode, loss, f"{time.perf_counter() - t0:.3f}", str(e), flush=True)
            else:
                print(mode, loss, "trained", flush=True)
"""


@pytest.mark.parametrize("isa", ISAS)
def test_diverging_word2vec_raises_in_every_mode(isa):
    proc = run_python(DIVERGE, env={"DENSEVEC_SIMD": isa})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 4, proc.stdout
    for line in lines:
        mode, loss, seconds, message = line.split(" ", 3)
        assert "learning rate" in message and "alpha=1.0" in message, line
        # 50 epochs would take far longer: the workers stopped at once
        assert float(seconds) < 5, line


def test_sane_learning_rate_does_not_diverge():
    """Negative control: the default rate trains to a finite loss."""
    model = dv.Word2Vec(min_count=1, epochs=2, dim=16, threads=1)
    model.fit(planted_sentences(500), progress=False)
    assert all(math.isfinite(h["loss_per_word"]) for h in model.history)


def run_cli(*args, env=None, timeout=120, **kw):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "densevec.cli", *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=timeout, **kw)


def test_cli_diverging_alpha_is_a_one_line_error(tmp_path):
    corpus = datasets.write_world_corpus(tmp_path / "world.txt", n_sentences=1000)
    proc = run_cli("train", corpus, "-o", tmp_path / "m.dv", "--alpha", 2, "--epochs", 3,
                   "--dim", 16, "--quiet")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("densevec train: error: "), proc.stderr
    assert "learning rate" in lines[0]
    assert not (tmp_path / "m.dv").exists()


# ------------------------------------------------------------- GloVe scratch file
def _glove_cooc(tmp_path):
    corpus = dv.Corpus.from_sentences(planted_sentences(3000), min_count=1)
    return cooccurrence(corpus, window=10, path=tmp_path / "cooc", progress=False)


def test_glove_training_copy_goes_to_tmpdir_and_a_read_only_cooc_dir_works(tmp_path):
    cooc = _glove_cooc(tmp_path)
    assert cooc.nnz * 16 > 1 << 16  # beyond the smallest memory budget: a temporary file
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    code = f"""
        import os, tempfile
        from densevec.glove import Cooccurrence, GloVe
        import densevec.glove as g
        seen = []
        orig = g._scratch_records
        def spy(n):
            out, d = orig(n)
            seen.append(d)
            return out, d
        g._scratch_records = spy
        cooc = Cooccurrence.load({str(cooc.path)!r})
        emb = GloVe(dim=8, epochs=2, memory_gb=1e-9, threads=2).fit(cooc, progress=False)
        print(len(emb), seen[0])
    """
    os.chmod(cooc.path, 0o555)
    try:
        proc = run_python(code, env={"TMPDIR": str(tmpdir)})
    finally:
        os.chmod(cooc.path, 0o755)
    assert proc.returncode == 0, proc.stderr[-2000:]
    n, used = proc.stdout.split()
    assert int(n) == len(cooc.vocab)
    assert Path(used).parent == tmpdir  # under TMPDIR, not beside the co-occurrence
    assert list(tmpdir.iterdir()) == []  # and removed


def test_glove_full_disk_is_an_oserror_naming_the_file(tmp_path):
    cooc = _glove_cooc(tmp_path)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    code = f"""
        import resource, signal
        from densevec.glove import Cooccurrence, GloVe
        cooc = Cooccurrence.load({str(cooc.path)!r})
        # a file-size limit stands in for a full disk: writes past it fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (32768, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            GloVe(dim=8, epochs=1, memory_gb=1e-9).fit(cooc, progress=False)
        except OSError as e:
            print("OSError", e.errno, e.filename, e)
        else:
            print("no error")
    """
    proc = run_python(code, env={"TMPDIR": str(tmpdir)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("OSError 27 "), proc.stdout  # EFBIG
    assert str(tmpdir) in proc.stdout and "train.bin" in proc.stdout
    assert list(tmpdir.iterdir()) == []  # nothing left behind


# ------------------------------------------------------------- thread start failures
def test_refused_thread_start_is_an_exception_not_an_abort():
    """The test hook makes the n-th thread start fail as the system would."""
    code = """
        import numpy as np
        from densevec import _core, Corpus, Word2Vec
        from planted import planted_sentences
        rows = np.random.default_rng(0).standard_normal((70000, 8)).astype(np.float32)
        for n in (1, 2, 3):
            _core.testing.fail_thread_start(n)
            try:
                _core.search(rows[:1], rows, 5, threads=4)
            except OSError as e:
                print("search", e)
        _core.testing.fail_thread_start(0)
        ids, _ = _core.search(rows[:1], rows, 5, threads=4)
        want = np.argsort(-(rows @ rows[0]), kind="stable")[:5]
        print("search ok", list(ids[0]) == list(want))
        sents = Corpus.from_sentences(planted_sentences(500), min_count=1)
        for n in (1, 3):
            _core.testing.fail_thread_start(n)
            try:
                Word2Vec(min_count=1, epochs=1, dim=8, threads=3).fit(sents, progress=False)
            except OSError as e:
                print("word2vec", e)
        _core.testing.fail_thread_start(0)
        Word2Vec(min_count=1, epochs=1, dim=8, threads=3).fit(sents, progress=False)
        print("word2vec ok")
    """
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[:3] == [f"search could not start thread {k} of 4: failure injected by "
                         f"densevec._core.testing: Resource temporarily unavailable "
                         f"(a limit on threads or address space? try fewer threads)"
                         for k in (2, 3, 4)]
    assert lines[3] == "search ok True"
    assert lines[4].startswith("word2vec could not start thread 1 of 3: ")
    assert lines[5].startswith("word2vec could not start thread 3 of 3: ")
    assert lines[6] == "word2vec ok"


def test_thread_limit_from_the_system():
    """A real refusal: an address-space limit too small for another thread stack."""
    code = """
        import resource
        import numpy as np
        from densevec import _core
        rows = np.random.default_rng(0).standard_normal((50000, 8)).astype(np.float32)
        q = rows[:1].copy()
        _core.search(q, rows, 5, threads=1)
        vm = int([l.split()[1] for l in open("/proc/self/status") if l.startswith("VmSize")][0])
        # room for a few MiB of allocations, not for an 8 MiB thread stack each
        resource.setrlimit(resource.RLIMIT_AS, ((vm + 6 * 1024) * 1024, resource.RLIM_INFINITY))
        try:
            _core.search(q, rows, 5, threads=16)
        except OSError as e:
            print("OSError", e)
        except MemoryError:
            print("MemoryError")
        else:
            print("ran")
    """
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc")
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]  # no abort (-6) however it went
    out = proc.stdout.strip()
    assert out.startswith("OSError could not start thread ") or out in ("MemoryError", "ran"), out


# ------------------------------------------------------------- Ctrl-C
def test_ctrl_c_during_glove_preparation_is_a_keyboard_interrupt():
    """Interrupting glove_prepare gave ValueError("interrupted"); now KeyboardInterrupt."""
    rng = np.random.default_rng(0)
    n = 3_000_000
    rec = np.zeros(n, dtype=[("row", "<u4"), ("col", "<u4"), ("value", "<f4")])
    rec["row"] = rng.integers(0, 20000, n)
    rec["col"] = rng.integers(0, 20000, n)
    rec["value"] = 1.0
    out = np.empty(n, dtype=[("row", "<u4"), ("col", "<u4"), ("logx", "<f4"), ("w", "<f4")])
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.2, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in range(200):  # until the interrupt lands (almost surely inside C++)
                _core.glove_prepare(records=rec, upper=False, vocab_size=20000, x_max=100.0, alpha=0.75,
                                    seed=1, tile_rows=0, bucket_records=1 << 16, threads=1, out=out)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)


def _interrupt_cli(args, phase_label, tmp_path, delay=0.3):
    """Starts ``densevec train``, sends SIGINT once ``phase_label`` shows in its
    progress output (plus ``delay`` s), returns (returncode, stderr)."""
    env = dict(os.environ, DENSEVEC_CACHE=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    with subprocess.Popen(
        [sys.executable, "-m", "densevec.cli", "train", *map(str, args)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        # a background shell starts children with SIGINT ignored: restore it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as proc:
        seen = threading.Event()
        chunks = []

        def reader():
            text = ""
            while True:
                b = proc.stderr.read1(4096)
                if not b:
                    break
                chunks.append(b)
                text += b.decode(errors="replace")
                if phase_label in text:
                    seen.set()
            seen.set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        assert seen.wait(120)
        time.sleep(delay)
        running = proc.poll() is None
        proc.send_signal(signal.SIGINT)
        proc.wait(120)
        t.join(10)
    return proc.returncode, b"".join(chunks).decode(errors="replace"), running


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("ctrlc")
    return datasets.write_world_corpus(root / "world.txt", n_sentences=60000)


@pytest.mark.parametrize("model,label,extra,delay", [
    ("skipgram", "encoding", ["--no-cache"], 0.0),
    ("skipgram", "word2vec skipgram", [], 0.3),
    ("cbow", "word2vec cbow", ["--loss", "hs"], 0.3),
    ("glove", "co-occurrence", [], 0.0),
    ("glove", "glove", [], 0.3),
])
def test_ctrl_c_in_cli_train_exits_130_and_keeps_the_old_store(big_corpus, tmp_path, model, label,
                                                                extra, delay):
    """SIGINT once a phase's progress bar shows (encoding, co-occurrence counting,
    training; GloVe's preparation is covered above): status 130, one line, and
    the store at -o byte for byte as it was (500 epochs: never finished first)."""
    store = tmp_path / "model.dv"
    old = dv.Embeddings(np.eye(3, dtype=np.float32), ["a", "b", "c"])
    old.save(store)
    before = {p.relative_to(store): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}
    rc, err, running = _interrupt_cli([big_corpus, "-o", store, "--overwrite", "--model", model, "--dim", 16,
                                       "--threads", 2, "--epochs", 500, *extra], label, tmp_path,
                                      delay)
    assert running
    assert rc == 130, err[-2000:]
    assert "Traceback" not in err
    # (after whatever a progress bar had drawn on that line)
    assert "interrupted: nothing written" in err.strip().splitlines()[-1]
    after = {p.relative_to(store): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ["cache", "model.dv"] or \
        sorted(os.listdir(tmp_path)) == ["model.dv"]


# ------------------------------------------------------------- argument ranges
BIG = [2**31, 2**63, 10**30]


def _one_line_value_error(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value) and len(str(info.value)) < 200
    return str(info.value)


@pytest.mark.parametrize("name", ["window", "negative", "threads", "dim"])
@pytest.mark.parametrize("value", BIG)
def test_word2vec_refuses_huge_ints_in_one_line(name, value):
    _one_line_value_error(lambda: dv.Word2Vec(**{name: value}), f"^{name} must be <= ")


@pytest.mark.parametrize("name", ["window", "threads", "dim"])
@pytest.mark.parametrize("value", BIG)
def test_glove_refuses_huge_ints_in_one_line(name, value):
    _one_line_value_error(lambda: GloVe(**{name: value}), f"^{name} must be <= ")


@pytest.mark.parametrize("cls", [dv.Word2Vec, GloVe])
def test_seed_range(cls):
    assert cls(seed=2**64 - 1).seed == 2**64 - 1
    assert cls(seed=np.uint64(2**64 - 1)).seed == 2**64 - 1
    _one_line_value_error(lambda: cls(seed=2**64), "^seed must be <= 18446744073709551615")
    _one_line_value_error(lambda: cls(seed=-1), "^seed must be >= 0")


@pytest.mark.parametrize("value", [1e30, float("inf"), float("nan")])
def test_memory_gb_range(value, tmp_path):
    _one_line_value_error(lambda: GloVe(memory_gb=value), "^memory_gb must be")
    corpus = dv.Corpus.from_sentences(planted_sentences(50), min_count=1)
    _one_line_value_error(lambda: cooccurrence(corpus, memory_gb=value), "^memory_gb must be")


def test_cooccurrence_and_corpus_ranges(tmp_path):
    corpus = dv.Corpus.from_sentences(planted_sentences(50), min_count=1)
    for kwargs in ({"window": 2**31}, {"threads": 2**31}, {"threads": 10**30}):
        _one_line_value_error(lambda: cooccurrence(corpus, **kwargs), "must be <= ")
    path = tmp_path / "t.txt"
    path.write_text("a b a\n")
    _one_line_value_error(lambda: dv.Corpus.from_file(path, threads=2**40), "^threads must be <= ")
    _one_line_value_error(lambda: dv.Corpus.from_sentences([["a"]], threads=2**40),
                          "^threads must be <= ")


@pytest.mark.parametrize("min_count", [2**63, 10**30, np.uint64(2**64 - 1)])
def test_huge_min_count_keeps_nothing_and_says_so(tmp_path, min_count):
    path = tmp_path / "t.txt"
    path.write_text("a b a\n")
    msg = _one_line_value_error(lambda: dv.Corpus.from_file(path, min_count=min_count),
                                "no word occurs at least min_count=")
    assert "lower min_count" in msg
    _one_line_value_error(lambda: dv.Word2Vec(min_count=min_count).fit([["a", "b", "a"]],
                                                                        progress=False),
                          "no word occurs at least min_count=")


def test_search_k_and_threads():
    emb = dv.Embeddings(np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32),
                        [f"w{i}" for i in range(50)])
    ids, _ = emb.search(emb.vectors[0], k=2**63)  # more than there are: all rows
    assert len(ids) == 50
    ids3, _ = emb.search(emb.vectors[0], k=np.int64(3), threads=np.int64(2))
    assert list(ids3) == list(ids[:3])
    _one_line_value_error(lambda: emb.search(emb.vectors[0], k=3, threads=2**31),
                          "^threads must be <= ")
    with pytest.raises(TypeError, match="^k must be an integer"):
        emb.search(emb.vectors[0], k=3.0)


def test_numpy_scalars_are_accepted():
    sents = planted_sentences(300)
    a = dv.Word2Vec(alpha=np.float32(0.025), min_alpha=np.float64(1e-4), window=np.int64(3),
                    negative=np.int32(4), dim=np.int64(8), epochs=np.int64(1), threads=np.int64(1),
                    seed=np.uint32(5), sample=np.float32(0.0), min_count=np.int64(1))
    b = dv.Word2Vec(alpha=float(np.float32(0.025)), min_alpha=1e-4, window=3, negative=4, dim=8,
                    epochs=1, threads=1, seed=5, sample=0.0, min_count=1)
    assert a.get_params() == b.get_params()
    assert all(type(v) in (int, float, str, bool) for v in a.get_params().values())
    np.testing.assert_array_equal(a.fit(sents, progress=False).vectors,
                                  b.fit(sents, progress=False).vectors)
    g = GloVe(learning_rate=np.float32(0.05), x_max=np.float64(10), memory_gb=np.float32(0.5),
              window=np.int64(4), dim=np.int64(8), epochs=np.int64(1))
    assert type(g.learning_rate) is float and type(g.window) is int


def test_huge_window_does_not_overflow():
    """window=2**30: the buffers follow the longest sentence, not 2 * window."""
    sents = planted_sentences(300)
    corpus = dv.Corpus.from_sentences(sents, min_count=1)
    huge = dv.Word2Vec(window=2**30, dim=8, epochs=1, threads=1, min_count=1).fit(corpus,
                                                                                progress=False)
    assert np.isfinite(huge.vectors).all()
    big = cooccurrence(corpus, window=2**31 - 1, progress=False)
    whole = cooccurrence(corpus, window=max(len(s) for s in sents), progress=False)
    np.testing.assert_array_equal(big.records, whole.records)  # every pair, counted once


@pytest.mark.parametrize("args,match", [
    (["--threads", "99999999999"], "argument --threads: expected an integer <= 65536"),
    (["--window", str(2**31)], "argument --window: expected an integer <= 2147483647"),
    (["--negative", str(2**40)], "argument --negative: expected an integer <= 2147483647"),
    (["--seed", str(2**64)], "argument --seed: expected an integer <= 18446744073709551615"),
    (["--model", "glove", "--memory-gb", "1e30"], "memory_gb must be <= 1073741824"),
    (["--alpha", "1e39"], "alpha must be <= "),
    (["--min-count", str(10**30)], "no word occurs at least min_count="),
])
def test_cli_out_of_range_arguments(tmp_path, args, match):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c a b c\n" * 20)
    proc = run_cli("train", corpus, "-o", tmp_path / "m.dv", "--quiet", *args,
                   env={"DENSEVEC_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("densevec train: error: ") and match in last, proc.stderr
    assert not (tmp_path / "m.dv").exists()
