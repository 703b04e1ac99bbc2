"""Tensor-core precisions and 16-bit I/O on the CPU: the NumPy executor emulates the
kernels' operand rounding (plan/reference.py), so the accuracy of every (precision,
terms, layout) is checked here against the float64 oracle before any GPU runs it."""
from dataclasses import replace

import numpy as np
import pytest
import scipy.signal as ss

import fftconv_cupy as fc
from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.plan.reference import execute, round_operand
from fftconv_cupy.plan.sparsity import Sparsity, pattern_mask, sparsify
from fftconv_cupy.plan.spectrum import kernel_spectrum
from fftconv_cupy.plan.support import PRECISIONS, io_tolerance, rel_error
from fftconv_cupy.runtime import arrays

RNG = np.random.default_rng(7)
TC = ["fp16", "bf16", "tf32"]


def emulated(L, K, precision, *, terms=3, rows=2, **kw):
    plan = replace(make_plan(L, K, 0, L, real=True, precision=precision, **kw), mma_terms=terms)
    x = RNG.standard_normal((rows, L)).astype(np.float32)
    k = RNG.standard_normal((1, K)).astype(np.float32)
    y = execute(plan, x, kernel_spectrum(plan, k, np), np.zeros(rows, int), emulate=True)
    ref = ss.fftconvolve(x.astype(np.float64), k.astype(np.float64), axes=-1)[:, :L]
    return rel_error(y, ref), plan


@pytest.mark.parametrize("precision", TC)
@pytest.mark.parametrize("L,K,kw", [(1024, 1024, {}), (4096, 4096, {}), (16384, 16384, {}),
                                    (1 << 16, 1 << 16, {}), (8192, 8192, dict(layout="three_pass")),
                                    (100000, 1000, dict(segment=True))])
def test_split_products_keep_fp32_accuracy(L, K, kw, precision):
    err, plan = emulated(L, K, precision, **kw)
    tf = [plan.row] + ([plan.col] if plan.col is not None else [])
    assert sum(sum(plan.tc_stages(t)) for t in tf) >= 2, plan.describe()
    assert err < (2e-5 if precision == "bf16" else 1e-6), (plan.describe(), err)


@pytest.mark.parametrize("precision,lo,hi", [("fp16", 3e-4, 1e-3), ("tf32", 3e-4, 1e-3),
                                             ("bf16", 2e-3, 8e-3)])
def test_single_product_error_is_the_operand_rounding(precision, lo, hi):
    # one product per stage: each stage adds the operand rounding of its type; this
    # is why tensor-core stages use three products (see docs/tensor-cores.md)
    err, _ = emulated(4096, 4096, precision, terms=1)
    assert lo < err < hi


@pytest.mark.parametrize("io", ["float16", "bfloat16"])
@pytest.mark.parametrize("precision", ["fp32"] + TC)
def test_16bit_io_meets_its_target(io, precision):
    L = 4096
    x = arrays.bits16_to_float(arrays.float_to_bits16(RNG.standard_normal((2, L)), io), io)
    k = RNG.standard_normal((1, L)).astype(np.float32)
    plan = make_plan(L, L, 0, L, real=True, precision=precision, io=io)
    y = execute(plan, x, kernel_spectrum(plan, k, np), np.zeros(2, int), emulate=True)
    y16 = arrays.bits16_to_float(arrays.float_to_bits16(y, io), io)
    ref = ss.fftconvolve(x.astype(np.float64), k.astype(np.float64), axes=-1)[:, :L]
    assert rel_error(y16, ref) <= io_tolerance(io, precision)


def test_operand_rounding():
    assert round_operand(np.array([1 + 2**-11]), "f16")[0] == 1.0           # ties to even
    assert round_operand(np.array([1 + 3 * 2**-11]), "f16")[0] == 1 + 2**-9
    assert round_operand(np.array([1 + 2**-9]), "bf16")[0] == 1.0
    assert round_operand(np.array([1 + 3 * 2**-9]), "bf16")[0] == 1 + 2**-7
    assert round_operand(np.array([1 + 2**-11]), "tf32")[0] == 1 + 2**-10   # ties away (cvt.rna)
    with pytest.raises(ValueError):
        round_operand(np.ones(1), "fp8")


def test_bits16_conversions():
    f = RNG.standard_normal(1000).astype(np.float32)
    h = arrays.float_to_bits16(f, "float16")
    assert h.dtype == np.float16 and np.array_equal(h, f.astype(np.float16))
    b = arrays.float_to_bits16(f, "bfloat16")
    assert b.dtype == np.uint16
    back = arrays.bits16_to_float(b, "bfloat16")
    assert np.array_equal(back, round_operand(f, "bf16").astype(np.float32))
    assert np.max(np.abs(back - f) / np.abs(f)) <= 2**-8


def test_tensor_core_stage_selection():
    p = make_plan(4096, 4096, 0, 4096, real=True, precision="fp16")
    assert p.tc_stages(p.row) == (True, True, True) and p.row.threads == 512
    assert p.as_dict()["tensor_core_stages"] == 3
    small = make_plan(60, 60, 0, 60, real=True, precision="fp16")        # m = 60: radix 4/3/5
    assert not any(small.tc_stages(small.row))
    assert make_plan(4096, 4096, 0, 4096, real=True, precision="fp32").tc_stages(p.row) == (False,) * 3
    # sparse skipping stages stay on CUDA cores
    d = make_plan(8192, 8192, 0, 8192, real=True, precision="bf16", segment=False)
    s = sparsify(d, pattern_mask(d, Sparsity("block", 0.25)))
    from fftconv_cupy.codegen.source import template_params
    tp = template_params(s)
    assert not tp["row_tc"][0]


