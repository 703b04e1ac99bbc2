"""Rendered CUDA: deterministic, matches golden files, and every variant compiles with NVRTC."""
import os
from pathlib import Path

import jinja2
import pytest

from fftconv_cupy.codegen.nvrtc import compile_cubin, nvrtc_available
from fftconv_cupy.codegen.render import render
from fftconv_cupy.codegen.source import render_plan, template_params
from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.plan.sparsity import Sparsity, pattern_mask, sparsify

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

# (name, make_plan arguments) for the golden files
GOLDEN_PLANS = {
    "fused_real_fp32_4096": dict(len_x=4096, len_k=4096, out_start=0, out_len=4096, real=True, precision="fp32"),
    "fused_real_fp32_512_lane_pairs": dict(len_x=512, len_k=512, out_start=0, out_len=512, real=True, precision="fp32"),
    "fused_complex_fp64_420": dict(len_x=300, len_k=121, out_start=0, out_len=420, real=False, precision="fp64"),
    "cluster_real_fp32_32K_halves": dict(len_x=1 << 15, len_k=1 << 15, out_start=0, out_len=1 << 15, real=True, precision="fp32"),
    "cluster_real_fp32_128K": dict(len_x=1 << 17, len_k=1 << 17, out_start=0, out_len=1 << 17, real=True, precision="fp32", layout="cluster"),
    "fused_real_fp32_8192_block25": dict(len_x=8192, len_k=8192, out_start=0, out_len=8192, real=True, precision="fp32", segment=False, sparsity=("block", 0.25)),
    "three_pass_real_fp32_1M_block25": dict(len_x=1 << 20, len_k=1 << 20, out_start=0, out_len=1 << 20, real=True, precision="fp32", sparsity=("block", 0.25)),
    "three_pass_real_fp32_1M": dict(len_x=1 << 20, len_k=1 << 20, out_start=0, out_len=1 << 20, real=True, precision="fp32"),
    "fused_real_fp16_4096_io16": dict(len_x=4096, len_k=4096, out_start=0, out_len=4096, real=True, precision="fp16", io="float16"),
    "three_pass_real_bf16_1M_io_bf16_gated": dict(len_x=1 << 20, len_k=1 << 20, out_start=0, out_len=1 << 20, real=True, precision="bf16", io="bfloat16", gates=(True, True)),
}

