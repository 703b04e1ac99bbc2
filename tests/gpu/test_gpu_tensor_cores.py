"""Tensor-core precisions and 16-bit I/O on the device.

Every case: random inputs rounded to the I/O dtype, outputs poisoned with NaN before
the launch, the float64 oracle on the rounded inputs, the target of plan/support.py.
"""
import re
import shutil
import subprocess

import numpy as np
import pytest
import scipy.signal as ss

import fftconv_cupy as fc
from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.plan.spectrum import kernel_spectrum
from fftconv_cupy.plan.support import io_tolerance, rel_error
from fftconv_cupy.runtime import arrays

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")

RNG = np.random.default_rng()
TC = ["fp16", "bf16", "tf32"]


def case(L, K, precision, io, *, rows=4, channels=2, gates=False, layout=None, segment=None,
         start=0, length=None):
    from fftconv_cupy.runtime.executor import GPUExecutor
    length = L if length is None else length
    plan = make_plan(L, K, start, length, real=True, precision=precision, io=io, layout=layout,
                     segment=segment, gates=(gates, gates))
    raw = arrays.BITS16[io] if io else np.dtype(np.float32)

    def rounded(shape):
        a = RNG.standard_normal(shape).astype(np.float32)
        if io:
            b = arrays.float_to_bits16(a, io)
            return b, arrays.bits16_to_float(b, io).astype(np.float64)
        return a, a.astype(np.float64)

    xb, xf = rounded((rows, L))
    k = RNG.standard_normal((channels, K)).astype(np.float32)
    g1b, g1f = rounded((rows, L))
    g2b, g2f = rounded((rows, length))
    hs = kernel_spectrum(plan, cupy.asarray(k), cupy)
    # poison: NaN (0xFFFF is a NaN pattern in fp16 and in bf16)
    y = (cupy.full((rows, length), 0xFFFF, dtype=np.uint16).view(raw) if io
         else cupy.full((rows, length), np.nan, dtype=raw))
    kw = dict(pre_gate=cupy.asarray(g1b), post_gate=cupy.asarray(g2b)) if gates else {}
    xg = cupy.asarray(xb)
    GPUExecutor(plan.with_alignment(xg.data.ptr, y.data.ptr))(xg, hs, y, batch=rows // channels,
                                                              channels=channels, **kw)
    ch = np.arange(rows) % channels
    xin = xf * g1f if gates else xf
    full = ss.fftconvolve(xin, k[ch].astype(np.float64), axes=-1)
    ref = full[:, start:start + length] * (g2f if gates else 1)
    out = cupy.asnumpy(y)
    out = arrays.bits16_to_float(out, io) if io else out
    assert not np.isnan(out).any(), "unwritten outputs (NaN pattern survived)"
    assert np.array_equal(cupy.asnumpy(xg), xb), "input modified"
    return rel_error(out, ref, None if gates else full), plan


@pytest.mark.parametrize("io", [None, "float16", "bfloat16"])
@pytest.mark.parametrize("precision", TC + ["fp32"])
@pytest.mark.parametrize("L", [128, 1000, 1024, 4096, 12345, 16384, 1 << 15, 65536, 1 << 18])
def test_causal(L, precision, io):
    err, plan = case(L, L, precision, io)
    assert plan.halves == (L == 1 << 15 and precision == "fp32"), plan.describe()
    assert err <= io_tolerance(io, precision), (plan.describe(), err)


@pytest.mark.parametrize("io", ["float16", "bfloat16"])
@pytest.mark.parametrize("start,length", [(0, (1 << 16) - 1), (20000, 45535), (33000, 32535)])
def test_halves_16bit_windows(start, length, io):
    # the two-half-row cluster (fp32 32K): outputs in both halves or the upper one only
    # (windows reaching the full output's end: the FFT size stays 64K)
    err, plan = case(1 << 15, 1 << 15, "fp32", io, start=start, length=length)
    assert plan.layout == "cluster" and plan.halves, plan.describe()
    assert err <= io_tolerance(io, "fp32"), (plan.describe(), err)


@pytest.mark.parametrize("dtype", [np.float16, np.dtype("float16"), "float16"])
def test_fftconv_circular_float16_numpy_dtype(dtype):
    # every spelling of the dtype gives 16-bit rows (N = 64K: the two-half-row cluster)
    B, H, N = 2, 3, 1 << 16
    k = cupy.asarray(RNG.standard_normal((1, H, N)), dtype=cupy.float32)
    conv = fc.FFTConv((B, H, N), k, mode="circular", dtype=dtype)
    assert conv.plan.io == "float16" and conv.plan.halves, conv.plan.describe()
    u = cupy.asarray(RNG.standard_normal((B, H, N))).astype(cupy.float16)
    y = conv(u)
    assert y.dtype == cupy.float16 and y.shape == u.shape
    uf = cupy.asnumpy(u).astype(np.float64)
    ref = np.fft.irfft(np.fft.rfft(uf) * np.fft.rfft(cupy.asnumpy(k).astype(np.float64)), n=N)
    assert rel_error(cupy.asnumpy(y).astype(np.float64), ref) <= io_tolerance("float16", "fp32")


@pytest.mark.parametrize("io", ["float16", "bfloat16"])
@pytest.mark.parametrize("precision", ["fp16", "bf16", "fp32"])
@pytest.mark.parametrize("L", [4096, 1 << 15, 1 << 20, 1 << 22])
def test_long_and_gated(L, precision, io):
    err, plan = case(L, L, precision, io, rows=2, channels=1, gates=L <= 1 << 15)
    assert err <= io_tolerance(io, precision), (plan.describe(), err)


