"""The densevec command line, run as a subprocess: every subcommand and its bad-input exit path."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from densevec import datasets
from densevec.vectors import Embeddings


def run(*args, cache, check=True, input=None):
    env = dict(os.environ, DENSEVEC_CACHE=str(cache))
    proc = subprocess.run([sys.executable, "-m", "densevec.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120, input=input)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def assert_usage_error(proc, command):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(f"densevec {command}: error: "), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small store trained through the CLI, with the world analogies beside it."""
    root = tmp_path_factory.mktemp("cli")
    corpus = datasets.write_world_corpus(root / "world.txt", n_sentences=3000)
    analogies = datasets.write_world_analogies(root / "analogies.txt")
    store = root / "model.dv"
    proc = run("train", corpus, "-o", store, "--model", "skipgram", "--dim", 16, "--epochs", 1,
               "--threads", 1, "--seed", 3, "--quiet", cache=root / "cache")
    assert proc.stdout == ""
    return {"root": root, "corpus": corpus, "analogies": analogies, "store": store, "cache": root / "cache"}


def test_train_writes_a_store(world):
    emb = Embeddings.load(world["store"])
    assert emb.dim == 16 and "paris" in emb
    assert emb.meta["params"]["mode"] == "skipgram" and emb.meta["params"]["seed"] == 3


def test_train_cbow_hs_reports(world, tmp_path):
    out = tmp_path / "cbow.dv"
    proc = run("train", world["corpus"], "-o", out, "--model", "cbow", "--loss", "hs", "--dim", 8,
               "--window", 3, "--epochs", 1, "--min-count", 2, "--sample", 0, "--threads", 1, cache=tmp_path)
    assert "trained cbow/hs" in proc.stdout and "saved" in proc.stdout
    assert Embeddings.load(out).meta["params"]["loss"] == "hs"


def test_train_glove(world, tmp_path):
    out = tmp_path / "glove.dv"
    proc = run("train", world["corpus"], "-o", out, "--model", "glove", "--dim", 8, "--epochs", 2,
               "--min-count", 2, "--threads", 1, cache=tmp_path)
    assert "counted" in proc.stdout and "trained glove" in proc.stdout and "saved" in proc.stdout
    emb = Embeddings.load(out)
    assert emb.meta["algorithm"] == "glove" and emb.meta["params"]["window"] == 10
    assert emb.meta["epochs_completed"] == 2


@pytest.mark.parametrize("args", [
    ["missing.txt"],
    ["{corpus}", "--model", "glove", "--x-max", "0"],
    ["{corpus}", "--model", "glove", "--learning-rate", "1e30", "--epochs", "2"],
    ["{corpus}", "--min-count", "100000000"],
    ["{corpus}", "--loss", "ns", "--negative", "0"],
])
def test_train_bad_input(world, tmp_path, args):
    args = [a.format(corpus=world["corpus"]) for a in args]
    proc = run("train", *args, "-o", tmp_path / "x.dv", "--quiet", cache=tmp_path, check=False)
    assert_usage_error(proc, "train")
    assert not (tmp_path / "x.dv").exists()


