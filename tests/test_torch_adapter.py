"""winit.torch: torch's default init (seeded), LSUV with hooks, diagnostics, numpy views."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="winit.torch needs torch (pip install winit[torch])")
stats = pytest.importorskip("scipy.stats")

import ml_dtypes  # noqa: E402
from conftest import run_python  # noqa: E402

import winit  # noqa: E402
import winit.torch as wt  # noqa: E402
from winit import nn  # noqa: E402
from winit._common import Key, derive_key, resolve_key  # noqa: E402

tnn = torch.nn


def _key(seed, name):
    return Key(derive_key(resolve_key(seed), name))


def _poison(module):
    """NaN in every parameter and nonsense in every float buffer, so nothing stays by chance."""
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(float("nan"))
        for b in module.buffers():
            b.fill_(7)


# --------------------------------------------------------------------------- as_numpy


class TestAsNumpy:
    @pytest.mark.parametrize("dtype, npdtype", [(torch.float16, np.float16),
                                                (torch.float32, np.float32),
                                                (torch.float64, np.float64),
                                                (torch.bfloat16, ml_dtypes.bfloat16)])
    def test_view_shares_memory(self, dtype, npdtype):
        t = tnn.Parameter(torch.zeros(3, 4, dtype=dtype))
        a = wt.as_numpy(t)
        assert a.dtype == np.dtype(npdtype) and a.shape == (3, 4)
        a[1, 2] = 1.5
        assert t[1, 2].item() == 1.5 and t.sum().item() == 1.5

    def test_strided_view(self):
        t = torch.zeros(4, 6)[:, ::2]
        wt.as_numpy(t)[...] = 2.0
        assert torch.equal(t, torch.full((4, 3), 2.0))

    def test_errors(self):
        with pytest.raises(ValueError, match="w is on device meta"):
            wt.as_numpy(torch.empty(2, device="meta"), "w")
        with pytest.raises(TypeError, match="dtype torch.int64"):
            wt.as_numpy(torch.zeros(2, dtype=torch.int64))
        with pytest.raises(TypeError, match="must be a torch.Tensor, got ndarray"):
            wt.as_numpy(np.zeros(2))
        with pytest.raises(ValueError, match="uninitialized parameter of a lazy module"):
            wt.as_numpy(tnn.LazyLinear(3).weight)


def test_without_torch_the_import_error_says_what_to_install():
    r = run_python(["-c", "import sys; sys.modules['torch'] = None; import winit.torch"])
    assert r.returncode != 0
    assert "winit.torch needs torch" in r.stderr and "pip install 'winit[torch]'" in r.stderr


def test_import_winit_does_not_import_torch_adapter():
    r = run_python(["-c", "import sys, winit; print('winit.torch' in sys.modules, "
                          "'torch' in sys.modules)"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- reset_parameters_


def _transformer():
    return tnn.Transformer(d_model=32, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=64, dropout=0.0, batch_first=True)


MODULES = {
    "Linear": lambda: tnn.Linear(300, 200),
    "Conv1d": lambda: tnn.Conv1d(16, 32, 5),
    "Conv2d": lambda: tnn.Conv2d(16, 32, 3),
    "Conv3d": lambda: tnn.Conv3d(8, 16, 3),
    "ConvTranspose1d": lambda: tnn.ConvTranspose1d(16, 32, 5),
    "ConvTranspose2d": lambda: tnn.ConvTranspose2d(16, 32, 3, groups=2),
    "ConvTranspose3d": lambda: tnn.ConvTranspose3d(8, 16, 3),
    "Bilinear": lambda: tnn.Bilinear(20, 30, 40),
    "Embedding": lambda: tnn.Embedding(500, 64, padding_idx=3),
    "EmbeddingBag": lambda: tnn.EmbeddingBag(500, 64),
    "LayerNorm": lambda: tnn.LayerNorm(64),
    "RMSNorm": lambda: tnn.RMSNorm(64),
    "GroupNorm": lambda: tnn.GroupNorm(4, 64),
    "BatchNorm2d": lambda: tnn.BatchNorm2d(64),
    "InstanceNorm1d": lambda: tnn.InstanceNorm1d(8, affine=True, track_running_stats=True),
    "MultiheadAttention": lambda: tnn.MultiheadAttention(64, 4),
    "MultiheadAttention-kv": lambda: tnn.MultiheadAttention(64, 4, kdim=32, vdim=48,
                                                            add_bias_kv=True),
    "MultiheadAttention-nobias": lambda: tnn.MultiheadAttention(64, 4, bias=False),
    "RNN": lambda: tnn.RNN(32, 64),
    "LSTM": lambda: tnn.LSTM(32, 64, num_layers=2),
    "LSTM-proj": lambda: tnn.LSTM(32, 64, proj_size=16),
    "GRU": lambda: tnn.GRU(32, 64, bidirectional=True),
    "LSTMCell": lambda: tnn.LSTMCell(32, 64),
    "GRUCell": lambda: tnn.GRUCell(32, 64),
    "PReLU": lambda: tnn.PReLU(8),
    "Transformer": _transformer,
    "Sequential": lambda: tnn.Sequential(tnn.Conv2d(3, 64, 3), tnn.BatchNorm2d(64), tnn.ReLU(),
                                         tnn.Flatten(), tnn.Linear(64 * 9, 100)),
}


class TestResetParametersMatchesTorch:
    @pytest.mark.parametrize("kind", list(MODULES))
    def test_same_distributions_as_torch(self, kind):
        torch.manual_seed(1234)
        reference = MODULES[kind]()          # torch's own reset_parameters ran here
        ours = copy.deepcopy(reference)
        _poison(ours)
        assert wt.reset_parameters_(ours, seed=5) is ours
        ref_state, our_state = reference.state_dict(), ours.state_dict()
        assert list(ref_state) == list(our_state)
        for name, ref in ref_state.items():
            got = our_state[name]
            assert got.dtype == ref.dtype and got.shape == ref.shape, name
            constant = ref.numel() == 0 or bool((ref == ref.flatten()[0]).all())
            if not got.is_floating_point() or constant:
                assert torch.equal(got, ref), name   # constants, running stats, counters
                continue
            r = ref.flatten().double().numpy()
            g = got.flatten().double().numpy()
            assert np.isfinite(g).all(), name
            p = stats.ks_2samp(g, r).pvalue
            assert p > 1e-4, (name, p)

    def test_bounds_are_torchs(self):
        m = tnn.Conv2d(16, 32, 3)
        wt.reset_parameters_(m, seed=0)
        bound = 1 / math.sqrt(16 * 9)      # kaiming_uniform_(a=sqrt(5)) and the bias: both
        for p in (m.weight, m.bias):
            assert p.abs().max().item() <= bound and p.abs().max().item() > 0.95 * bound

    def test_embedding_padding_row_is_zero_and_the_rest_standard_normal(self):
        m = tnn.Embedding(2000, 50, padding_idx=7)
        wt.reset_parameters_(m, seed=3)
        w = m.weight.detach().numpy()
        assert not w[7].any()
        rest = np.delete(w, 7, axis=0).ravel()
        assert stats.kstest(rest, "norm").pvalue > 1e-4

    def test_mha_out_proj_follows_mha_then_linear(self):
        m = tnn.MultiheadAttention(64, 4)
        _poison(m)
        wt.reset_parameters_(m, seed=2)
        assert not m.in_proj_bias.any() and not m.out_proj.bias.any()
        w = m.out_proj.weight.detach().numpy()
        ref = winit.kaiming_uniform_(np.empty((64, 64), np.float32), a=math.sqrt(5),
                                     seed=_key(2, "out_proj.weight"))
        assert np.array_equal(w, ref)

    def test_transformer_overrides_its_layers(self):
        m = _transformer()
        wt.reset_parameters_(m, seed=4)
        name = "encoder.layers.0.linear1.weight"   # a Linear, re-initialized by Transformer
        ref = winit.xavier_uniform_(np.empty((64, 32), np.float32), seed=_key(4, name))
        assert np.array_equal(m.get_parameter(name).detach().numpy(), ref)
        bias = "encoder.layers.0.linear1.bias"     # 1-D: the Linear's own rule
        ref = winit.uniform_(np.empty(64, np.float32), -1 / math.sqrt(32), 1 / math.sqrt(32),
                             seed=_key(4, bias))
        assert np.array_equal(m.get_parameter(bias).detach().numpy(), ref)

    def test_batchnorm_running_stats_reset(self):
        m = tnn.BatchNorm1d(5)
        _poison(m)
        wt.reset_parameters_(m, seed=0)
        assert torch.equal(m.running_mean, torch.zeros(5))
        assert torch.equal(m.running_var, torch.ones(5))
        assert m.num_batches_tracked.item() == 0
        assert torch.equal(m.weight, torch.ones(5)) and torch.equal(m.bias, torch.zeros(5))


class TestResetParametersStreams:
    def _model(self, dtype=torch.float32):
        return tnn.Sequential(tnn.Linear(64, 128), tnn.ReLU(),
                              tnn.Sequential(tnn.Embedding(100, 16), tnn.LayerNorm(16))).to(dtype)

    def test_each_parameter_from_its_named_stream(self):
        m = wt.reset_parameters_(self._model(), seed=11)
        w = winit.kaiming_uniform_(np.empty((128, 64), np.float32), a=math.sqrt(5),
                                   seed=_key(11, "0.weight"))
        b = winit.uniform_(np.empty(128, np.float32), -1 / 8, 1 / 8, seed=_key(11, "0.bias"))
        e = winit.normal_(np.empty((100, 16), np.float32), seed=_key(11, "2.0.weight"))
        assert np.array_equal(m[0].weight.detach().numpy(), w)
        assert np.array_equal(m[0].bias.detach().numpy(), b)
        assert np.array_equal(m[2][0].weight.detach().numpy(), e)

    def test_same_stream_as_init_model(self):
        m = wt.reset_parameters_(tnn.Linear(40, 30), seed=9)
        spec = {"weight": {"shape": [30, 40], "init": "kaiming_uniform", "a": math.sqrt(5)},
                "bias": {"shape": [30], "init": "uniform", "a": -1 / math.sqrt(40),
                         "b": 1 / math.sqrt(40)}}
        arrays = winit.init_model(spec, seed=9, progress=False)
        assert np.array_equal(m.weight.detach().numpy(), arrays["weight"])
        assert np.array_equal(m.bias.detach().numpy(), arrays["bias"])

    def test_values_depend_on_the_name_only(self):
        a = wt.reset_parameters_(tnn.Sequential(tnn.Linear(8, 8), tnn.Linear(8, 8)), seed=1)
        b = wt.reset_parameters_(tnn.Sequential(tnn.Linear(8, 8)), seed=1)
        assert torch.equal(a[0].weight, b[0].weight) and torch.equal(a[0].bias, b[0].bias)
        assert not torch.equal(a[0].weight, a[1].weight)

    def test_seeded_reproducible(self):
        torch.manual_seed(0)
        a = wt.reset_parameters_(self._model(), seed=3)
        torch.manual_seed(1)
        b = wt.reset_parameters_(self._model(), seed=3)
        c = wt.reset_parameters_(self._model(), seed=4)
        for (name, x), y, z in zip(a.state_dict().items(), b.state_dict().values(),
                                   c.state_dict().values(), strict=True):
            assert torch.equal(x, y), name
            if name.endswith(("0.weight", "0.bias")):
                assert not torch.equal(x, z), name

    def test_thread_invariant(self):
        m = tnn.Sequential(tnn.Linear(1024, 512), tnn.Conv2d(64, 64, 5), tnn.LSTM(128, 256))
        one = copy.deepcopy(wt.reset_parameters_(m, seed=8, threads=1).state_dict())
        two = wt.reset_parameters_(m, seed=8, threads=2).state_dict()
        for name in one:
            assert torch.equal(one[name], two[name]), name

    @pytest.mark.parametrize("dtype, npdtype", [(torch.bfloat16, ml_dtypes.bfloat16),
                                                (torch.float16, np.float16),
                                                (torch.float64, np.float64)])
    def test_low_and_high_precision(self, dtype, npdtype):
        m = wt.reset_parameters_(self._model(dtype), seed=2)
        w = winit.kaiming_uniform_(np.empty((128, 64), npdtype), a=math.sqrt(5),
                                   seed=_key(2, "0.weight"))
        assert m[0].weight.dtype == dtype
        assert np.array_equal(wt.as_numpy(m[0].weight).view(np.uint8), w.view(np.uint8))
        assert torch.equal(m[2][1].weight, torch.ones(16, dtype=dtype))

    def test_channels_last_gets_the_logical_values(self):
        a = tnn.Conv2d(8, 16, 3)
        b = copy.deepcopy(a).to(memory_format=torch.channels_last)
        assert not b.weight.is_contiguous()
        wt.reset_parameters_(a, seed=6)
        wt.reset_parameters_(b, seed=6)
        assert torch.equal(a.weight, b.weight)

    @pytest.mark.parametrize("first", ["embedding", "head"])
    def test_shared_parameter_initialized_once_by_its_first_name(self, first):
        emb, head = tnn.Embedding(50, 16), tnn.Linear(16, 50, bias=False)
        head.weight = emb.weight
        mods = {"embedding": emb, "head": head}
        order = [first] + [k for k in mods if k != first]
        model = tnn.ModuleDict({k: mods[k] for k in order})
        assert [n for n, _ in model.named_parameters()] == [f"{first}.weight"]
        wt.reset_parameters_(model, seed=0)
        if first == "embedding":
            ref = winit.normal_(np.empty((50, 16), np.float32), seed=_key(0, "embedding.weight"))
        else:
            ref = winit.kaiming_uniform_(np.empty((50, 16), np.float32), a=math.sqrt(5),
                                         seed=_key(0, "head.weight"))
        assert np.array_equal(emb.weight.detach().numpy(), ref)


class _Scale(tnn.Module):
    def __init__(self):
        super().__init__()
        self.gamma = tnn.Parameter(torch.ones(4))


class _MyLinear(tnn.Linear):
    def reset_parameters(self):
        tnn.init.zeros_(self.weight)


class TestResetParametersErrors:
    def test_module_without_rule_names_it_and_changes_nothing(self):
        m = tnn.Sequential(tnn.Linear(4, 4), tnn.Sequential(_Scale()))
        before = copy.deepcopy(m.state_dict())
        with pytest.raises(ValueError, match=r"no default initialization rule for _Scale: "
                                             r"'1\.0\.gamma'\. Rules follow torch's"):
            wt.reset_parameters_(m, seed=0)
        for name, value in m.state_dict().items():
            assert torch.equal(value, before[name])

    def test_extra_parameter_of_a_known_module(self):
        m = tnn.Linear(3, 3)
        m.scale = tnn.Parameter(torch.ones(3))
        with pytest.raises(ValueError, match=r"rule for Linear: 'scale'\. Rules"):
            wt.reset_parameters_(m, seed=0)

    def test_subclass_overriding_reset_parameters_has_no_rule(self):
        with pytest.raises(ValueError, match=r"_MyLinear \(it overrides reset_parameters\): "
                                             r"'weight', 'bias'"):
            wt.reset_parameters_(_MyLinear(3, 3), seed=0)

    def test_non_cpu(self):
        with pytest.raises(ValueError, match="parameter 'weight' is on device meta"):
            wt.reset_parameters_(tnn.Linear(3, 4, device="meta"), seed=0)

    def test_lazy_module(self):
        with pytest.raises(ValueError, match="uninitialized parameter of a lazy module"):
            wt.reset_parameters_(tnn.Sequential(tnn.Linear(3, 3), tnn.LazyLinear(4)), seed=0)

    def test_unsupported_dtype(self):
        with pytest.raises(TypeError, match="'weight' has dtype torch.complex64"):
            wt.reset_parameters_(tnn.Linear(3, 4, dtype=torch.complex64), seed=0)

    def test_bad_threads(self):
        with pytest.raises(ValueError, match="threads must be >= 1"):
            wt.reset_parameters_(tnn.Linear(3, 4), seed=0, threads=0)


# --------------------------------------------------------------------------- lsuv_


def _count_calls(modules):
    """Completed forward calls of each module (a pass stopped at a module does not count)."""
    counts = {}
    for m in modules:
        counts[m] = 0
        m.register_forward_hook(lambda mod, args, out: counts.__setitem__(mod, counts[mod] + 1))
    return counts


def _output_moments(model, x, types=(tnn.Linear, tnn.Conv2d)):
    """Mean and variance of every Linear/Conv output on a fresh forward pass (torch's own)."""
    found = []
    hooks = [m.register_forward_hook(lambda mod, a, y: found.append(
        (float(y.double().mean()), float(y.double().var(unbiased=False)))))
        for m in model.modules() if isinstance(m, types)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return found


def _torch_mlp(depth=6, width=64, bias=True):
    torch.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [tnn.Linear(width, width, bias=bias), tnn.ReLU()]
    return tnn.Sequential(*layers)


class _ConvNet(tnn.Module):
    """Not a Sequential: lsuv_ has to stop its forward pass with a hook."""

    def __init__(self):
        super().__init__()
        self.c1 = tnn.Conv2d(3, 8, 3, padding=1)
        self.c2 = tnn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.c3 = tnn.Conv2d(16, 16, 3, padding=1)
        self.fc = tnn.Linear(16 * 8 * 8, 10)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.relu(self.c2(x))
        x = torch.relu(self.c3(x)) + x
        return self.fc(x.flatten(1))


def _images(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 16, 16, generator=g)


class TestLSUV:
    def test_mlp_converges_and_each_output_is_within_tol(self):
        model = _torch_mlp()
        x = torch.randn(256, 64, generator=torch.Generator().manual_seed(1))
        report = wt.lsuv_(model, x, seed=0)
        assert isinstance(report, winit.LSUVReport) and report.converged
        assert [r.layer for r in report] == [f"{2 * k}:Linear" for k in range(6)]
        for (_, var), row in zip(_output_moments(model, x), report, strict=True):
            assert abs(var - 1.0) < 0.1
            assert var == pytest.approx(row.var, rel=1e-4)

    def test_sequential_runs_each_module_once_plus_the_iterations(self):
        model = _torch_mlp(depth=5)
        counts = _count_calls(model.children())   # a hook on the Sequential itself would
        report = wt.lsuv_(model, torch.randn(128, 64), seed=0)   # make it opaque
        for k in range(5):
            assert counts[model[2 * k]] == report[k].iterations + 1
        assert [counts[model[2 * k + 1]] for k in range(5)] == [1, 1, 1, 1, 0]

    def test_convnet_stops_each_pass_at_the_layer_being_tuned(self):
        model = _ConvNet()
        x = _images()
        counts = _count_calls(model.modules())
        report = wt.lsuv_(model, x, seed=1)
        assert report.converged
        layers = [model.c1, model.c2, model.c3, model.fc]
        assert [r.layer for r in report] == ["c1:Conv2d", "c2:Conv2d", "c3:Conv2d", "fc:Linear"]
        # one pass per layer, each stopped at that layer's first call: layer j runs in the
        # passes of the layers after it, plus its own iterations (+1 measurement)
        for j, (layer, row) in enumerate(zip(layers, report, strict=True)):
            assert counts[layer] == (len(layers) - 1 - j) + row.iterations + 1
        assert counts[model] == 0                          # no pass runs to the end
        for (_, var) in _output_moments(model, x):
            assert abs(var - 1.0) < 0.1

    def test_tuned_layers_are_not_computed_again(self):
        model = _ConvNet()
        computed = {}
        for name, m in model.named_children():     # count the forward computations only
            computed[name] = 0

            def forward(*a, _m=m, _name=name, _forward=m.forward):
                computed[_name] += 1
                return _forward(*a)

            m.forward = forward
        report = wt.lsuv_(model, _images(), seed=2)
        assert computed == {r.layer.split(":")[0]: r.iterations + 1 for r in report}
        assert all(m.forward.__name__ == "forward" and "forward" in vars(m)
                   for m in model.children())          # our own patches are back in place

    def test_inplace_operation_after_a_replayed_layer(self):
        class Net(tnn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b, self.c = tnn.Linear(32, 32), tnn.Linear(32, 32), tnn.Linear(32, 4)

            def forward(self, x):
                h = self.a(x)
                h.mul_(3.0)                          # in place, on the replayed output
                return self.c(torch.relu(self.b(torch.relu(h))) + h)

        model = Net()
        x = torch.randn(256, 32)
        report = wt.lsuv_(model, x, seed=0)
        assert report.converged
        for (_, var) in _output_moments(model, x):   # c's input has h once multiplied by 3
            assert abs(var - 1) < 0.1

    def test_restores_the_layers_after_an_error(self):
        class Net(tnn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b = tnn.Linear(8, 8), tnn.Linear(8, 8)

            def forward(self, x):
                return self.b(self.a(x) * 0)         # b's input is constant

        model = Net()
        with pytest.raises(ValueError, match="variance of layer b:Linear does not change"):
            wt.lsuv_(model, torch.randn(16, 8), seed=0)
        assert "forward" not in vars(model.a) and not model.a._forward_pre_hooks
        assert model.training

    def test_matches_winit_lsuv_on_the_equivalent_numpy_network(self):
        net = nn.Sequential(*[m for k in range(4) for m in (nn.Linear(48, 48, seed=k), nn.ReLU())])
        model = tnn.Sequential(*[m for _ in range(4) for m in (tnn.Linear(48, 48), tnn.ReLU())])
        _copy_weights(model, net)                          # the same biases
        x = winit.normal_(np.empty((200, 48), np.float32), seed=3)
        ours = wt.lsuv_(model, x, seed=7)
        ref = winit.lsuv_(net, x, seed=7)
        assert [r.layer for r in ours] == [r.layer for r in ref]
        assert [r.iterations for r in ours] == [r.iterations for r in ref]
        for k, (a, b) in enumerate(zip(ours, ref, strict=True)):
            assert a.var == pytest.approx(b.var, rel=1e-4)
            np.testing.assert_allclose(model[2 * k].weight.detach().numpy(), net[2 * k].weight,
                                       rtol=1e-4, atol=1e-6)

    def test_center(self):
        model = _ConvNet()
        x = _images() + 3.0
        report = wt.lsuv_(model, x, center=True, seed=0)
        assert report.converged and report.center
        for (mean, var) in _output_moments(model, x):
            assert abs(mean) < 0.1 and abs(var - 1) < 0.1
        assert any(r.bias_shift != 0 for r in report)

    def test_without_orthogonal_only_rescales(self):
        model = _torch_mlp(depth=3, bias=False)
        before = [model[2 * k].weight.detach().clone() for k in range(3)]
        report = wt.lsuv_(model, torch.randn(128, 64), orthogonal=False)
        for k, row in enumerate(report):
            torch.testing.assert_close(model[2 * k].weight, before[k] * row.scale)

    def test_max_iter_warns_naming_the_layer(self):
        model = _torch_mlp(depth=2)
        with torch.no_grad():
            model[2].weight.mul_(10)
        with pytest.warns(RuntimeWarning) as rec:
            report = wt.lsuv_(model, torch.randn(64, 64), max_iter=1, tol=1e-9, seed=0)
        assert [str(w.message).split(" did")[0] for w in rec] == ["lsuv_: layer 0:Linear",
                                                                  "lsuv_: layer 2:Linear"]
        assert "did not converge in 1 iterations" in str(rec[0].message)
        assert not report.converged and [r.iterations for r in report] == [1, 1]

    def test_no_layer_to_tune(self):
        with pytest.raises(ValueError, match=r"lsuv_: the model \(Sequential\) has no Linear, "
                                             r"Conv1d/2d/3d or ConvTranspose1d/2d/3d layer"):
            wt.lsuv_(tnn.Sequential(tnn.ReLU(), tnn.LayerNorm(4)), torch.randn(2, 4))

    def test_bad_settings_and_devices(self):
        with pytest.raises(ValueError, match="tol must be > 0"):
            wt.lsuv_(_torch_mlp(1), torch.randn(4, 64), tol=0)
        with pytest.raises(ValueError, match="parameter '0.weight' is on device meta"):
            wt.lsuv_(tnn.Sequential(tnn.Linear(3, 3, device="meta")), torch.randn(2, 3))
        with pytest.raises(ValueError, match="lsuv_: x is on device meta"):
            wt.lsuv_(_torch_mlp(1), torch.randn(2, 64, device="meta"))

    def test_restores_modes_and_leaves_buffers_alone(self):
        model = tnn.Sequential(tnn.Conv2d(3, 8, 3), tnn.BatchNorm2d(8), tnn.Dropout(0.5),
                               tnn.ReLU(), tnn.Conv2d(8, 8, 3))
        model.train()
        model[2].eval()                                    # mixed modes come back as they were
        buffers = copy.deepcopy(dict(model.named_buffers()))
        fast = torch.backends.mha.get_fastpath_enabled()
        report = wt.lsuv_(model, _images(), seed=0)
        assert report.converged
        assert [m.training for m in model] == [True, True, False, True, True]
        for name, b in model.named_buffers():
            assert torch.equal(b, buffers[name]), name
        assert torch.backends.mha.get_fastpath_enabled() == fast

    def test_uncalled_layer_untouched_and_shared_layer_tuned_once(self):
        class Net(tnn.Module):
            def __init__(self):
                super().__init__()
                self.a = tnn.Linear(32, 32)
                self.unused = tnn.Linear(32, 32)
                self.b = tnn.Linear(32, 8)

            def forward(self, x):
                return self.b(torch.relu(self.a(torch.relu(self.a(x)))))

        model = Net()
        unused = model.unused.weight.detach().clone()
        report = wt.lsuv_(model, torch.randn(128, 32), seed=0)
        assert [r.layer for r in report] == ["a:Linear", "b:Linear"]
        assert torch.equal(model.unused.weight, unused)

    def test_transformer_layer_linears_are_reached(self):
        model = tnn.TransformerEncoderLayer(32, 4, dim_feedforward=64, batch_first=True)
        report = wt.lsuv_(model, torch.randn(8, 10, 32), seed=0)
        assert [r.layer for r in report] == ["linear1:Linear", "linear2:Linear"]
        assert report.converged

    def test_bfloat16_model(self):
        model = _torch_mlp(depth=3).to(torch.bfloat16)
        x = torch.randn(256, 64).to(torch.bfloat16)
        report = wt.lsuv_(model, x, seed=0)
        assert report.converged
        for (_, var) in _output_moments(model, x):
            assert abs(var - 1) < 0.1

    def test_numpy_input_and_seeded(self):
        x = winit.normal_(np.empty((64, 64), np.float32), seed=0)
        a, b = _torch_mlp(2), _torch_mlp(2)
        wt.lsuv_(a, x, seed=4)
        wt.lsuv_(b, torch.from_numpy(x), seed=4)
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(p, q)


# --------------------------------------------------------------------------- diagnose


def _copy_weights(model, net):
    """Copy a winit.nn network's parameters into the same-shaped torch model."""
    with torch.no_grad():
        for m, layer in zip(model, net, strict=True):
            if hasattr(layer, "weight"):
                m.weight.copy_(torch.from_numpy(layer.weight))
                m.bias.copy_(torch.from_numpy(layer.bias))


def _assert_same_diagnosis(ours, ref):
    assert [r.layer for r in ours] == [r.layer for r in ref]
    for a, b in zip(ours, ref, strict=True):
        assert a.shape == b.shape and a.parametrized == b.parametrized, a.layer
        for field in ("mean", "std", "min", "max", "saturated", "dead", "grad_mean",
                      "grad_std", "grad_weight_std"):
            x, y = getattr(a, field), getattr(b, field)
            if y is None:
                assert x is None, (a.layer, field)
            else:
                assert x == pytest.approx(y, rel=2e-3, abs=1e-5), (a.layer, field)


class TestDiagnose:
    def test_matches_winit_diagnose_on_the_equivalent_mlp(self):
        net = nn.Sequential(nn.Linear(16, 64, seed=0), nn.Tanh(), nn.Linear(64, 64, seed=1),
                            nn.ReLU(), nn.Linear(64, 8, seed=2), nn.Sigmoid())
        model = tnn.Sequential(tnn.Linear(16, 64), tnn.Tanh(), tnn.Linear(64, 64), tnn.ReLU(),
                               tnn.Linear(64, 8), tnn.Sigmoid())
        _copy_weights(model, net)
        x = winit.normal_(np.empty((100, 16), np.float32), std=3.0, seed=1)
        ours = wt.diagnose(model, x, seed=2)
        assert isinstance(ours, winit.Diagnosis) and ours.backward
        _assert_same_diagnosis(ours, winit.diagnose(net, x, seed=2))
        header = winit.diagnose(net, x, seed=2).table().splitlines()[0]
        assert ours.table().splitlines()[0] == header

    def test_matches_winit_diagnose_on_the_equivalent_convnet(self):
        net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, seed=0), nn.ReLU(),
                            nn.Conv2d(8, 4, 3, stride=2, seed=1), nn.ReLU(), nn.Flatten(),
                            nn.Linear(4 * 7 * 7, 5, seed=2))
        model = tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1), tnn.ReLU(),
                               tnn.Conv2d(8, 4, 3, stride=2), tnn.ReLU(), tnn.Flatten(),
                               tnn.Linear(4 * 7 * 7, 5))
        _copy_weights(model, net)
        x = _images(20).numpy()
        _assert_same_diagnosis(wt.diagnose(model, x, seed=0), winit.diagnose(net, x, seed=0))

    def test_grad_output_and_forward_only(self):
        model = tnn.Sequential(tnn.Linear(4, 6), tnn.Tanh())
        x = torch.randn(10, 4)
        g = torch.full((10, 6), 0.5)
        d = wt.diagnose(model, x, grad_output=g)
        assert d[1].grad_mean == 0.5 and d[1].grad_std == 0
        fwd = wt.diagnose(model, x, backward=False)
        assert not fwd.backward and all(r.grad_std is None and r.grad_weight_std is None
                                        for r in fwd)
        assert [r.std for r in fwd] == [r.std for r in d]
        with pytest.raises(ValueError, match=r"grad_output has shape \(3,\), the network's "
                                             r"output \(10, 6\)"):
            wt.diagnose(model, x, grad_output=np.zeros(3, np.float32))

    def test_inplace_relu_does_not_change_the_measurements(self):
        torch.manual_seed(0)
        plain = tnn.Sequential(tnn.Linear(8, 32), tnn.ReLU(), tnn.Linear(32, 4))
        inplace = copy.deepcopy(plain)
        inplace[1] = tnn.ReLU(inplace=True)
        x = torch.randn(50, 8)
        a, b = wt.diagnose(plain, x, seed=1), wt.diagnose(inplace, x, seed=1)
        for ra, rb in zip(a, b, strict=True):
            assert (ra.mean, ra.std, ra.grad_mean, ra.grad_std, ra.grad_weight_std) == \
                   (rb.mean, rb.std, rb.grad_mean, rb.grad_std, rb.grad_weight_std)
        assert a[0].min < 0                                # the Linear's own output, not ReLU's

    def test_no_side_effects(self):
        model = tnn.Sequential(tnn.Linear(4, 8), tnn.BatchNorm1d(8), tnn.ReLU())
        model.train()
        buffers = copy.deepcopy(dict(model.named_buffers()))
        wt.diagnose(model, torch.randn(16, 4), seed=0)
        for name, b in model.named_buffers():
            assert torch.equal(b, buffers[name]), name
        assert all(p.grad is None for p in model.parameters())

    def test_layers_are_the_calls_that_call_nothing_else(self):
        class Net(tnn.Module):
            def __init__(self):
                super().__init__()
                self.attn = tnn.MultiheadAttention(16, 2, batch_first=True)
                self.rnn = tnn.LSTM(16, 16, batch_first=True)
                self.act = tnn.GELU()

            def forward(self, x):
                h = self.act(self.attn(x, x, x)[0])
                return self.act(self.rnn(h)[0])

        d = wt.diagnose(Net(), torch.randn(4, 5, 16), seed=0)
        assert [r.layer for r in d] == ["attn:MultiheadAttention", "act:GELU", "rnn:LSTM",
                                        "act[2]:GELU"]
        assert all(r.grad_std is not None for r in d)
        assert d[0].grad_weight_std is None                # no .weight: in_proj_weight

    def test_errors(self):
        class Pair(tnn.Module):
            def __init__(self):
                super().__init__()
                self.fc = tnn.Linear(3, 3)

            def forward(self, x):
                return self.fc(x), x

        with pytest.raises(TypeError, match="the model returned a tuple"):
            wt.diagnose(Pair(), torch.randn(2, 3))
        assert len(wt.diagnose(Pair(), torch.randn(2, 3), backward=False)) == 1
        with pytest.raises(ValueError, match="bins must be a positive int"):
            wt.diagnose(Pair(), torch.randn(2, 3), bins=0)
        with pytest.raises(ValueError, match="parameter 'fc.weight' is on device meta"):
            wt.diagnose(Pair().to("meta"), torch.randn(2, 3))

    def test_plot(self, tmp_path):
        pytest.importorskip("matplotlib")
        model = tnn.Sequential(tnn.Linear(4, 8), tnn.ReLU(), tnn.Linear(8, 2))
        path = wt.diagnose(model, torch.randn(32, 4), seed=0).plot(tmp_path / "d.png")
        assert (tmp_path / "d.png").stat().st_size > 1000 and path == tmp_path / "d.png"


