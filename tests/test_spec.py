"""winit.spec: parsing and checking model specs (mappings, JSON, TOML, bundled, safetensors)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import winit
from winit import spec
from winit.spec import ModelSpec, SpecError, TensorSpec, load_spec, read_spec

BF16 = np.dtype(ml_dtypes.bfloat16)

SPEC = {
    "emb.weight": {"shape": [50, 16], "init": "normal", "std": 0.02},
    "blk.0.w": {"shape": [16, 24], "init": "uniform", "a": -0.1, "b": 0.1},
    "blk.0.b": {"shape": [24], "init": "zeros"},
    "blk.0.ln": {"shape": [16], "init": "ones"},
    "blk.0.t": {"shape": [3, 5, 7], "init": "trunc_normal", "std": 0.5, "a": -1.0, "b": 1.0},
    "head": {"shape": [12, 16], "init": "orthogonal"},
    "scalar": {"shape": [], "init": "constant", "val": 0.5},
}

TOML = textwrap.dedent(
    """
    [__metadata__]
    model = "tiny"
    layers = 1

    ["emb.weight"]
    shape = [50, 16]
    init = "normal"
    std = 0.02

    [blk.0.w]
    shape = [16, 24]
    init = "uniform"
    a = -0.1
    b = 0.1
    dtype = "bfloat16"
    """
)


class TestParsing:
    def test_mapping(self):
        specs = load_spec(SPEC)
        assert list(specs) == list(SPEC)
        assert specs["blk.0.w"].shape == (16, 24)
        assert specs["blk.0.w"].params == {"a": -0.1, "b": 0.1}
        assert specs["scalar"].shape == ()

    def test_json_and_toml_files(self, tmp_path):
        (tmp_path / "s.json").write_text(json.dumps(SPEC))
        (tmp_path / "s.toml").write_text(TOML)
        js = load_spec(tmp_path / "s.json")
        tm = load_spec(str(tmp_path / "s.toml"))
        assert js == load_spec(SPEC)
        assert list(tm) == ["emb.weight", "blk.0.w"]  # nested tables flatten to dotted names
        assert tm["blk.0.w"].dtype == BF16
        assert tm["emb.weight"] == js["emb.weight"]

    def test_tensor_specs_pass_through(self):
        specs = load_spec(SPEC)
        assert load_spec(specs) == specs
        assert load_spec(read_spec(SPEC)) == specs
        model = read_spec(specs)
        assert model.tensors == specs and model.metadata == {}

    def test_tensor_spec_fields(self):
        ts = load_spec({"w": {"shape": [3, 4], "init": "normal", "std": 0.5,
                              "dtype": "bfloat16", "bounds": [1, 2]}})["w"]
        assert ts == TensorSpec("w", (3, 4), "normal", {"std": 0.5, "bounds": (1, 2)}, BF16)
        assert ts.size == 12 and TensorSpec("s", (), "zeros").size == 1
        assert ts.to_dict() == {"shape": [3, 4], "init": "normal", "std": 0.5,
                                "bounds": (1, 2), "dtype": "bfloat16"}
        assert "dtype" not in TensorSpec("s", (2,), "zeros").to_dict()

    def test_dtype_name(self):
        assert spec.dtype_name(BF16) == "bfloat16"
        assert spec.dtype_name(np.dtype(np.float16)) == "float16"
        assert spec.dtype_name(np.dtype(np.float64)) == "float64"

    @pytest.mark.parametrize(
        ("entry", "pattern"),
        [
            ({"init": "normal"}, r"tensor 'x': missing field 'shape'"),
            ({"shape": [3]}, r"tensor 'x': missing field 'init'"),
            ({"shape": 3, "init": "normal"}, r"tensor 'x', field 'shape'"),
            ({"shape": [3, "a"], "init": "normal"}, r"tensor 'x', field 'shape'.*ints"),
            ({"shape": [3, 2.5], "init": "normal"}, r"tensor 'x', field 'shape'"),
            ({"shape": [3, -1], "init": "normal"}, r"tensor 'x', field 'shape'.*negative"),
            ({"shape": [3], "init": 5}, r"tensor 'x', field 'init'"),
            ({"shape": [3], "init": "normal", "dtype": "int32"}, r"tensor 'x', field 'dtype'"),
            ({"shape": [3], "init": "normal", "std": {"a": 1}}, r"tensor 'x', field 'std'"),
            ("normal", r"tensor 'x': entry must be a table"),
        ],
    )
    def test_structure_errors(self, entry, pattern):
        with pytest.raises(SpecError, match=pattern):
            load_spec({"ok": {"shape": [2], "init": "zeros"}, "x": entry})

    def test_file_errors(self, tmp_path):
        with pytest.raises(SpecError, match="no tensors"):
            load_spec({})
        with pytest.raises(SpecError, match="mapping"):
            load_spec([1, 2])
        with pytest.raises(FileNotFoundError):
            load_spec(tmp_path / "missing.json")
        (tmp_path / "bad.json").write_text("{not json")
        with pytest.raises(SpecError, match="invalid JSON"):
            load_spec(tmp_path / "bad.json")
        (tmp_path / "bad.toml").write_text("x = [")
        with pytest.raises(SpecError, match="invalid TOML"):
            load_spec(tmp_path / "bad.toml")
        (tmp_path / "s.yaml").write_text("x: 1")
        with pytest.raises(SpecError, match=r"\.json, \.toml"):
            load_spec(tmp_path / "s.yaml")
        (tmp_path / "d.json").mkdir()
        with pytest.raises(SpecError, match="is a directory"):
            load_spec(tmp_path / "d.json")
        with pytest.raises(SpecError, match="no bundled spec"):
            load_spec("gpt7_huge")
        with pytest.raises(SpecError, match="defined twice"):
            load_spec({"a": {"b": {"shape": [1], "init": "zeros"}},
                       "a.b": {"shape": [1], "init": "zeros"}})
        with pytest.raises(SpecError, match="non-empty strings"):
            load_spec({"": {"shape": [1], "init": "zeros"}})

    @pytest.mark.parametrize(("text", "key"), [
        ('{"w": {"shape": [4], "init": "zeros"}, "w": {"shape": [5], "init": "ones"}}', "w"),
        ('{"w": {"shape": [4], "init": "zeros", "shape": [5]}}', "shape"),
        ('{"__metadata__": {"a": "1", "a": "2"}, "w": {"shape": [4], "init": "zeros"}}', "a"),
    ])
    def test_json_duplicate_keys_are_rejected(self, tmp_path, text, key):
        """JSON kept the last of two equal keys silently (TOML rejects them)."""
        p = tmp_path / "dup.json"
        p.write_text(text)
        where = re.escape(str(p))
        with pytest.raises(SpecError, match=rf"^{where}: duplicate key '{key}' \(a JSON object "
                           r"must name each key once\)$"):
            read_spec(p)
        with pytest.raises(SpecError, match="duplicate key"):
            load_spec(p)
        (tmp_path / "dup.toml").write_text('[w]\nshape = [4]\ninit = "zeros"\nshape = [5]\n')
        with pytest.raises(SpecError, match="invalid TOML"):
            load_spec(tmp_path / "dup.toml")

    @pytest.mark.parametrize("name", ["latin1.json", "latin1.toml"])
    def test_non_utf8_files_are_named(self, tmp_path, name):
        p = tmp_path / name
        body = ('{"w": {"shape": [4],\n "init": "zeros", "note": "caf\u00e9"}}' if name.endswith(
            ".json") else '[w]\nshape = [4]\ninit = "zeros"\nnote = "caf\u00e9"\n')
        p.write_bytes(body.encode("latin-1"))
        line = 2 if name.endswith(".json") else 4
        where = re.escape(str(p))
        with pytest.raises(SpecError, match=rf"^{where}: not UTF-8 text \(byte 0xe9 on line "
                           rf"{line}\); save the spec as UTF-8$"):
            load_spec(p)
        p.write_bytes(body.encode("utf-8"))
        assert load_spec(p)["w"].params == {"note": "caf\u00e9"}


class TestMetadata:
    def test_every_format(self, tmp_path):
        meta = {"model": "tiny", "layers": 1}
        want = {"model": "tiny", "layers": "1"}
        (tmp_path / "s.json").write_text(json.dumps({"__metadata__": meta, **SPEC}))
        (tmp_path / "s.toml").write_text(TOML)
        for source in ({"__metadata__": meta, **SPEC}, tmp_path / "s.json",
                       str(tmp_path / "s.toml")):
            model = read_spec(source)
            assert isinstance(model, ModelSpec)
            assert model.metadata == want, source
            assert "__metadata__" not in model.tensors
        assert read_spec(SPEC).metadata == {}
        assert read_spec(SPEC).tensors == load_spec(SPEC)

    def test_bundled(self):
        model = read_spec("gpt2_small")
        assert model.metadata["model"] == "gpt2-small"
        assert read_spec(model) is model

    def test_bad_metadata(self):
        bad = {"__metadata__": ["not", "a", "table"], **SPEC}
        with pytest.raises(SpecError, match="'__metadata__' must be a mapping"):
            read_spec(bad)
        assert list(load_spec(bad)) == list(SPEC)  # load_spec reads the tensors only


class TestBundled:
    def test_gpt2_small(self):
        specs = load_spec("gpt2_small")
        assert len(specs) == 148
        assert sum(s.size for s in specs.values()) == 124_439_808
        assert specs["wte.weight"].shape == (50257, 768)
        assert specs["h.11.attn.c_attn.weight"].shape == (768, 2304)
        assert specs["h.3.mlp.c_proj.weight"].params["std"] == pytest.approx(0.02 / np.sqrt(24))
        assert specs["h.3.attn.c_proj.weight"].params["std"] == pytest.approx(0.02 / np.sqrt(24))
        assert specs["h.0.mlp.c_fc.weight"].params["std"] == 0.02
        assert specs["ln_f.weight"].init == "ones" and specs["h.5.ln_2.bias"].init == "zeros"
        assert spec.default_spec_path().is_file()
        assert load_spec(spec.gpt2_spec()) == specs
        xl = load_spec(spec.gpt2_spec(48, 1600))
        assert sum(s.size for s in xl.values()) == 1_557_611_200

    def test_bundled_name(self, tmp_path, monkeypatch):
        assert spec.bundled_name("gpt2_small") == "gpt2_small"
        assert spec.bundled_name("gpt7_huge") == "gpt7_huge"  # existence: default_spec_path
        assert spec.bundled_name("spec.json") is None
        assert spec.bundled_name(Path("gpt2_small")) is None
        assert spec.bundled_name(SPEC) is None
        monkeypatch.chdir(tmp_path)
        (tmp_path / "gpt2_small").mkdir()  # an existing path is a path, not a name
        assert spec.bundled_name("gpt2_small") is None

    def test_default_spec_path(self):
        assert spec.default_spec_path("gpt2_small").name == "gpt2_small.json"
        with pytest.raises(SpecError, match=r"no bundled spec named 'x'; available: gpt2_small"):
            spec.default_spec_path("x")


def test_guess_init():
    assert spec.guess_init("h.0.attn.c_attn.bias", (2304,)) == {"init": "zeros"}
    assert spec.guess_init("ln.beta", (8,)) == {"init": "zeros"}
    assert spec.guess_init("ln.Bias", (8,)) == {"init": "zeros"}
    assert spec.guess_init("ln_f.weight", (768,)) == {"init": "ones"}
    assert spec.guess_init("scale", ()) == {"init": "ones"}
    assert spec.guess_init("fc.bias", (3, 4)) == {"init": "normal", "std": 0.02}


class TestFromSafetensors:
    """Reading a checkpoint's header needs the safetensors library (the ``io`` extra)."""

    @pytest.fixture(autouse=True)
    def _needs_safetensors(self):
        pytest.importorskip("safetensors", reason="spec_from_safetensors reads the header "
                            "through the safetensors library")

    def test_shapes_dtypes_and_guessed_schemes(self, tmp_path):
        full = dict(SPEC)
        full["b16"] = {"shape": [4, 4], "init": "normal", "dtype": "bfloat16"}
        path = tmp_path / "m.safetensors"
        winit.init_model(full, path, progress=False)
        back = spec.spec_from_safetensors(path)
        assert set(back) == set(full)
        for k, e in full.items():
            assert back[k]["shape"] == e["shape"]
        assert back["b16"]["dtype"] == "bfloat16" and back["head"]["dtype"] == "float32"
        assert back["blk.0.b"]["init"] == "zeros" and back["blk.0.ln"]["init"] == "ones"
        assert back["emb.weight"] == {"shape": [50, 16], "init": "normal", "std": 0.02,
                                      "dtype": "float32"}
        uni = spec.spec_from_safetensors(path, init={"init": "zeros"}, dtypes=False)
        assert all(e == {"shape": full[k]["shape"], "init": "zeros"} for k, e in uni.items())
        # a checkpoint path works as a spec, too (no metadata of its own)
        model = read_spec(path)
        assert model.metadata == {} and set(model.tensors) == set(full)
        assert model.tensors["b16"].dtype == BF16

    def test_errors(self, tmp_path):
        from safetensors.numpy import save_file

        bad = tmp_path / "bad.safetensors"
        bad.write_bytes(b"\x00" * 3)
        with pytest.raises(SpecError, match="not a readable safetensors"):
            spec.spec_from_safetensors(bad)
        with pytest.raises(FileNotFoundError):
            spec.spec_from_safetensors(tmp_path / "none.safetensors")
        ints = tmp_path / "ints.safetensors"
        save_file({"i": np.arange(4, dtype=np.int32)}, str(ints))
        with pytest.raises(SpecError, match=r"tensor 'i': dtype I32 is not a float dtype"):
            spec.spec_from_safetensors(ints)
        assert spec.spec_from_safetensors(ints, dtypes=False) == {
            "i": {"shape": [4], "init": "ones"}}


def test_api_md_module_homes_reach_hf_recipes_and_verify():
    """API.md lists HF configs/recipes under winit.spec and verify under winit.checkpoint."""
    import importlib

    from winit import checkpoint, hf, recipes, spec

    verify_module = importlib.import_module("winit.verify")  # winit.verify is the function
    assert spec.spec_from_hf_config is hf.spec_from_hf_config is winit.spec_from_hf_config
    assert spec.apply_recipe is recipes.apply_recipe
    assert checkpoint.verify is verify_module.verify is winit.verify
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        spec.nope  # noqa: B018
