"""The densevec command line, run as a subprocess: every subcommand and its bad-input exit path."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from densevec import datasets
from densevec.vectors import Embeddings


def run(*args, cache, check=True):
    env = dict(os.environ, DENSEVEC_CACHE=str(cache))
    proc = subprocess.run([sys.executable, "-m", "densevec.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)
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