def test_warnings_point_at_the_caller():
    model = _torch_mlp(depth=1)
    with torch.no_grad():
        model[0].weight.mul_(10)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        wt.lsuv_(model, torch.randn(32, 64), max_iter=0, orthogonal=False)
    assert rec and rec[0].filename == __file__


# --------------------------------------------------------------------------- init_ (recipes, rules)

_RULES = [{"match": r"^1\.weight$", "init": "orthogonal", "gain": 2.0},
          {"match": r"^3\.weight$", "init": "kaiming_normal", "nonlinearity": "relu"},
          {"match": r"^0\.", "init": "trunc_normal", "std": 0.5}]


def _mixed(dtype=torch.float32):
    return tnn.Sequential(tnn.Embedding(50, 16), tnn.Linear(16, 24), tnn.LayerNorm(24),
                          tnn.Linear(24, 16, bias=False), tnn.Conv1d(16, 8, 3)).to(dtype)


def _bits(t: torch.Tensor) -> np.ndarray:
    return wt.as_numpy(t.detach()).view(np.uint8).copy()


class TestInit:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
    def test_same_bits_as_init_model_of_its_spec(self, dtype, tmp_path):
        pytest.importorskip("safetensors", reason="reading the checkpoint back needs it")
        from safetensors.numpy import load_file

        m = _mixed(dtype)
        _poison(m)
        spec = wt.module_spec(m, _RULES)
        assert list(spec) == [n for n, _ in m.named_parameters()]
        assert spec["1.weight"] == {"shape": [24, 16], "init": "orthogonal", "gain": 2.0,
                                    "dtype": str(dtype).removeprefix("torch.")}
        assert spec["2.weight"]["init"] == "ones" and spec["1.bias"]["init"] == "zeros"
        assert spec["4.weight"] == {"shape": [8, 16, 3], "init": "normal", "std": 0.02,
                                    "dtype": spec["4.weight"]["dtype"]}
        assert wt.init_(m, _RULES, seed=7, threads=2) is m
        out = tmp_path / "m.safetensors"
        winit.init_model(spec, out, seed=7, progress=False)
        saved = load_file(out)
        for name, p in m.named_parameters():
            assert np.array_equal(_bits(p), saved[name].view(np.uint8)), name

    def test_in_memory_equals_and_thread_invariant(self):
        a, b = _mixed(), _mixed()
        wt.init_(a, "megatron", rules=_RULES[:1], seed=3, threads=1)
        wt.init_(b, "megatron", rules=_RULES[:1], seed=3, threads=2)
        arrays = winit.init_model(wt.module_spec(a, "megatron", rules=_RULES[:1]), seed=3,
                                  progress=False)
        for name, p in a.named_parameters():
            assert torch.equal(p, dict(b.named_parameters())[name]), name
            assert np.array_equal(wt.as_numpy(p.detach()), arrays[name]), name

    def test_recipe_statistics(self):
        m = tnn.Sequential(tnn.Linear(512, 512), tnn.LayerNorm(512))
        wt.init_(m, seed=0)  # hf: N(0, 0.02^2), bias 0, norm 1
        w = m[0].weight.detach().numpy().ravel()
        assert stats.kstest(w, "norm", args=(0, 0.02)).pvalue > 1e-4
        assert not m[0].bias.any() and bool((m[1].weight == 1).all())

    def test_tied_parameter_once_by_its_first_name(self):
        emb, head = tnn.Embedding(40, 8), tnn.Linear(8, 40, bias=False)
        head.weight = emb.weight
        m = tnn.Sequential(emb, tnn.Linear(8, 8), head)
        spec = wt.module_spec(m)
        assert "2.weight" not in spec and "0.weight" in spec
        wt.init_(m, [{"match": "^0", "init": "uniform", "a": 3, "b": 4}], seed=1)
        assert m[2].weight is m[0].weight and bool((m[0].weight >= 3).all())

    def test_transformers_model_equals_its_hf_checkpoint(self):
        tf = pytest.importorskip("transformers", reason="comparing with transformers needs it")
        from winit.hf import spec_from_hf_config

        tf.logging.set_verbosity_error()
        small = {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}
        for config in ({"model_type": "gpt2", "vocab_size": 64, "n_embd": 32, "n_layer": 2,
                        "n_head": 4, "n_positions": 16},
                       {**small, "model_type": "llama"}, {**small, "model_type": "gemma"}):
            model = tf.AutoModelForCausalLM.from_config(tf.AutoConfig.for_model(**config))
            _poison(model)
            wt.init_(model, seed=11)  # hf: GPT-2 scales its residual projections
            arrays = winit.init_model(spec_from_hf_config(config), seed=11,
                                      dtype="float32", progress=False)
            params = dict(model.named_parameters())
            assert set(arrays) == set(params), config["model_type"]
            for name, a in arrays.items():
                assert np.array_equal(wt.as_numpy(params[name].detach()), a), name
        # Gemma's zero-centred norms stay at the identity (w = 0)
        assert not params["model.norm.weight"].any()

    def test_unknown_module_type_warns_unless_a_rule_matches(self):
        class Scale(tnn.Module):
            def __init__(self):
                super().__init__()
                self.w = tnn.Parameter(torch.empty(4, 4))

        m = tnn.Sequential(tnn.Linear(4, 4), Scale())
        with pytest.warns(UserWarning, match=r"1 parameters .* \(first: '1\.w'\)"):
            wt.module_spec(m)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            spec = wt.module_spec(m, [{"match": r"\.w$", "init": "eye"}])
        assert spec["1.w"]["init"] == "eye"

    def test_rules_file(self, tmp_path):
        f = tmp_path / "rules.toml"
        f.write_text('[[rules]]\nmatch = "weight$"\ninit = "zeros"\n')
        m = tnn.Linear(3, 3)
        wt.init_(m, f, seed=0)
        assert not m.weight.any()

    def test_errors_leave_the_module_untouched(self):
        m = _mixed()
        _poison(m)
        with pytest.raises(winit.SpecError, match=r"tensor '3\.weight' \(dirac"):
            wt.init_(m, [{"match": r"^3\.weight$", "init": "dirac"}], seed=0)
        with pytest.raises(ValueError, match=r"parameter '1\.weight' is torch\.float32, but a "
                                             r"rule gives it dtype float16"):
            wt.init_(m, [{"match": r"^1\.weight$", "init": "zeros", "dtype": "float16"}])
        with pytest.raises(ValueError, match="'hff' is neither a recipe"):
            wt.init_(m, "hff")
        with pytest.raises(TypeError, match="rules are given twice"):
            wt.init_(m, [], rules=[])
        with pytest.raises(winit.SpecError, match="rule 0"):
            wt.init_(m, [{"match": "x", "init": "nope"}])
        assert all(bool(p.isnan().all()) for p in m.parameters())
        meta = tnn.Linear(2, 2, device="meta")
        with pytest.raises(ValueError, match=r"init_: parameter 'weight' is on device meta"):
            wt.init_(meta)
