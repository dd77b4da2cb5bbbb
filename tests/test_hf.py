"""Hugging Face configurations -> specs (winit.hf).

The first half needs neither torch nor transformers (the built-in families work without
them); the second half compares with transformers' own models and skips without it.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

import winit
from winit.hf import BUILTIN_FAMILIES, HFSpec, hf_params, spec_from_hf_config, tinyllama_config
from winit.spec import BFLOAT16, SpecError, gpt2_spec

SMALL = {"vocab_size": 128, "hidden_size": 64, "intermediate_size": 96,
         "num_hidden_layers": 2, "num_attention_heads": 4}

# (family, config): tied and untied, GQA, biases, explicit head_dim, for every family
CONFIGS = [
    {"model_type": "gpt2", "vocab_size": 128, "n_embd": 64, "n_layer": 2, "n_head": 4,
     "n_positions": 32},
    {"model_type": "gpt2", "vocab_size": 128, "n_embd": 64, "n_layer": 2, "n_head": 4,
     "n_positions": 32, "n_inner": 80, "tie_word_embeddings": False},
    {**SMALL, "model_type": "llama"},
    {**SMALL, "model_type": "llama", "num_key_value_heads": 2, "attention_bias": True,
     "mlp_bias": True, "tie_word_embeddings": True},
    {**SMALL, "model_type": "llama", "num_key_value_heads": 1, "head_dim": 32},
    {**SMALL, "model_type": "mistral", "num_key_value_heads": 2},
    {**SMALL, "model_type": "mistral", "num_key_value_heads": 1, "head_dim": 8,
     "tie_word_embeddings": True},
    {**SMALL, "model_type": "qwen2", "num_key_value_heads": 2},
    {**SMALL, "model_type": "qwen2", "num_key_value_heads": 4, "tie_word_embeddings": True},
    {**SMALL, "model_type": "qwen3", "num_key_value_heads": 2},
    {**SMALL, "model_type": "qwen3", "num_key_value_heads": 2, "head_dim": 16,
     "attention_bias": True, "tie_word_embeddings": True},
    {**SMALL, "model_type": "gemma", "num_key_value_heads": 2},
    {**SMALL, "model_type": "gemma", "num_key_value_heads": 1, "head_dim": 16,
     "attention_bias": True, "tie_word_embeddings": False},
    {**SMALL, "model_type": "mixtral", "num_key_value_heads": 2, "num_local_experts": 3},
    {**SMALL, "model_type": "mixtral", "num_key_value_heads": 4, "num_local_experts": 2,
     "tie_word_embeddings": True},
]
IDS = [f"{c['model_type']}-{i}" for i, c in enumerate(CONFIGS)]
TINYLLAMA_PARAMS = 1_100_048_384


def shapes(spec):
    return {name: t.shape for name, t in spec.tensors.items()}


@pytest.fixture
def no_transformers(monkeypatch):
    """Make ``import torch`` and ``import transformers`` fail, as on a bare install."""
    for mod in list(sys.modules):
        if mod.split(".")[0] in ("torch", "transformers"):
            monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "transformers", None)


# --------------------------------------------------------------------------- no transformers


def test_builtin_families():
    assert BUILTIN_FAMILIES == ("gemma", "gpt2", "llama", "mistral", "mixtral", "qwen2", "qwen3")


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_builtin_families_need_no_transformers(config, no_transformers):
    spec = spec_from_hf_config(config)
    assert spec.builtin and spec.model_type == config["model_type"]
    tied = config.get("tie_word_embeddings", config["model_type"] in ("gpt2", "gemma"))
    assert ("lm_head.weight" in spec.tensors) is not tied
    arrays = winit.init_model(spec, seed=0, progress=False)
    assert {k: v.shape for k, v in arrays.items()} == shapes(spec)


def test_llama_gqa_shapes_and_biases():
    spec = spec_from_hf_config({**SMALL, "model_type": "llama", "num_key_value_heads": 2,
                                "head_dim": 8, "attention_bias": True})
    s = shapes(spec)
    p = "model.layers.1.self_attn."
    assert s[p + "q_proj.weight"] == (32, 64) and s[p + "q_proj.bias"] == (32,)
    assert s[p + "k_proj.weight"] == (16, 64) and s[p + "v_proj.bias"] == (16,)
    assert s[p + "o_proj.weight"] == (64, 32) and s[p + "o_proj.bias"] == (64,)
    assert s["model.layers.1.mlp.down_proj.weight"] == (64, 96)
    assert "model.layers.1.mlp.down_proj.bias" not in s
    assert list(s)[:3] == ["model.embed_tokens.weight", p.replace("1", "0") + "q_proj.weight",
                           p.replace("1", "0") + "q_proj.bias"]
    assert list(s)[-2:] == ["model.norm.weight", "lm_head.weight"]


def test_qwen2_has_qkv_biases_only():
    s = shapes(spec_from_hf_config({**SMALL, "model_type": "qwen2", "num_key_value_heads": 2}))
    biases = sorted(n.split(".")[-2] for n in s if n.endswith("bias") and ".0." in n)
    assert biases == ["k_proj", "q_proj", "v_proj"]
    assert s["model.layers.0.self_attn.k_proj.bias"] == (32,)


def test_qwen3_and_gemma_head_dim_defaults():
    # transformers' defaults: Qwen3Config.head_dim = 128, GemmaConfig.head_dim = 256
    q = shapes(spec_from_hf_config({**SMALL, "model_type": "qwen3", "num_key_value_heads": 2}))
    assert q["model.layers.0.self_attn.q_proj.weight"] == (4 * 128, 64)
    assert q["model.layers.0.self_attn.q_norm.weight"] == (128,)
    assert q["model.layers.0.self_attn.k_norm.weight"] == (128,)
    g = spec_from_hf_config({**SMALL, "model_type": "gemma", "num_key_value_heads": 2})
    assert shapes(g)["model.layers.0.self_attn.k_proj.weight"] == (2 * 256, 64)
    assert "lm_head.weight" not in g.tensors  # Gemma ties by default
    assert g.tensors["model.norm.weight"].init == "zeros"  # x * (1 + w)


def test_mixtral_experts_in_hub_layout():
    s = shapes(spec_from_hf_config({**SMALL, "model_type": "mixtral", "num_local_experts": 3,
                                    "num_key_value_heads": 2}))
    p = "model.layers.1.block_sparse_moe."
    assert s[p + "gate.weight"] == (3, 64)
    assert s[p + "experts.2.w1.weight"] == (96, 64)
    assert s[p + "experts.2.w2.weight"] == (64, 96)
    assert s[p + "experts.2.w3.weight"] == (96, 64)
    assert not any(".mlp." in n for n in s)


def test_gpt2_hf_recipe_is_the_bundled_gpt2_spec():
    cfg = {"model_type": "gpt2", "vocab_size": 50257, "n_embd": 768, "n_layer": 12,
           "n_head": 12, "n_positions": 1024}
    spec = spec_from_hf_config(cfg)
    ours = {name: t.to_dict() for name, t in spec.tensors.items()}
    assert ours == {"transformer." + k: v for k, v in gpt2_spec().items()}
    assert list(ours) == ["transformer." + k for k in gpt2_spec()]


def test_tinyllama_parameter_count():
    spec = spec_from_hf_config(tinyllama_config())
    assert spec.num_parameters == TINYLLAMA_PARAMS
    assert len(spec.tensors) == 1 + 22 * 9 + 2
    assert spec.dtype == BFLOAT16  # the config's torch_dtype
    assert all(t.dtype == BFLOAT16 for t in spec.tensors.values())


def test_dtype_argument():
    cfg = {**SMALL, "model_type": "llama", "torch_dtype": "float16"}
    assert spec_from_hf_config(cfg).dtype == np.float16
    assert spec_from_hf_config({**cfg, "dtype": "bfloat16"}).dtype == BFLOAT16  # 5.x name first
    none = spec_from_hf_config(cfg, dtype=None)
    assert none.dtype is None and all(t.dtype is None for t in none.tensors.values())
    assert spec_from_hf_config(cfg, dtype="float64").dtype == np.float64
    arrays = winit.init_model(none, dtype="bfloat16", progress=False)
    assert arrays["model.norm.weight"].dtype == BFLOAT16


def test_config_from_file_directory_and_transformers_style_object(tmp_path):
    cfg = {**SMALL, "model_type": "qwen2", "num_key_value_heads": 2}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    expected = shapes(spec_from_hf_config(cfg))
    assert shapes(spec_from_hf_config(tmp_path)) == expected
    assert shapes(spec_from_hf_config(str(tmp_path / "config.json"))) == expected

    class Config:  # duck-typed transformers.PretrainedConfig
        model_type = "qwen2"

        def to_dict(self):
            return dict(cfg)

    assert shapes(spec_from_hf_config(Config())) == expected


def test_spec_is_a_modelspec_with_config_and_metadata(tmp_path):
    pytest.importorskip("safetensors")
    from safetensors import safe_open

    cfg = {**SMALL, "model_type": "mistral", "num_key_value_heads": 2}
    spec = spec_from_hf_config(cfg, recipe="megatron")
    assert isinstance(spec, HFSpec) and isinstance(spec, winit.spec.ModelSpec)
    assert spec.config == cfg and spec.recipe == "megatron"
    assert winit.load_spec(spec) == spec.tensors
    assert winit.load_spec(spec.to_dict()) == spec.tensors
    out = winit.init_model(spec, tmp_path / "model.safetensors", progress=False)
    with safe_open(str(out), framework="numpy") as f:
        meta = f.metadata()
        assert list(f.keys()) == sorted(spec.tensors)
    assert meta["winit.recipe"] == "megatron" and meta["winit.hf_model_type"] == "mistral"
    assert meta["format"] == "pt"


def test_hf_params_for_custom_recipes():
    params, dims = hf_params({**SMALL, "model_type": "llama"})
    assert (dims.hidden_size, dims.num_layers, dims.init_std) == (64, 2, 0.02)
    roles = {p.name: p.role for p in params}
    assert roles["model.layers.0.self_attn.o_proj.weight"] == "attn_out"
    assert roles["model.layers.0.mlp.up_proj.weight"] == "mlp_up"
    assert roles["lm_head.weight"] == "lm_head"
    assert [p.layer for p in params if p.name.startswith("model.layers.1.")] == [1] * 9


# --------------------------------------------------------------------------- bad input

BAD = [
    ({"vocab_size": 8}, "config: missing field 'model_type'"),
    ({**SMALL, "model_type": "llama", "hidden_size": None},
     "config: missing field 'hidden_size' \\(needed by the llama family\\)"),
    ({k: v for k, v in SMALL.items() if k != "intermediate_size"} | {"model_type": "qwen3"},
     "missing field 'intermediate_size'"),
    ({**SMALL, "model_type": "mixtral"}, "missing field 'num_local_experts'"),
    ({"model_type": "gpt2", "vocab_size": 8, "n_embd": 8, "n_layer": 1, "n_head": 2},
     "missing field 'n_positions'"),
    ({**SMALL, "model_type": "llama", "num_hidden_layers": 0},
     "config field 'num_hidden_layers': expected a positive integer, got 0"),
    ({**SMALL, "model_type": "gemma", "vocab_size": -5}, "field 'vocab_size'.*got -5"),
    ({**SMALL, "model_type": "mistral", "hidden_size": 64.0}, "field 'hidden_size'.*got 64.0"),
    ({**SMALL, "model_type": "llama", "num_attention_heads": True},
     "field 'num_attention_heads'.*got True"),
    ({**SMALL, "model_type": "qwen2", "head_dim": 0}, "field 'head_dim'.*got 0"),
    ({**SMALL, "model_type": "mistral", "num_attention_heads": 6},
     "field 'num_attention_heads': 6 heads do not divide hidden_size 64 \\(give head_dim\\)"),
    ({**SMALL, "model_type": "llama", "num_attention_heads": 6, "head_dim": 8},
     "field 'num_attention_heads': 6 heads do not divide"),  # LlamaConfig checks it always
    ({"model_type": "gpt2", "vocab_size": 8, "n_embd": 10, "n_layer": 1, "n_head": 4,
      "n_positions": 4}, "field 'n_head': 4 heads do not divide n_embd 10"),
    ({**SMALL, "model_type": "mistral"},  # MistralConfig defaults to 8 key/value heads
     "field 'num_key_value_heads': 8 key/value heads do not divide num_attention_heads 4"),
    ({**SMALL, "model_type": "qwen3", "num_key_value_heads": 3}, "field 'num_key_value_heads'"),
    ({**SMALL, "model_type": "llama", "torch_dtype": "float8_e4m3fn"},
     "field 'torch_dtype': dtype 'float8_e4m3fn' is not one winit writes"),
    ({**SMALL, "model_type": "llama", "dtype": "bfloat17"}, "config field 'dtype'"),
    ({**SMALL, "model_type": "llama", "tie_word_embeddings": "yes"},
     "field 'tie_word_embeddings': expected true or false"),
    ({**SMALL, "model_type": "qwen3", "num_key_value_heads": 2, "attention_bias": 1},
     "field 'attention_bias'"),
    ({**SMALL, "model_type": "llama", "initializer_range": -0.1},
     "field 'initializer_range': expected a number >= 0"),
]


@pytest.mark.parametrize("config, message", BAD)
def test_bad_configs_one_line_naming_the_field(config, message, tmp_path):
    with pytest.raises(SpecError, match=message) as info:
        winit.init_model(spec_from_hf_config(config), tmp_path / "model.safetensors")
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_bad_dtype_argument():
    with pytest.raises(SpecError, match="^dtype: unsupported dtype"):
        spec_from_hf_config({**SMALL, "model_type": "llama"}, dtype="int8")


def test_bad_config_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        spec_from_hf_config(tmp_path)
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(SpecError, match="invalid JSON"):
        spec_from_hf_config(tmp_path)
    (tmp_path / "config.json").write_text("[]")
    with pytest.raises(SpecError, match="expected a JSON object, got list"):
        spec_from_hf_config(tmp_path / "config.json")
    with pytest.raises(SpecError, match="config must be a dict"):
        spec_from_hf_config(42)


def test_other_architectures_without_transformers(no_transformers):
    with pytest.raises(SpecError) as info:
        spec_from_hf_config({**SMALL, "model_type": "phi"})
    msg = str(info.value)
    assert "config field 'model_type': 'phi' is not built in" in msg
    assert "gemma, gpt2, llama, mistral, mixtral, qwen2, qwen3" in msg
    assert "need transformers and torch" in msg and "\n" not in msg
    with pytest.raises(SpecError, match="'add_cross_attention': not supported by the built-in"):
        spec_from_hf_config({**CONFIGS[0], "add_cross_attention": True})


# --------------------------------------------------------------------------- against transformers


@pytest.fixture
def transformers():
    pytest.importorskip("torch", reason="comparing with transformers needs torch")
    tf = pytest.importorskip("transformers", reason="comparing with transformers needs it")
    tf.logging.set_verbosity_error()
    return tf


def _model(tf, config, meta=False):
    import torch

    tcfg = tf.AutoConfig.for_model(**config)
    if meta:
        with torch.device("meta"):
            return tf.AutoModelForCausalLM.from_config(tcfg)
    return tf.AutoModelForCausalLM.from_config(tcfg)


def _saved_shapes(model, tmp_path):
    from safetensors import safe_open

    model.save_pretrained(tmp_path / "saved")
    with safe_open(str(tmp_path / "saved" / "model.safetensors"), framework="pt") as f:
        return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_names_and_shapes_equal_transformers(config, transformers, tmp_path):
    spec = spec_from_hf_config(config)
    model = _model(transformers, config)
    assert shapes(spec) == _saved_shapes(model, tmp_path)
    if config["model_type"] != "mixtral":  # transformers 5.x fuses the experts in memory
        sd = model.state_dict()
        tied = set(getattr(model, "_tied_weights_keys", None) or ()) if \
            model.config.tie_word_embeddings else set()
        assert list(spec.tensors) == [k for k in sd if k not in tied]
        assert shapes(spec) == {k: tuple(v.shape) for k, v in sd.items() if k not in tied}


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_checkpoint_loads_with_from_pretrained(config, transformers, tmp_path):
    import torch

    spec = spec_from_hf_config(config)
    winit.init_model(spec, tmp_path / "model.safetensors", seed=5, progress=False)
    (tmp_path / "config.json").write_text(json.dumps(config))
    model, info = transformers.AutoModelForCausalLM.from_pretrained(
        tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    ours = winit.init_model(spec, seed=5, progress=False)
    name = "model.embed_tokens.weight" if "model.embed_tokens.weight" in ours else \
        "transformer.wte.weight"
    np.testing.assert_array_equal(model.state_dict()[name].to(torch.float32).numpy(), ours[name])


def _check_distribution(name, ours, theirs):
    """transformers' fresh tensor against our entry: constants exactly, normals by moments."""
    if ours.init in ("zeros", "ones"):
        np.testing.assert_array_equal(theirs, 0.0 if ours.init == "zeros" else 1.0, err_msg=name)
        return
    assert ours.init == "normal", name
    std, n = ours.params["std"], theirs.size
    # a few standard errors: the sample std's is std / sqrt(2n), the mean's std / sqrt(n)
    assert abs(theirs.std() / std - 1) < 6 / math.sqrt(2 * n), (name, theirs.std(), std)
    assert abs(theirs.mean()) < 6 * std / math.sqrt(n), name


