"""Recipes (winit.recipes): each recipe's formulas, unknown names, user rules."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import winit
from winit import recipes
from winit.hf import spec_from_hf_config
from winit.recipes import ModelDims, ParamInfo, apply_recipe, load_rules
from winit.spec import SpecError

LLAMA = {"model_type": "llama", "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96,
         "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
         "initializer_range": 0.03}
GPT2 = {"model_type": "gpt2", "vocab_size": 128, "n_embd": 64, "n_layer": 3, "n_head": 4,
        "n_positions": 32}
MIXTRAL = {**LLAMA, "model_type": "mixtral", "num_local_experts": 2}
GEMMA = {**LLAMA, "model_type": "gemma", "head_dim": 16}


def entries(config, recipe="hf", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = spec_from_hf_config(config, recipe=recipe, **kw)
    return {name: t.to_dict() for name, t in spec.tensors.items()}


def normal(std):
    return {"init": "normal", "std": std}


def test_available_lists_the_four_recipes():
    assert recipes.available() == ["hf", "megatron", "small_init", "torchtitan"]


def test_hf_llama_is_initializer_range_everywhere():
    e = entries(LLAMA)
    for name, entry in e.items():
        body = {k: v for k, v in entry.items() if k != "shape"}
        if name.endswith("norm.weight"):
            assert body == {"init": "ones"}, name
        else:
            assert body == normal(0.03), name


def test_hf_gpt2_scales_c_proj_only():
    e = entries(GPT2)
    proj = 0.02 / math.sqrt(2 * 3)
    assert e["transformer.h.2.attn.c_proj.weight"]["std"] == proj
    assert e["transformer.h.0.mlp.c_proj.weight"]["std"] == proj
    assert e["transformer.h.0.attn.c_attn.weight"]["std"] == 0.02
    assert e["transformer.h.0.mlp.c_fc.weight"]["std"] == 0.02
    assert e["transformer.wpe.weight"]["std"] == 0.02
    assert e["transformer.h.0.attn.c_proj.bias"]["init"] == "zeros"
    assert e["transformer.h.0.ln_1.bias"]["init"] == "zeros"


def test_hf_gemma_norms_start_at_zero():
    e = entries(GEMMA)
    norms = [n for n in e if n.endswith("norm.weight")]
    assert len(norms) == 2 * 4 + 1
    assert all(e[n]["init"] == "zeros" for n in norms)


def test_megatron_scales_attention_and_mlp_outputs():
    e = entries(MIXTRAL, "megatron")
    scaled = 0.03 / math.sqrt(2 * 4)
    assert e["model.layers.1.self_attn.o_proj.weight"]["std"] == scaled
    assert e["model.layers.1.block_sparse_moe.experts.1.w2.weight"]["std"] == scaled
    for name in ("model.layers.1.self_attn.q_proj.weight", "model.embed_tokens.weight",
                 "model.layers.1.block_sparse_moe.experts.1.w1.weight",
                 "model.layers.1.block_sparse_moe.experts.1.w3.weight",
                 "model.layers.1.block_sparse_moe.gate.weight", "lm_head.weight"):
        assert e[name]["std"] == 0.03, name


def test_torchtitan_depth_scaled_truncated_normals():
    e = entries(LLAMA, "torchtitan")
    d = 64

    def tn(std, a=-2.0, b=2.0):
        return {"init": "trunc_normal", "std": std, "a": a, "b": b}

    assert {k: v for k, v in e["model.embed_tokens.weight"].items() if k != "shape"} == \
        normal(1.0)
    for layer in range(4):
        depth = 0.02 / math.sqrt(2 * (layer + 1))
        p = f"model.layers.{layer}."
        for proj in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.gate_proj"):
            assert e[p + proj + ".weight"] == {"shape": e[p + proj + ".weight"]["shape"],
                                               **tn(0.02)}, proj
        for proj in ("self_attn.o_proj", "mlp.up_proj", "mlp.down_proj"):
            assert e[p + proj + ".weight"]["std"] == depth, (layer, proj)
            assert (e[p + proj + ".weight"]["a"], e[p + proj + ".weight"]["b"]) == (-2.0, 2.0)
    head = e["lm_head.weight"]
    assert head["std"] == d ** -0.5
    assert (head["a"], head["b"]) == (-3 * d ** -0.5, 3 * d ** -0.5)


def test_torchtitan_tied_embedding_gets_the_output_rule():
    e = entries({**LLAMA, "tie_word_embeddings": True}, "torchtitan")
    assert "lm_head.weight" not in e
    emb = e["model.embed_tokens.weight"]
    assert (emb["init"], emb["std"], emb["b"]) == ("trunc_normal", 64 ** -0.5, 3 * 64 ** -0.5)


def test_torchtitan_output_layer_values_stay_within_three_std():
    spec = spec_from_hf_config(LLAMA, recipe="torchtitan")
    head = winit.init_model({"lm_head.weight": spec.tensors["lm_head.weight"]}, seed=3,
                            progress=False)["lm_head.weight"]
    bound = 3 * 64 ** -0.5
    assert np.abs(head).max() <= bound
    assert np.abs(head).max() > 0.95 * bound


def test_small_init_is_two_over_five_d():
    e = entries(GPT2, "small_init")
    std = math.sqrt(2 / (5 * 64))
    for name, entry in e.items():
        if entry["init"] == "normal":
            assert entry["std"] == std, name
    assert e["transformer.h.0.attn.c_proj.weight"]["std"] == std
    assert e["transformer.ln_f.weight"]["init"] == "ones"
    assert e["transformer.ln_f.bias"]["init"] == "zeros"


@pytest.mark.parametrize("recipe", ["hf", "megatron", "torchtitan", "small_init"])
def test_every_recipe_keeps_norms_at_identity_and_biases_zero(recipe):
    dims = ModelDims(64, 2)
    assert recipes.resolve_recipe(recipe)(ParamInfo("x.bias", (4,), "attn_out", bias=True),
                                          dims) == {"init": "zeros"}
    assert recipes.resolve_recipe(recipe)(ParamInfo("n.weight", (4,), "norm"),
                                          dims) == {"init": "ones"}
    assert recipes.resolve_recipe(recipe)(ParamInfo("n.weight", (4,), "norm_offset"),
                                          dims) == {"init": "zeros"}


def test_unknown_recipe_suggests_close_names():
    with pytest.raises(ValueError, match=r"Unknown recipe 'megatorn'\. Did you mean 'megatron'"):
        spec_from_hf_config(LLAMA, recipe="megatorn")
    with pytest.raises(ValueError, match="Available: hf, megatron, small_init, torchtitan"):
        recipes.resolve_recipe("xyz")


def test_callable_recipe():
    def xavier(p, dims):
        return {"init": "zeros"} if len(p.shape) == 1 else {"init": "xavier_uniform"}

    spec = spec_from_hf_config(LLAMA, recipe=xavier)
    assert spec.recipe == "xavier"
    assert spec.tensors["model.layers.0.mlp.up_proj.weight"].init == "xavier_uniform"
    assert spec.metadata["winit.recipe"] == "xavier"


# --------------------------------------------------------------------------- user rules


def test_rules_first_match_wins_and_others_keep_the_recipe():
    rules = [{"match": r"\.q_proj\.weight$", "init": "xavier_uniform", "gain": 0.5},
             {"match": r"proj\.weight$", "init": "zeros"},
             {"match": r"norm", "init": "constant", "val": 2.0, "dtype": "float32"}]
    e = entries(LLAMA, rules=rules)
    assert e["model.layers.0.self_attn.q_proj.weight"] == {"shape": [64, 64],
                                                           "init": "xavier_uniform", "gain": 0.5}
    assert e["model.layers.0.self_attn.k_proj.weight"]["init"] == "zeros"
    assert e["model.norm.weight"] == {"shape": [64], "init": "constant", "val": 2.0,
                                      "dtype": "float32"}
    assert e["model.embed_tokens.weight"]["init"] == "normal"


def test_rule_matching_nothing_warns():
    with pytest.warns(UserWarning, match=r"rule match='bias\$' matches no tensor"):
        spec_from_hf_config(LLAMA, rules=[{"match": "bias$", "init": "zeros"}])


def test_rules_from_toml_and_json_files(tmp_path):
    toml = tmp_path / "rules.toml"
    toml.write_text('[[rules]]\nmatch = "lm_head"\ninit = "normal"\nstd = 0.001\n')
    js = tmp_path / "rules.json"
    js.write_text(json.dumps([{"match": "lm_head", "init": "normal", "std": 0.001}]))
    for path in (toml, js, str(js)):
        e = entries(LLAMA, rules=path)
        assert e["lm_head.weight"] == {"shape": [128, 64], "init": "normal", "std": 0.001}


def test_parsed_rules_pass_through():
    parsed = load_rules([{"match": "lm_head", "init": "normal", "std": 0.001}])
    again = load_rules(parsed)
    assert again == parsed and again[0] is parsed[0]
    assert entries(LLAMA, rules=parsed) == entries(
        LLAMA, rules=[{"match": "lm_head", "init": "normal", "std": 0.001}])


@pytest.mark.parametrize("rules, message", [
    ([{"init": "zeros"}], "rule 0, field 'match': expected a non-empty string"),
    ([{"match": "x"}], "rule 0, field 'init': expected a non-empty string"),
    ([{"match": "x", "init": "zeros"}, {"match": "(", "init": "zeros"}],
     "rule 1, field 'match': invalid regex"),
    ([{"match": "x", "init": "normall"}], "rule 0 \\(match 'x'\\): Unknown initializer"),
    ([{"match": "x", "init": "normal", "sdt": 1}], "rule 0 \\(match 'x'\\): normal: unexpected"),
    (["x"], "rule 0: expected a table"),
    ({"rule": []}, "expected a list of rules or a table with the key 'rules'"),
    (42, "rules: expected a list of rules, got int"),
])
def test_bad_rules_name_the_rule(rules, message):
    with pytest.raises(SpecError, match=message) as info:
        load_rules(rules)
    assert "\n" not in str(info.value)


def test_bad_rules_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_rules(tmp_path / "missing.toml")
    bad = tmp_path / "r.toml"
    bad.write_text("[[rules]\n")
    with pytest.raises(SpecError, match="invalid TOML"):
        load_rules(bad)
    yaml = tmp_path / "r.yaml"
    yaml.write_text("")
    with pytest.raises(SpecError, match="must end in .json or .toml"):
        load_rules(yaml)


def test_apply_recipe_keeps_order_and_shapes():
    params = [ParamInfo("b", (3,), "linear", bias=True), ParamInfo("a", (2, 3), "linear")]
    out = apply_recipe(params, ModelDims(3, 1, 0.5))
    assert list(out) == ["b", "a"]
    assert out["a"] == {"shape": [2, 3], "init": "normal", "std": 0.5}
