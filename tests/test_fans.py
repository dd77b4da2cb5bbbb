"""compute_fans: torch, keras, jax, torch_transposed layouts and explicit axes."""

import math

import numpy as np
import pytest

from winit import compute_fans


def _torch_ref(shape):
    rf = math.prod(shape[2:])
    return shape[1] * rf, shape[0] * rf


def _keras_ref(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


SHAPES = [(3, 5), (64, 32, 3, 3), (7, 4, 5), (2, 3, 4, 5, 6), (1, 1), (9, 2, 1, 1)]


class TestLayouts:
    @pytest.mark.parametrize("shape", SHAPES)
    def test_torch(self, shape):
        assert compute_fans(shape) == _torch_ref(shape)
        assert compute_fans(np.empty(shape)) == _torch_ref(shape)

    @pytest.mark.parametrize("shape", SHAPES)
    def test_torch_matches_torch(self, shape):
        torch = pytest.importorskip("torch")
        expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        assert compute_fans(shape, "torch") == tuple(expected)

    @pytest.mark.parametrize("shape", SHAPES + [(), (7,)])
    def test_keras(self, shape):
        assert compute_fans(shape, "keras") == _keras_ref(shape)

    @pytest.mark.parametrize("shape", SHAPES)
    def test_jax_equals_keras_for_2d_and_up(self, shape):
        assert compute_fans(shape, "jax") == _keras_ref(shape)

    @pytest.mark.parametrize("shape", SHAPES)
    def test_torch_transposed_swaps(self, shape):
        fi, fo = _torch_ref(shape)
        assert compute_fans(shape, "torch_transposed") == (fo, fi)

    def test_conv_same_fans_in_every_layout(self):
        # a Conv2d(32 -> 64, 3x3) kernel stored three ways
        assert compute_fans((64, 32, 3, 3)) == (288, 576)
        assert compute_fans((3, 3, 32, 64), "keras") == (288, 576)
        assert compute_fans((32, 64, 3, 3), "torch_transposed") == (288, 576)


class TestExplicitAxes:
    def _jax_ref(self, shape, in_axis, out_axis, batch_axis):
        def size(ax):
            ax = (ax,) if isinstance(ax, int) else ax
            return math.prod(shape[a] for a in ax)

        rf = math.prod(shape) / size(in_axis) / size(out_axis) / size(batch_axis)
        return int(size(in_axis) * rf), int(size(out_axis) * rf)

    @pytest.mark.parametrize(
        "shape,in_axis,out_axis,batch_axis",
        [
            ((5, 20, 30), -2, -1, 0),
            ((5, 20, 30), 1, 2, ()),
            ((4, 3, 2, 6), (0, 1), 3, ()),
            ((4, 3, 2, 6), 1, (2, 3), (0,)),
            ((8, 3, 3, 16, 32), -2, -1, 0),
        ],
    )
    def test_matches_jax_formula(self, shape, in_axis, out_axis, batch_axis):
        got = compute_fans(shape, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
        assert got == self._jax_ref(shape, in_axis, out_axis, batch_axis)

    def test_one_axis_keeps_layout_default(self):
        assert compute_fans((4, 5, 6), in_axis=2) == (6 * 5, 4 * 5)  # out stays 0 (torch)
        assert compute_fans((4, 5, 6), "keras", out_axis=0) == (5 * 6, 4 * 6)

    def test_batch_axis_with_layout(self):
        # a stack of 10 Linear(3 -> 7) weights in torch layout
        assert compute_fans((10, 7, 3), in_axis=2, out_axis=1, batch_axis=0) == (3, 7)


class TestGroups:
    def test_grouped_conv_fan_out(self):
        # torch Conv2d(32, 64, 3, groups=4): weight (64, 8, 3, 3)
        assert compute_fans((64, 8, 3, 3)) == (72, 576)
        assert compute_fans((64, 8, 3, 3), groups=4) == (72, 144)
        assert compute_fans((3, 3, 8, 64), "keras", groups=4) == (72, 144)

    def test_grouped_conv_transpose_fan_in(self):
        # torch ConvTranspose2d(32, 64, 3, groups=4): weight (32, 16, 3, 3)
        assert compute_fans((32, 16, 3, 3), "torch_transposed", groups=4) == (72, 144)

    def test_groups_must_divide(self):
        with pytest.raises(ValueError, match="groups=3 does not divide the 64 channels"):
            compute_fans((64, 8, 3, 3), groups=3)
        with pytest.raises(ValueError, match="groups must be >= 1"):
            compute_fans((4, 4), groups=0)


class TestErrors:
    @pytest.mark.parametrize("shape", [(), (5,)])
    def test_torch_fewer_than_2_dims(self, shape):
        msg = "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        with pytest.raises(ValueError, match=msg):
            compute_fans(shape)
        with pytest.raises(ValueError, match=msg):
            compute_fans(shape, "torch_transposed")

    def test_jax_fewer_than_2_dims(self):
        with pytest.raises(ValueError, match="Must be at least 2D"):
            compute_fans((5,), "jax")

    def test_explicit_axes_need_2_dims(self):
        with pytest.raises(ValueError, match="at least 2 dimensions"):
            compute_fans((5,), in_axis=0, out_axis=0)

    def test_bad_layout(self):
        with pytest.raises(ValueError, match=r"layout 'tf' not supported.*torch"):
            compute_fans((3, 4), "tf")

    def test_axis_out_of_range(self):
        with pytest.raises(ValueError, match="in_axis=3 is out of range"):
            compute_fans((3, 4), in_axis=3)

    def test_overlapping_axes(self):
        with pytest.raises(ValueError, match="overlap"):
            compute_fans((3, 4, 5), in_axis=1, out_axis=1)
        with pytest.raises(ValueError, match="batch_axis"):
            compute_fans((3, 4, 5), in_axis=1, out_axis=2, batch_axis=1)
        with pytest.raises(ValueError, match="repeated axes"):
            compute_fans((3, 4, 5), in_axis=(1, 1), out_axis=2)

    def test_bad_shape(self):
        with pytest.raises(ValueError, match="non-negative ints"):
            compute_fans((3, -1))
        with pytest.raises(TypeError, match="in_axis must be an int"):
            compute_fans((3, 4), in_axis=1.5)