@pytest.mark.parametrize("config", [
    {**c, "initializer_range": 0.05} if i % 2 else c for i, c in enumerate(CONFIGS)], ids=IDS)
def test_hf_recipe_matches_transformers_init(config, transformers):
    import torch

    spec = spec_from_hf_config(config)
    torch.manual_seed(1234)
    model = _model(transformers, config)
    if config["model_type"] == "mixtral":  # fused in memory: compare per fused tensor
        sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
        e = spec.tensors["model.layers.0.block_sparse_moe.experts.0.w1.weight"]
        _check_distribution("gate_up_proj", e, sd["model.layers.0.mlp.experts.gate_up_proj"])
        e = spec.tensors["model.layers.0.block_sparse_moe.experts.0.w2.weight"]
        _check_distribution("down_proj", e, sd["model.layers.0.mlp.experts.down_proj"])
        e = spec.tensors["model.layers.0.block_sparse_moe.gate.weight"]
        _check_distribution("router", e, sd["model.layers.0.mlp.gate.weight"])
        names = [n for n in spec.tensors if "block_sparse_moe" not in n]
    else:
        sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
        names = list(spec.tensors)
    for name in names:
        _check_distribution(name, spec.tensors[name], sd[name])


def test_tinyllama_count_equals_transformers_meta_model(transformers):
    model = _model(transformers, tinyllama_config(), meta=True)
    spec = spec_from_hf_config(tinyllama_config())
    assert spec.num_parameters == sum(p.numel() for p in model.parameters()) == TINYLLAMA_PARAMS
    assert shapes(spec) == {k: tuple(v.shape) for k, v in model.state_dict().items()}