def test_16bit_plans():
    p = make_plan(4096, 4096, 0, 4096, real=True, precision="fp32", io="float16")
    q = make_plan(4096, 4096, 0, 4096, real=True, precision="fp32")
    assert p.io_bytes(8) * 2 == q.io_bytes(8) and "io=float16" in p.describe()
    assert p.as_dict()["io"] == "float16" and q.as_dict()["io"] == "float32"
    with pytest.raises(ValueError, match="io must be"):
        make_plan(64, 64, 0, 64, real=True, precision="fp32", io="int16")
    with pytest.raises(fc.UnsupportedPlanError, match="real rows"):
        make_plan(64, 64, 0, 64, real=False, precision="fp32", io="float16")
    with pytest.raises(fc.UnsupportedPlanError, match="fp64"):
        make_plan(64, 64, 0, 64, real=True, precision="fp64", io="float16")
    # of the cluster forms only the two half-rows read and write 16-bit rows
    p = make_plan(1 << 15, 1 << 15, 0, 1 << 15, real=True, precision="fp32", io="float16",
                  layout="cluster")
    assert p.layout == "cluster" and p.halves and p.io == "float16"
    for L, precision in ((1 << 15, "tf32"), (1 << 14, "fp32"), (1 << 16, "fp32")):
        with pytest.raises(fc.UnsupportedPlanError, match="two-half-row form only"):
            make_plan(L, L, 0, L, real=True, precision=precision, io="float16", layout="cluster")


@pytest.mark.parametrize("precision", ["auto", "fp16", "bf16"])
def test_causal_conv_float16_on_the_host(precision):
    u = RNG.standard_normal((2, 3, 1000)).astype(np.float16)
    k = RNG.standard_normal((3, 200)).astype(np.float32)
    g = (1 + 0.1 * RNG.standard_normal(u.shape)).astype(np.float16)
    y = fc.causal_conv(u, k, pre_gate=g, post_gate=g, precision=precision)
    assert y.dtype == np.float16 and y.shape == u.shape
    uf, gf = u.astype(np.float64), g.astype(np.float64)
    ref = ss.fftconvolve(uf * gf, k[None].astype(np.float64), axes=-1)[..., :1000] * gf
    assert rel_error(y, ref) <= io_tolerance("float16", "fp32")


def test_causal_conv_16bit_errors():
    u = np.zeros((2, 64), np.float16)
    with pytest.raises(TypeError, match="real kernel"):
        fc.causal_conv(u, np.ones((2, 8), np.complex64))
    with pytest.raises(ValueError, match="pre_gate must be a float16"):
        fc.causal_conv(u, np.ones((2, 8), np.float32), pre_gate=np.ones((2, 64), np.float32))
    with pytest.raises(fc.UnsupportedPlanError):
        fc.causal_conv(u, np.ones((2, 8), np.float32), precision="fp64")


def test_every_tensor_core_precision_is_in_the_support_table():
    for name in TC:
        p = PRECISIONS[name]
        assert p.mma and p.ctype == "float" and p.unit.startswith("tensor cores")


@pytest.mark.parametrize("mode", ["circular", "causal", "same"])
def test_fftconv_float16_plan_on_the_host(mode):
    L, K = 512, 512 if mode == "circular" else 100
    k = RNG.standard_normal((4, K)).astype(np.float32)
    conv = fc.FFTConv((2, 4, L), k[None], mode=mode, dtype="float16", precision="auto")
    assert conv.plan.io == "float16"
    x = RNG.standard_normal((2, 4, L)).astype(np.float16)
    y = conv(x)
    assert y.dtype == np.float16 and y.shape == (2, 4, L)
    xf, kf = x.astype(np.float64), k.astype(np.float64)[None]
    if mode == "circular":
        ref = np.fft.irfft(np.fft.rfft(xf) * np.fft.rfft(kf), n=L)
    elif mode == "causal":
        ref = ss.fftconvolve(xf, kf, axes=-1)[..., :L]
    else:
        ref = ss.fftconvolve(xf, kf, mode="same", axes=-1)
    assert rel_error(y, ref) <= io_tolerance("float16", conv.plan.precision)
    with pytest.raises(TypeError, match="float16 signals"):
        conv(x.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.dtype("float16"), "float16", "f2", "half"])
def test_fftconv_16bit_dtype_spellings(dtype):
    # a NumPy type or dtype asks for 16-bit rows as the string does (not float32 results)
    k = RNG.standard_normal((1, 4, 256)).astype(np.float32)
    conv = fc.FFTConv((2, 4, 256), k, mode="causal", dtype=dtype)
    assert conv.io16 == "float16" and conv.plan.io == "float16"
    y = conv(RNG.standard_normal((2, 4, 256)).astype(np.float16))
    assert y.dtype == np.float16


def test_big_endian_16bit_signals():
    # 16-bit rows travel as bit patterns: non-native byte order is swapped first
    u = RNG.standard_normal((2, 3, 64)).astype(np.float16)
    k = RNG.standard_normal((3, 5))
    want = fc.causal_conv(u, k)
    assert np.array_equal(fc.causal_conv(u.astype(">f2"), k), want)
    conv = fc.FFTConv(u.shape, k[None], mode="causal", dtype="float16")
    assert np.array_equal(conv(u.astype(">f2")), conv(u))


def test_dtype_spelling():
    from fftconv_cupy.runtime.arrays import dtype_spelling
    assert [dtype_spelling(d) for d in (None, "bfloat16", np.float32, np.dtype("complex64"))] == \
        [None, "bfloat16", "float32", "complex64"]


@pytest.mark.parametrize("order", [3, 4, 6])
def test_monarch_orders_with_tensor_cores(order):
    err, plan = emulated(4096, 4096, "fp16", order=order)
    assert len(plan.row.radices) == order
    assert err < 1e-6, (plan.describe(), err)