# Every template variant: layout x real/complex x precision, radices 2..16 and 3/5/7, vector widths.
VARIANTS = [
    dict(len_x=128, len_k=128, out_start=0, out_len=128, real=True, precision="fp32"),            # 16x8, vec 4
    dict(len_x=1, len_k=1, out_start=0, out_len=1, real=True, precision="fp32"),                  # m=1, no stage
    dict(len_x=99, len_k=7, out_start=3, out_len=99, real=True, precision="fp32"),                # odd: vec 1
    dict(len_x=102, len_k=5, out_start=2, out_len=102, real=True, precision="fp64"),              # vec 2
    dict(len_x=300, len_k=121, out_start=0, out_len=420, real=False, precision="fp32"),           # 3x5x7x4
    dict(len_x=300, len_k=121, out_start=0, out_len=420, real=False, precision="fp64"),
    dict(len_x=16384, len_k=16384, out_start=0, out_len=16384, real=True, precision="fp32"),      # largest fused
    dict(len_x=512, len_k=512, out_start=0, out_len=512, real=True, precision="fp64"),            # lane pairs
    dict(len_x=700, len_k=324, out_start=0, out_len=1023, real=True, precision="fp32", io="bfloat16", gates=(True, True)),
    dict(len_x=777, len_k=55, out_start=0, out_len=831, real=True, precision="fp64", layout="three_pass"),
    dict(len_x=4096, len_k=300, out_start=0, out_len=4096, real=False, precision="fp32", layout="three_pass"),
    dict(len_x=1 << 15, len_k=1 << 15, out_start=0, out_len=1 << 15, real=True, precision="fp32", layout="cluster"),
    dict(len_x=1 << 17, len_k=1 << 17, out_start=0, out_len=1 << 17, real=True, precision="fp32", layout="cluster"),
    dict(len_x=1 << 14, len_k=1 << 15, out_start=0, out_len=(3 << 14) - 1, real=True, precision="fp32", n=1 << 16),  # halves, outputs in both
    dict(len_x=1 << 16, len_k=1 << 16, out_start=0, out_len=1 << 16, real=True, precision="fp32", circular=True),  # halves, signal in both
    dict(len_x=30001, len_k=30001, out_start=5, out_len=30001, real=True, precision="fp32", layout="cluster"),
    dict(len_x=1 << 15, len_k=1 << 15, out_start=0, out_len=1 << 15, real=False, precision="fp64", layout="cluster"),
    dict(len_x=1 << 20, len_k=1 << 20, out_start=0, out_len=1 << 20, real=True, precision="fp32"),
    dict(len_x=1 << 20, len_k=1 << 20, out_start=0, out_len=1 << 20, real=True, precision="fp64"),
    dict(len_x=1 << 20, len_k=4096, out_start=0, out_len=1 << 20, real=True, precision="fp32"),     # overlap-save, vectors
    dict(len_x=1 << 20, len_k=4096, out_start=0, out_len=1 << 20, real=True, precision="fp64"),
    dict(len_x=100001, len_k=999, out_start=0, out_len=100001, real=True, precision="fp32"),       # overlap-save, per sample
    dict(len_x=100000, len_k=999, out_start=0, out_len=100000, real=False, precision="fp32"),
    # tensor-core stages (radix 16 and 8, every operand type) and 16-bit rows
    dict(len_x=4096, len_k=4096, out_start=0, out_len=4096, real=True, precision="tf32"),
    dict(len_x=1024, len_k=1024, out_start=0, out_len=1024, real=True, precision="bf16", io="bfloat16"),
    dict(len_x=16384, len_k=16384, out_start=0, out_len=16384, real=True, precision="fp16", io="float16", gates=(True, True)),
    dict(len_x=300, len_k=121, out_start=0, out_len=420, real=False, precision="fp16"),
    dict(len_x=1 << 16, len_k=1 << 16, out_start=0, out_len=1 << 16, real=True, precision="tf32", io="float16"),
    dict(len_x=99, len_k=7, out_start=3, out_len=99, real=True, precision="fp32", io="bfloat16"),
    dict(len_x=1 << 15, len_k=1 << 15, out_start=0, out_len=1 << 15, real=True, precision="fp32", io="float16"),  # halves
    dict(len_x=777, len_k=55, out_start=0, out_len=831, real=True, precision="fp32", io="float16", layout="three_pass"),
    dict(len_x=100001, len_k=999, out_start=0, out_len=100001, real=True, precision="fp16", io="float16"),
    dict(len_x=1 << 20, len_k=4096, out_start=0, out_len=1 << 20, real=True, precision="bf16", io="bfloat16"),
]


def golden_plan(sparsity=None, **args):
    plan = make_plan(**args)
    if sparsity is None:
        return plan
    return sparsify(plan, pattern_mask(plan, Sparsity(*sparsity)))


@pytest.mark.parametrize("name", sorted(GOLDEN_PLANS))
def test_golden(name):
    code = render_plan(golden_plan(**GOLDEN_PLANS[name])).code
    path = GOLDEN / f"{name}.cu"
    if os.environ.get("FFTCONV_CUPY_UPDATE_GOLDEN") == "1":
        path.write_text(code)
    assert path.exists(), f"missing golden file {path}; run with FFTCONV_CUPY_UPDATE_GOLDEN=1"
    assert code == path.read_text(), f"{name}: rendered source differs from {path}"


def test_deterministic():
    plan = make_plan(**GOLDEN_PLANS["three_pass_real_fp32_1M"])
    assert render_plan(plan).code == render_plan(plan).code
    assert render_plan(plan).digest == render_plan(make_plan(**GOLDEN_PLANS["three_pass_real_fp32_1M"])).digest


def test_strict_undefined():
    params = template_params(make_plan(**GOLDEN_PLANS["fused_real_fp32_4096"]))
    del params["nz"]
    with pytest.raises(jinja2.UndefinedError):
        render("conv.cu.j2", **params)


