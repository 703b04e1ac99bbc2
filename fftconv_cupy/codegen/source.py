"""Plan -> KernelSource: the only place plan fields become template parameters."""
from __future__ import annotations

from ..plan.plan import Plan, padded
from ..plan.sparsity import forward_modes, inverse_modes
from .compile import KernelSource
from .render import render

TEMPLATE = "conv.cu.j2"
IO_TYPES = {"float16": "Half", "bfloat16": "BHalf"}        # io.cuh
MMA_TYPES = {"f16": "F16", "bf16": "BF16", "tf32": "TF32"}  # mma.cuh


def entries(plan: Plan) -> tuple[str, ...]:
    if plan.layout == "fused":
        return ("fftconv_fused",)
    if plan.layout == "cluster":
        return ("fftconv_cluster",)
    return ("fftconv_col_fwd", "fftconv_rows", "fftconv_col_inv", "fftconv_args")


def template_params(plan: Plan) -> dict:
    lo, _ = plan.twiddle_tables
    params = dict(
        describe=plan.describe(), ctype=plan.prec.ctype, real=plan.real, layout=plan.layout,
        m=plan.m, q=plan.q, lo_bits=lo.bit_length() - 1, nz=plan.nz, len_x=plan.len_x,
        out_start=plan.out_start, out_len=plan.out_len, row_threads=plan.row.threads,
        groups=plan.groups, row_stride=plan.row_stride, row_stages=plan.row.stages,
        vec_in=plan.vec_in, vec_out=plan.vec_out, vec_tmp=plan.vec_tmp,
        row_min_blocks=plan.min_blocks[0], col_min_blocks=plan.min_blocks[1], seg=plan.seg,
        gate_pre=plan.gate_pre, gate_post=plan.gate_post, sparse=plan.sparse,
        dense_row=(0,) * len(plan.row.radices), stage_tables=plan.stage_tables,
        fused_middle=plan.fused_middle, middle_rows=plan.middle_rows, direct=plan.direct_columns,
        column_twiddles=plan.column_twiddles, direct_rows=plan.direct_rows,
        full_table_bytes=plan.full_table_bytes if plan.table_powers else None,
        out_points=plan.out_points, halves=plan.halves, lane_pairs=plan.lane_pairs,
    )
    # the transform a sparse plan prunes: the row when fused, the columns of three passes
    first = plan.row if plan.layout == "fused" else plan.col
    grain = plan.sparse.grain if plan.sparse is not None else 1
    fwd = forward_modes(first.radices, grain)
    params.update(fwd_modes=fwd, inv_modes=inverse_modes(first.radices, grain, first.size))
    params.update(io_type=IO_TYPES[plan.io] if plan.io else f"Native<{plan.prec.ctype}>",
                  mma=MMA_TYPES.get(plan.prec.mma, ""), mma_terms=plan.mma_terms)
    # tensor-core stages (a sparse plan's skipping stages stay on CUDA cores; its
    # inverse skips in the same stages as its forward ones, so one flag list serves both)
    for name, tf in (("row", plan.row), ("col", plan.col)):
        modes = fwd if tf is first else None
        tc = plan.tc_stages(tf, modes) if tf is not None else ()
        if tf is first and plan.sparse is not None:
            inv = plan.tc_stages(tf, params["inv_modes"])
            tc = tuple(a and b for a, b in zip(tc, inv))
        params[f"{name}_tc"] = tc
        params[f"{name}_tc_radices"] = sorted({r for r, t in zip(tf.radices, tc) if t}) if tf else []
    if plan.col is not None:
        params.update(a=plan.a, b=plan.b, col_threads=plan.col.threads,
                      col_stride=padded(plan.b), col_stages=plan.col.stages,
                      col_swizzle_bit=plan.col_swizzle_bit)
    return params


def render_plan(plan: Plan) -> KernelSource:
    code = render(TEMPLATE, **template_params(plan))
    return KernelSource(code=code, entries=entries(plan), plan=plan.describe())


PAIRS_TEMPLATE = "pairs.cu.j2"


def render_pairs(plan) -> KernelSource:
    """A row-pair plan (plan/pairs.py) -> its kernel source."""
    code = render(PAIRS_TEMPLATE, describe=plan.describe(), min_blocks=plan.min_blocks,
                  s3_unroll=plan.s3_unroll, n=plan.n, length=plan.len_x,
                  gate_pre=plan.gate_pre, gate_post=plan.gate_post, segments=plan.segments,
                  assume_threads=plan.assume_threads, rebased=plan.rebased, split=plan.split,
                  threads=plan.threads, dynamic_smem=plan.dynamic_smem,
                  lane_points=plan.lane_points,
                  early_loads=plan.early_loads and plan.grid_per_sm > 0 and not plan.gate_pre)
    return KernelSource(code=code, entries=("fftconv_pairs",), plan=plan.describe())
