"""The experiments in benchmarks/experiments/, each in its --fast mode, and what they show."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXP_DIR = os.path.join(os.path.dirname(HERE), "benchmarks", "experiments")

try:
    import matplotlib  # noqa: F401

    HAVE_MPL = True
except ImportError:  # pragma: no cover
    HAVE_MPL = False


def _run(name: str, out) -> dict:
    spec = importlib.util.spec_from_file_location(f"winit_exp_{name}",
                                                  os.path.join(EXP_DIR, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    argv = ["--fast", "--out", str(out)] + ([] if HAVE_MPL else ["--no-plots"])
    with contextlib.redirect_stdout(io.StringIO()):
        res = mod.main(argv)
    for path in res["files"]:
        assert os.path.getsize(path) > 0
        if path.endswith(".png"):
            with open(path, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        else:
            assert path.endswith(".md")
            with open(path, encoding="utf-8") as f:
                assert f.read().startswith("## Experiment")
    if HAVE_MPL:
        assert any(p.endswith(".png") for p in res["files"])
    return res


def test_exp1_activations(tmp_path):
    res = _run("exp1_activations_mlp", tmp_path)["results"]
    assert res[("tanh", "zeros")]["std"] == [0.0] * 5
    small = res[("tanh", "N(0,0.01)")]["std"]
    assert all(b < 0.3 * a for a, b in zip(small, small[1:], strict=False))  # vanishing
    assert max(res[("tanh", "N(0,1)")]["saturated"]) > 0.5  # saturating
    glorot = res[("tanh", "Glorot")]["std"]
    assert 0.05 < min(glorot) and max(glorot) < 0.3  # neither vanishing nor saturating
    he = res[("relu", "He")]["std"][:4]  # hidden layers (the 2-unit output is noisy)
    assert all(0.5 < s < 1.5 for s in he)
    big = res[("relu", "N(0,1)")]["std"]
    assert big[-1] > 100 * big[0]  # exploding


def test_exp2_variance_propagation(tmp_path):
    res = _run("exp2_variance_propagation", tmp_path)["results"]
    for key, expect in [(("linear", 0.05), 0.25), (("linear", 0.1), 1.0),
                        (("linear", 0.2), 4.0), (("relu", 0.14), 0.98)]:
        r = res[key]
        assert r["theory"] == pytest.approx(expect)
        geo = float(np.exp(np.mean(np.log(r["ratios"]))))
        assert geo == pytest.approx(expect, rel=0.25), key


def test_exp3_digits_training(tmp_path):
    pytest.importorskip("sklearn")
    out = _run("exp3_digits_training", tmp_path)
    res = out["results"]
    zeros = res["zeros"]
    assert max(zeros["val_acc"]) < 0.2  # chance: 10 classes
    assert zeros["loss"][-1] == pytest.approx(np.log(10), abs=0.01)
    he = res["he_normal"]
    assert he["val_acc"][-1] > 0.7 and he["loss"][-1] < he["loss"][0]


def test_exp4_lsuv(tmp_path):
    out = _run("exp4_lsuv", tmp_path)
    assert len(out["lsuv"]) >= 10
    assert out["report"].converged and out["report_centered"].converged
    assert all(abs(std - 1) < 0.05 for _, std in out["lsuv"])
    assert all(abs(mean) < 1e-3 and abs(std - 1) < 1e-3 for mean, std in out["centered"])
    default_std = [std for _, std in out["default"]]
    assert default_std[-1] < 0.2 * default_std[0]  # torch's default shrinks the signal


def test_exp5_he_depth(tmp_path):
    out = _run("exp5_he_depth", tmp_path)
    assert out["ratio_1n"] == pytest.approx(0.5, abs=0.06)
    assert out["ratio_2n"] == pytest.approx(1.0, abs=0.1)
    assert out["var_1n"][-1] / out["var_1n"][0] < 1e-6