def test_padding_never_loaded_in_source():
    """Causal plans pass the nonzero count to the first stage: the zero half is never read."""
    code = render_plan(make_plan(**GOLDEN_PLANS["fused_real_fp32_4096"])).code
    assert "constexpr int NZ = 2048;" in code


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC is not installed")
@pytest.mark.parametrize("args", VARIANTS, ids=lambda a: f"{a.get('layout', 'auto')}-{'r' if a['real'] else 'c'}-{a['precision']}-{a['len_x']}")
def test_compiles_sm90(args):
    plan = make_plan(**args)
    src = render_plan(plan)
    cubin = compile_cubin(src.code, arch="sm_90", plan=plan.describe())
    assert cubin[:4] == b"\x7fELF"
    for entry in src.entries:
        assert entry.encode() in cubin


# the executor's launch arguments per entry: 'P' a pointer, 'i' an int (runtime/executor.py)
EXECUTOR_SIGNATURES = {
    "fftconv_fused": "PPPPPiiiPP", "fftconv_cluster": "PPPPPiiiPP",
    "fftconv_col_fwd": "PPPPiiiPP", "fftconv_rows": "PPPPiiiP", "fftconv_col_inv": "PPPPiiiPP",
    "fftconv_args": "PPPPPP",
}


@pytest.mark.parametrize("args", VARIANTS, ids=lambda a: f"{a.get('layout', 'auto')}-{'r' if a['real'] else 'c'}-{a['precision']}-{a['len_x']}")
def test_entry_signatures_match_the_executor(args):
    # the launcher packs plain ints by these kinds: a template parameter added, removed or
    # retyped without the executor following would pass garbage to the kernel
    src = render_plan(make_plan(**args))
    assert dict(zip(src.entries, src.signatures)) == {e: EXECUTOR_SIGNATURES[e] for e in src.entries}