@pytest.mark.parametrize("io", [None, "float16"])
@pytest.mark.parametrize("precision", ["fp16", "tf32"])
@pytest.mark.parametrize("layout,segment,L,K", [("three_pass", None, 8192, 8192),
                                                (None, True, 100000, 1000),
                                                (None, None, 1 << 16, 300)])
def test_layouts(L, K, layout, segment, precision, io):
    err, plan = case(L, K, precision, io, layout=layout, segment=segment)
    assert err <= io_tolerance(io, precision), (plan.describe(), err)


def test_tensor_core_stages_are_accurate_not_just_bounded():
    # the split (3-product) stages keep fp32-level error with fp32 I/O
    for prec in TC:
        err, plan = case(4096, 4096, prec, None)
        assert plan.as_dict()["tensor_core_stages"] == 3
        assert err < 2e-5, (prec, err)


def test_torch_bf16_zero_copy():
    torch = pytest.importorskip("torch")
    u = torch.randn(2, 4, 4096, device="cuda").to(torch.bfloat16)
    k = torch.randn(4, 4096, device="cuda")
    before = u.clone()
    y = fc.causal_conv(u, k, precision="bf16")
    assert y.dtype == torch.bfloat16 and y.is_cuda and y.shape == u.shape
    assert torch.equal(u, before)
    # zero-copy in: the kernel read u's own memory (a view of it, same pointer)
    assert arrays.bits16(u, "bfloat16").data.ptr == u.data_ptr()
    ref = ss.fftconvolve(u.float().cpu().numpy().astype(np.float64), k.cpu().numpy()[None].astype(np.float64),
                         axes=-1)[..., :4096]
    assert rel_error(y.float().cpu().numpy(), ref) <= io_tolerance("bfloat16", "bf16")


def test_torch_fp16_and_cupy_fp16():
    torch = pytest.importorskip("torch")
    u = torch.randn(3, 2048, device="cuda", dtype=torch.float16)
    k = torch.randn(3, 512, device="cuda")
    y = fc.causal_conv(u, k, precision="fp16")
    assert y.dtype == torch.float16
    yc = fc.causal_conv(cupy.asarray(u), cupy.asarray(k), precision="fp16")
    assert yc.dtype == cupy.float16
    assert cupy.array_equal(cupy.asarray(y), yc)


def _sass(plan, tmp_path) -> str:
    """SASS of the plan's kernels: NVRTC's cubin through cuobjdump, or (a cuobjdump older
    than the NVRTC) NVRTC's PTX assembled by the toolkit's ptxas for the device."""
    from fftconv_cupy.codegen.compile import compile_source, device_arch
    from fftconv_cupy.codegen.nvrtc import DEFAULT_OPTIONS
    from fftconv_cupy.codegen.render import include_dir
    from fftconv_cupy.codegen.source import render_plan
    from cupy_backends.cuda.libs import nvrtc
    arch = device_arch()
    src = render_plan(plan)
    cubin = tmp_path / "k.cubin"
    cubin.write_bytes(compile_source(src, arch).cubin)
    r = subprocess.run(["cuobjdump", "-sass", str(cubin)], capture_output=True, text=True)
    if r.returncode == 0:
        return r.stdout
    prog = nvrtc.createProgram(src.code, "k.cu", [], [])
    try:
        nvrtc.compileProgram(prog, ["-arch=compute_" + arch.split("_")[1], "-I" + include_dir(),
                                    *DEFAULT_OPTIONS])
        ptx = nvrtc.getPTX(prog)
    finally:
        nvrtc.destroyProgram(prog)
    ptx = ptx if isinstance(ptx, str) else ptx.decode()
    ptx = re.sub(r"^\.version \S+", ".version 9.0", ptx, flags=re.M)   # toolkit ptxas may be older
    (tmp_path / "k.ptx").write_text(ptx)
    subprocess.run([shutil.which("ptxas"), "-arch=" + arch, str(tmp_path / "k.ptx"), "-o", str(cubin)],
                   check=True, capture_output=True, text=True)
    r2 = subprocess.run(["cuobjdump", "-sass", str(cubin)], capture_output=True, text=True)
    assert r2.returncode == 0, (r.stderr, r2.stderr)
    return r2.stdout


@pytest.mark.skipif(shutil.which("cuobjdump") is None or shutil.which("ptxas") is None,
                    reason="cuobjdump / ptxas not installed")
@pytest.mark.parametrize("precision", ["fp16", "bf16", "tf32", "fp32"])
def test_sass_has_tensor_core_instructions(tmp_path, precision):
    plan = make_plan(4096, 4096, 0, 4096, real=True, precision=precision)
    sass = _sass(plan, tmp_path)
    assert "FFMA" in sass or "FADD" in sass
    if precision == "fp32":
        assert "HMMA" not in sass
    else:
        assert "HMMA" in sass, f"no HMMA in the SASS of {plan.describe()}"


@pytest.mark.parametrize("precision", ["auto", "bf16"])
def test_fftconv_circular_bf16_torch(precision):
    torch = pytest.importorskip("torch")
    B, H, N = 4, 16, 4096
    k = torch.randn(1, H, N, device="cuda")
    conv = fc.FFTConv((B, H, N), k, mode="circular", dtype=torch.bfloat16, precision=precision)
    u = torch.randn(B, H, N, device="cuda").to(torch.bfloat16)
    y = conv(u)
    assert y.dtype == torch.bfloat16 and y.shape == u.shape and y.is_cuda
    uf = u.float().cpu().numpy().astype(np.float64)
    ref = np.fft.irfft(np.fft.rfft(uf) * np.fft.rfft(k.cpu().numpy().astype(np.float64)), n=N)
    assert rel_error(y.float().cpu().numpy(), ref) <= io_tolerance("bfloat16", conv.plan.precision)