# other architectures: read from transformers' meta-device model
FALLBACK = [
    {**SMALL, "model_type": "gemma2", "num_key_value_heads": 2, "head_dim": 16},
    {**SMALL, "model_type": "phi"},
    {**SMALL, "model_type": "gpt_neox", "tie_word_embeddings": False},
    {"model_type": "gpt2", "vocab_size": 128, "n_embd": 64, "n_layer": 1, "n_head": 4,
     "n_positions": 32, "add_cross_attention": True},
]


@pytest.mark.parametrize("config", FALLBACK, ids=[c["model_type"] for c in FALLBACK])
def test_other_architectures_through_transformers(config, transformers, tmp_path):
    import torch

    spec = spec_from_hf_config(config)
    assert not spec.builtin and not spec.guessed
    model = _model(transformers, config)
    sd = model.state_dict()
    assert shapes(spec) == _saved_shapes(model, tmp_path)
    winit.init_model(spec, tmp_path / "model.safetensors", progress=False)
    (tmp_path / "config.json").write_text(json.dumps(config))
    _, info = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    torch.manual_seed(0)
    fresh = {k: v.detach().float().numpy() for k, v in _model(transformers, config)
             .state_dict().items()}
    for name, t in spec.tensors.items():
        if t.init in ("zeros", "ones"):  # norms (gemma2: x * (1 + w) -> 0), biases
            _check_distribution(name, t, fresh[name])
    del sd