def test_package_data_ships_every_template_and_header():
    # a non-editable install must carry every file the renderer and NVRTC read
    import re
    import tomllib
    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["fftconv_cupy"]
    pkg = root / "fftconv_cupy"
    files = [p.relative_to(pkg).as_posix() for p in (pkg / "templates").rglob("*") if p.is_file()]
    assert files
    # setuptools globs: '*' stays within one directory
    pats = [re.compile(re.escape(g).replace(r"\*", "[^/]*") + "$") for g in globs]
    missing = [f for f in files if not any(p.match(f) for p in pats)]
    assert not missing, missing


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC is not installed")
@pytest.mark.parametrize("switch", [dict(col_direct=False), dict(fuse_middle=False),
                                    dict(col_direct=False, fuse_middle=False)],
                         ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
@pytest.mark.parametrize("n", [1 << 15, 1 << 20])
def test_three_pass_switches_compile(n, switch):
    """The shared-memory column kernels and the unfused middle stay generated (sparse and
    tensor-core plans use them) and compile; the default plan uses neither."""
    from dataclasses import replace
    plan = make_plan(n, n, 0, n, real=True, precision="fp32", layout="three_pass")
    default = render_plan(plan).code
    assert "col_stage<" in default and "middle_pairs<" in default
    variant = replace(plan, **switch)
    src = render_plan(variant)
    assert ("col_stage<" in src.code) == variant.direct_columns
    assert ("middle_pairs<" in src.code) == variant.middle_rows
    cubin = compile_cubin(src.code, arch="sm_90", plan=variant.describe())
    for entry in src.entries:
        assert entry.encode() in cubin


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC is not installed")
@pytest.mark.parametrize("n,precision", [(1 << 21, "fp32"), (1 << 22, "fp32")])
def test_column_swizzle_renders_and_compiles(n, precision):
    """col_swizzle (off by default): the direct column kernels index their exchange buffer
    through col_row with the model's bit; the default rendering does not mention it."""
    from dataclasses import replace
    from fftconv_cupy.plan.plan import _transform
    plan = make_plan(n, n, 0, n, real=True, precision=precision)
    # the radix-16 columns the swizzle was modelled for, 8 per block
    plan = replace(plan, col=_transform(plan.b), groups=8, regs_col=64)
    assert plan.col_swizzle_bit == 0 and "col_row<" not in render_plan(plan).code
    variant = replace(plan, col_swizzle=True)
    src = render_plan(variant)
    assert variant.col_swizzle_bit == 3 and "col_row<3, C, T>" in src.code
    cubin = compile_cubin(src.code, arch="sm_90", plan=variant.describe())
    for entry in src.entries:
        assert entry.encode() in cubin


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC is not installed")
@pytest.mark.parametrize("n,precision,default", [(4096, "fp32", False), (1 << 20, "fp32", False),
                                                 (8192, "fp32", True), (4096, "fp64", True)])
def test_table_powers_render_and_compile(n, precision, default):
    """Stage tables above full_table_bytes hold powers of two only: the kernel is told the
    limit (it applies the same rule per stage), the tables shrink, and the kernels compile.
    fp32 4K (a 32 KiB table) keeps full tables by default; fp32 8K and fp64 4K do not."""
    from dataclasses import replace
    plan = make_plan(n, n, 0, n, real=True, precision=precision)
    assert plan.table_powers == default
    assert ("#define FC_FULL_TABLE_BYTES 32768" in render_plan(plan).code) == default
    variant = replace(plan, full_table_bytes=0)
    src = render_plan(variant)
    assert variant.table_powers and "#define FC_FULL_TABLE_BYTES 0" in src.code
    assert variant.stage_tables_end < plan.stage_tables_end or default
    cubin = compile_cubin(src.code, arch="sm_90", plan=variant.describe())
    for entry in src.entries:
        assert entry.encode() in cubin


@pytest.mark.parametrize("args, direct", [
    ((4096, 4096, 0, 4096, True, "fp32", None), True),          # fused real
    ((420, 420, 0, 420, False, "fp64", None), True),            # fused complex, mixed radices
    ((1 << 20, 1 << 20, 0, 1 << 20, True, "fp32", None), True),  # three-pass middle pass
    ((1 << 20, 4096, 0, 1 << 20, True, "fp32", None), True),     # overlap-save blocks
    ((1 << 15, 1 << 15, 0, 1 << 15, True, "fp32", "cluster"), False),
    ((4096, 4096, 0, 4096, True, "bf16", None), False),          # end stages on tensor cores
])
def test_direct_row_ends(args, direct):
    """Plan.direct_rows: the first forward stage reads the row through `in` and the last
    inverse stage hands `out` its points, with no staging of the row in shared memory;
    the cluster layout (rows arrive through distributed shared memory) and tensor-core end
    stages keep staged rows, and row_direct=False restores them."""
    from dataclasses import replace
    n, k, s0, ol, real, precision, layout = args
    plan = make_plan(n, k, s0, ol, real=real, precision=precision, layout=layout)
    code = render_plan(plan).code
    assert plan.direct_rows == direct
    assert ("first_stage_in<" in code and "last_stage_out<" in code) == direct
    staged_loads = ("load_real_row<", "load_points<T, NZ", "load_points<T, A")
    if direct:
        assert not any(s in code for s in staged_loads)
        staged = render_plan(replace(plan, row_direct=False)).code
        assert "first_stage_in<" not in staged and any(s in staged for s in staged_loads)


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC is not installed")
@pytest.mark.parametrize("n, row, col", [(8192, None, None), (1 << 16, None, None),
                                          (1 << 21, None, None), (1 << 22, None, None),
                                          (878080, None, None),
                                          (1024, (32, 32), None), (16384, (32, 16, 32), None),
                                          (1 << 21, None, (16, 32))])
def test_radix32_renders_and_compiles(n, row, col):
    """Radix 32 (rotations in 32nds of a turn): the planner's fp32 8K rows and 64K / 2M / 4M
    columns, and explicit radices elsewhere."""
    from dataclasses import replace
    from fftconv_cupy.plan.plan import _threads_for
    plan = make_plan(n, n, 0, n, real=True, precision="fp32")
    assert (32 in plan.row.radices + (plan.col.radices if plan.col else ())) == (row is None)
    if row:
        plan = replace(plan, row=replace(plan.row, radices=row, threads=_threads_for(n, 32)))
    if col:
        plan = replace(plan, col=replace(plan.col, radices=col, threads=_threads_for(plan.b, 32)))
    src = render_plan(plan)
    assert "32," in src.code
    cubin = compile_cubin(src.code, arch="sm_90", plan=plan.describe())
    for entry in src.entries:
        assert entry.encode() in cubin