def test_train_checks_the_output_before_training(world, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    for out in (afile / "m.dv", afile / "sub" / "m.dv"):
        proc = run("train", world["corpus"], "-o", out, "--quiet", cache=tmp_path, check=False)
        assert_usage_error(proc, "train")
        assert "not a directory" in proc.stderr
    assert afile.read_text(encoding="utf-8") == "x"


def test_train_requires_output(world, tmp_path):
    assert_usage_error(run("train", world["corpus"], cache=tmp_path, check=False), "train")


def test_neighbors(world):
    proc = run("neighbors", world["store"], "paris", "king", "-k", 3, cache=world["cache"])
    lines = proc.stdout.splitlines()
    assert lines[0] == "paris:" and lines[4] == "king:"
    assert len(lines) == 8 and all(len(line.split("\t")) == 2 for line in lines[1:4])


def test_neighbors_bad_input(world, tmp_path):
    assert_usage_error(run("neighbors", world["store"], "notaword", cache=tmp_path, check=False), "neighbors")
    assert_usage_error(run("neighbors", tmp_path / "none.dv", "paris", cache=tmp_path, check=False), "neighbors")
    bad = tmp_path / "bad.dv"
    bad.mkdir()
    (bad / "meta.json").write_text("{}", encoding="utf-8")
    assert_usage_error(run("neighbors", bad, "paris", cache=tmp_path, check=False), "neighbors")


def test_analogy(world):
    proc = run("analogy", world["store"], "man", "king", "woman", "-k", 4, "--method", "3cosmul",
               cache=world["cache"])
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("man : king :: woman : ?") and len(lines) == 5
    assert not {"man", "king", "woman"} & {line.split("\t")[0].strip() for line in lines[1:]}


def test_analogy_bad_input(world, tmp_path):
    assert_usage_error(run("analogy", world["store"], "man", "king", "nope", cache=tmp_path, check=False),
                       "analogy")


def test_eval_text_and_json(world, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# comment\nparis\tfrance\t9\nking\tqueen\t8\ncar\tdog\t1\nbread\tlunch\t5\nxx\tyy\t3\n",
                     encoding="utf-8")
    proc = run("eval", world["store"], "--analogies", world["analogies"], "--pairs", pairs, cache=tmp_path)
    assert "word analogies (3cosadd" in proc.stdout and "word pairs: spearman" in proc.stdout
    doc = json.loads(run("eval", world["store"], "--analogies", world["analogies"], "--pairs", pairs,
                         "--json", cache=tmp_path).stdout)
    assert doc["analogies"]["total"] > 0 and 0 <= doc["analogies"]["accuracy"] <= 1
    assert doc["pairs"]["pairs"] == 4 and doc["pairs"]["oov"] == 1


def test_eval_bad_input(world, tmp_path):
    assert_usage_error(run("eval", world["store"], cache=tmp_path, check=False), "eval")
    assert_usage_error(run("eval", world["store"], "--analogies", "no-such-dataset", cache=tmp_path,
                           check=False), "eval")
    bad = tmp_path / "bad.txt"
    bad.write_text("a b c d\n", encoding="utf-8")  # a question before any section header
    assert_usage_error(run("eval", world["store"], "--analogies", bad, cache=tmp_path, check=False), "eval")


def test_convert_round_trips(world, tmp_path):
    original = Embeddings.load(world["store"])
    paths = {}
    for fmt, name in (("word2vec-bin", "v.bin"), ("word2vec-txt", "v.txt"), ("glove", "v.glove")):
        paths[fmt] = tmp_path / name
        run("convert", world["store"], paths[fmt], "--to", fmt, "--quiet", cache=tmp_path)
    assert paths["glove"].read_text(encoding="utf-8").split("\n", 1)[0].split(" ")[0] == original.index_to_word[0]
    for fmt, path in paths.items():
        out = tmp_path / f"{fmt}.dv"
        run("convert", path, out, "--to", "store", "--quiet", cache=tmp_path)  # format detected
        back = Embeddings.load(out)
        assert back.index_to_word == original.index_to_word
        assert (back.vectors == original.vectors).all(), fmt
    run("convert", paths["glove"], tmp_path / "g.dv", "--from", "glove", "--to", "store", cache=tmp_path)


def test_convert_bad_input(world, tmp_path):
    assert_usage_error(run("convert", tmp_path / "none", tmp_path / "o.bin", "--to", "word2vec-bin",
                           cache=tmp_path, check=False), "convert")
    junk = tmp_path / "junk.txt"
    junk.write_text("2 3\nw 1 2 3\nv 1 x 3\n", encoding="utf-8")
    assert_usage_error(run("convert", junk, tmp_path / "o.dv", "--to", "store", "--from", "word2vec-txt",
                           cache=tmp_path, check=False), "convert")
    assert not (tmp_path / "o.dv").exists()


def test_reduce_prints_report(world, tmp_path):
    out = tmp_path / "small.dv"
    proc = run("reduce", world["store"], out, "--dim", 4, "--analogies", world["analogies"], "--sample", 200,
               cache=tmp_path)
    assert "PCA 16 -> 4 dims" in proc.stdout and "neighbour overlap" in proc.stdout
    assert "analogy accuracy" in proc.stdout
    small = Embeddings.load(out)
    assert small.dim == 4 and small.meta["pca"]["n_components"] == 4
    again = run("reduce", world["store"], out, "--dim", 8, "--json", "--sample", 50, cache=tmp_path, check=False)
    assert_usage_error(again, "reduce")
    assert "--overwrite" in again.stderr and Embeddings.load(out).dim == 4
    doc = json.loads(run("reduce", world["store"], out, "--dim", 8, "--json", "--sample", 50, "--overwrite",
                         cache=tmp_path).stdout)
    assert doc["n_components"] == 8 and 0 < doc["explained_variance_ratio"] <= 1


def test_reduce_bad_input(world, tmp_path):
    assert_usage_error(run("reduce", world["store"], tmp_path / "o.dv", "--dim", 17, cache=tmp_path,
                           check=False), "reduce")
    assert not (tmp_path / "o.dv").exists()


def test_info(world, tmp_path):
    proc = run("info", world["store"], cache=tmp_path)
    assert "words, dim 16" in proc.stdout and "algorithm: word2vec" in proc.stdout
    assert f"embedding space: {Embeddings.load(world['store']).meta['space']['id']} (training)" in proc.stdout
    doc = json.loads(run("info", world["store"], "--json", cache=tmp_path).stdout)
    assert doc["dim"] == 16 and doc["format"] == "store" and doc["meta"]["algorithm"] == "word2vec"
    assert doc["count"] == len(Embeddings.load(world["store"]))


def test_info_bad_input(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert_usage_error(run("info", empty, cache=tmp_path, check=False), "info")
    assert_usage_error(run("info", tmp_path / "none.dv", "--json", cache=tmp_path, check=False), "info")


def test_plot(world, tmp_path):
    out = tmp_path / "words.png"
    proc = run("plot", world["store"], "paris", "france", "berlin", "-o", out,
               "--analogy", "man", "king", "woman", "queen", cache=tmp_path, check=False)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert_usage_error(proc, "plot")
        assert 'pip install "densevec[plot]"' in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_plot_bad_input(world, tmp_path):
    assert_usage_error(run("plot", world["store"], "paris", "nope", "-o", tmp_path / "p.png", cache=tmp_path,
                           check=False), "plot")
    assert_usage_error(run("plot", world["store"], "paris", "-o", tmp_path / "p.png", "--analogy", "a", "b",
                           cache=tmp_path, check=False), "plot")
    assert not (tmp_path / "p.png").exists()


def test_no_command_prints_help(tmp_path):
    assert "train" in run(cache=tmp_path).stdout


# ---------------------------------------------------------------- --json, stdin, vectors, cache
def test_every_subcommand_has_json(world, tmp_path):
    """--json prints exactly one JSON document on stdout, nothing else (chatter off, errors on stderr)."""
    store, cache = world["store"], world["cache"]
    docs = {
        "train": run("train", world["corpus"], "-o", tmp_path / "t.dv", "--dim", 8, "--epochs", 1, "--threads", 1,
                     "--json", cache=cache),
        "neighbors": run("neighbors", store, "paris", "king", "-k", 3, "--json", cache=cache),
        "analogy": run("analogy", store, "man", "king", "woman", "-k", 2, "--json", cache=cache),
        "vectors": run("vectors", store, "paris", "--json", cache=cache),
        "eval": run("eval", store, "--analogies", world["analogies"], "--json", cache=cache),
        "info": run("info", store, "--json", cache=cache),
        "convert": run("convert", store, tmp_path / "v.vec", "--to", "word2vec-txt", "--json", cache=cache),
        "reduce": run("reduce", store, tmp_path / "r.dv", "--dim", 4, "--sample", 50, "--json", cache=cache),
        "cache": run("cache", "--json", cache=cache),
        "demo": run("demo", "--sentences", 500, "--epochs", 1, "--dim", 8, "--threads", 1, "--min-count", 2,
                    "--out", tmp_path / "demo.dv", "--json", cache=cache),
    }
    parsed = {name: json.loads(proc.stdout) for name, proc in docs.items()}  # fails on any extra line
    train = parsed["train"]
    assert train["model"] == "skipgram" and train["vectors"] == len(Embeddings.load(tmp_path / "t.dv"))
    assert len(train["history"]) == 1 and train["space"]["origin"] == "training"
    assert [q["word"] for q in parsed["neighbors"]["queries"]] == ["paris", "king"]
    assert len(parsed["neighbors"]["queries"][0]["neighbors"]) == 3
    assert len(parsed["analogy"]["answers"]) == 2
    assert parsed["vectors"]["vectors"][0]["word"] == "paris"
    assert parsed["convert"]["count"] == parsed["info"]["count"]
    assert parsed["demo"]["vocabulary"]["sentences"] == 500 and 0 <= parsed["demo"]["analogies"]["accuracy"] <= 1
    assert parsed["cache"]["entries"] and not parsed["cache"]["cleared"]
    assert parsed["reduce"]["analogy_before"] is None  # no --analogies: undefined, not 0.0
    assert 0 < parsed["reduce"]["explained_variance_ratio"] <= 1 and 0 <= parsed["reduce"]["neighbor_overlap"] <= 1


def test_json_writes_undefined_values_as_null(capsys):
    from densevec import cli

    cli._print_json({"a": float("nan"), "b": [1.0, float("nan")], "c": {"d": float("nan")}, "e": 0.5})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [1.0, None], "c": {"d": None}, "e": 0.5}


def test_eval_json_uses_fractions_and_null_for_empty_sections(world, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(": capital-common\nathens greece berlin germany\nparis france rome italy\n"
                         ": gram-empty\nzzz yyy xxx www\n", encoding="utf-8")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("paris\tfrance\t9\nking\tqueen\t8\ncar\tdog\t1\nxx\tyy\t3\n", encoding="utf-8")
    text = run("eval", world["store"], "--analogies", questions, "--pairs", pairs, cache=tmp_path).stdout
    doc = json.loads(run("eval", world["store"], "--analogies", questions, "--pairs", pairs, "--json",
                         cache=tmp_path).stdout)
    an = doc["analogies"]
    assert an["skipped"] == 1 and an["total"] == 2
    assert an["oov_ratio"] == pytest.approx(1 / 3)  # a fraction, not 33.3
    assert doc["pairs"]["oov_ratio"] == pytest.approx(1 / 4)
    empty = next(s for s in an["sections"] if s["name"] == "gram-empty")
    assert empty["total"] == 0 and empty["accuracy"] is None  # the text shows "-"
    assert an["syntactic"]["accuracy"] is None and an["semantic"]["accuracy"] is not None
    assert "-" in next(line for line in text.splitlines() if line.startswith("gram-empty"))


def test_train_reads_standard_input(world, tmp_path):
    out = tmp_path / "stdin.dv"
    text = world["corpus"].read_text(encoding="utf-8")
    doc = json.loads(run("train", "-", "-o", out, "--dim", 8, "--epochs", 1, "--threads", 1, "--seed", 3, "--json",
                         cache=tmp_path / "cache", input=text).stdout)
    assert doc["corpus"]["path"] == "-" and not doc["corpus"]["cached"]
    from_file = Embeddings.load(world["store"])
    got = Embeddings.load(out)
    assert got.index_to_word == from_file.index_to_word  # the same text, the same vocabulary
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("meta.json"))  # stdin: no cache
    empty = run("train", "-", "-o", tmp_path / "e.dv", "--quiet", cache=tmp_path, check=False, input="")
    assert_usage_error(empty, "train")
    assert not (tmp_path / "e.dv").exists()


def test_neighbors_reads_words_from_stdin(world):
    by_args = run("neighbors", world["store"], "paris", "king", "-k", 3, cache=world["cache"]).stdout
    for args in ([], ["-"]):
        piped = run("neighbors", world["store"], *args, "-k", 3, cache=world["cache"], input="paris\nking\n").stdout
        assert piped == by_args
    assert_usage_error(run("neighbors", world["store"], "paris", "-", cache=world["cache"], check=False, input="x"),
                       "neighbors")
    assert_usage_error(run("neighbors", world["store"], cache=world["cache"], check=False, input="\n"), "neighbors")


def test_vectors_prints_exact_rows(world):
    emb = Embeddings.load(world["store"])
    out = run("vectors", world["store"], cache=world["cache"], input="paris king\nqueen\n").stdout.splitlines()
    assert [line.split(" ")[0] for line in out] == ["paris", "king", "queen"]
    for line in out:
        word, *values = line.split(" ")
        assert len(values) == emb.dim
        assert np.array_equal(np.array(values, dtype=np.float32), emb[word])  # shortest exact decimals
    missing = run("vectors", world["store"], "paris", "nope", cache=world["cache"], check=False)
    assert_usage_error(missing, "vectors")
    assert missing.stdout == "" and "'nope'" in missing.stderr
    zero = run("vectors", world["store"], "paris", "nope", "--missing", "zero", cache=world["cache"]).stdout
    assert zero.splitlines()[1] == "nope " + " ".join(["0.0"] * emb.dim)
    skip = run("vectors", world["store"], "paris", "nope", "--missing", "skip", cache=world["cache"]).stdout
    assert len(skip.splitlines()) == 1


@pytest.mark.parametrize("model, options, named", [
    ("glove", ["--negative", "20", "--loss", "hs"], ["--loss", "--negative"]),
    ("glove", ["--sample", "0", "--alpha", "0.1"], ["--sample", "--alpha"]),
    ("skipgram", ["--x-max", "10"], ["--x-max"]),
    ("cbow", ["--learning-rate", "0.1", "--memory-gb", "1"], ["--learning-rate", "--memory-gb"]),
])
def test_train_refuses_options_of_the_other_model(world, tmp_path, model, options, named):
    proc = run("train", world["corpus"], "-o", tmp_path / "x.dv", "--model", model, *options, cache=tmp_path,
               check=False)
    assert_usage_error(proc, "train")
    assert all(name in proc.stderr for name in named), proc.stderr
    assert not (tmp_path / "x.dv").exists()


def test_train_own_options_still_accepted(world, tmp_path):
    run("train", world["corpus"], "-o", tmp_path / "g.dv", "--model", "glove", "--x-max", "10", "--dim", 4,
        "--epochs", 1, "--threads", 1, "--quiet", cache=tmp_path)
    assert Embeddings.load(tmp_path / "g.dv").meta["params"]["x_max"] == 10


def test_cache_lists_and_clears_only_its_entries(world, tmp_path):
    cache = tmp_path / "cache"
    run("train", world["corpus"], "-o", tmp_path / "a.dv", "--dim", 4, "--epochs", 1, "--quiet", cache=cache)
    root = cache / "corpora"
    entries = [p for p in root.iterdir()]
    assert len(entries) == 1
    mine = root / "notes.txt"
    mine.write_text("keep me", encoding="utf-8")
    lookalike = root / ("0" * 32)  # a directory named like an entry, but not an encoded corpus
    lookalike.mkdir()
    (lookalike / "meta.json").write_text('{"format": "something-else"}', encoding="utf-8")
    listing = run("cache", cache=cache).stdout
    assert "1 cached corpora" in listing and entries[0].name in listing and "left alone: 2" in listing
    doc = json.loads(run("cache", "--json", cache=cache).stdout)
    assert [e["name"] for e in doc["entries"]] == [entries[0].name] and doc["bytes"] > 0
    assert doc["entries"][0]["tokens"] > 0
    cleared = json.loads(run("cache", "--clear", "--json", cache=cache).stdout)
    assert cleared["cleared"] and len(cleared["entries"]) == 1
    assert not entries[0].exists() and mine.read_text(encoding="utf-8") == "keep me" and lookalike.is_dir()
    assert "0 cached corpora" in run("cache", cache=cache).stdout
    assert "0 cached corpora" in run("cache", cache=tmp_path / "never-made").stdout


def test_plot_keeps_every_analogy(world, tmp_path, monkeypatch):
    from densevec import cli, plot

    seen = {}
    monkeypatch.setattr(plot, "_matplotlib", lambda: None)
    monkeypatch.setattr(plot, "words", lambda emb, words, analogy=None, **kw: seen.update(analogy=analogy))
    rc = cli.main(["plot", str(world["store"]), "paris", "-o", str(tmp_path / "p.png"),
                   "--analogy", "man", "king", "woman", "queen", "--analogy", "paris", "france", "berlin", "germany"])
    assert rc == 0
    assert seen["analogy"] == [("man", "king", "woman", "queen"), ("paris", "france", "berlin", "germany")]