def test_fallback_guesses_unknown_module_types(transformers, tmp_path):
    config = {**SMALL, "model_type": "qwen2_moe", "num_key_value_heads": 2, "num_experts": 4,
              "moe_intermediate_size": 32, "shared_expert_intermediate_size": 48}
    with pytest.warns(UserWarning, match="parameters of module types winit does not know"):
        spec = spec_from_hf_config(config, recipe="megatron")
    # transformers 5.x fuses the experts in memory and save_pretrained splits them again
    down = "model.layers.1.mlp.experts.3.down_proj.weight"
    assert down in spec.guessed
    assert "model.layers.1.mlp.shared_expert.down_proj.weight" not in spec.guessed  # nn.Linear
    assert spec.tensors[down].params["std"] == 0.02 / math.sqrt(2 * 2)  # output projection
    assert spec.tensors["model.layers.1.mlp.experts.3.up_proj.weight"].params["std"] == 0.02
    assert shapes(spec) == _saved_shapes(_model(transformers, config), tmp_path)


def test_fallback_errors(transformers):
    with pytest.raises(SpecError, match="'not_a_model' is neither built in .* nor known to "
                                        "transformers"):
        spec_from_hf_config({"model_type": "not_a_model"})
    with pytest.raises(SpecError, match="transformers cannot build a causal LM from this 'vit'"):
        spec_from_hf_config({"model_type": "vit"})
