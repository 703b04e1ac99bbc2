"""Launches of a row-pair plan (plan/pairs.py): one block per pair of rows of a channel."""
from __future__ import annotations

import functools
import threading

from ..codegen.compile import get_kernel
from ..codegen.source import render_pairs
from ..plan.pairs import THREADS, PairPlan, device_tables


@functools.lru_cache(maxsize=16)
def _device_tables(n: int, segments: int, device: int):
    import cupy
    return tuple(cupy.asarray(t) for t in device_tables(n, segments))


@functools.lru_cache(maxsize=16)
def _sm_count(device: int) -> int:
    import cupy
    return cupy.cuda.runtime.getDeviceProperties(device)["multiProcessorCount"]


class PairExecutor:
    """y rows = x rows (*) kernel spectrum rows for 16-bit rows, 2 S rows of a channel per
    block: rows (b + j) H + h, j < 2 S, for b a multiple of 2 S (so is the batch)."""

    def __init__(self, plan: PairPlan):
        self.plan = plan
        self.kernel = get_kernel(render_pairs(plan))
        self._launchers: dict[int, object] = {}
        self._lock = threading.Lock()

    def _launcher(self, device: int):
        launcher = self._launchers.get(device)
        if launcher is None:
            with self._lock:
                launcher = self._launchers.setdefault(
                    device, self.kernel.launcher("fftconv_pairs", THREADS))
        return launcher

    def __call__(self, x, hs, y, *, batch: int, channels: int, tmp_bytes=None,
                 pre_gate=None, post_gate=None):
        import cupy
        from .executor import _wrong_device
        plan = self.plan
        if (pre_gate is not None) != plan.gate_pre or (post_gate is not None) != plan.gate_post:
            raise ValueError("the gates given do not match the plan's")
        per = plan.rows_per_block
        if batch % per or batch < per:
            raise ValueError(f"a row-pair plan needs a batch that is a multiple of {per}, got {batch}")
        shape = (batch * channels, plan.len_x)
        for name, a in (("signal rows", x), ("output rows", y), ("pre_gate rows", pre_gate),
                        ("post_gate rows", post_gate)):
            if a is None:
                continue
            if a.shape != shape or a.dtype.itemsize != 2 or not a.flags.c_contiguous:
                raise ValueError(f"{name} must be C-contiguous 16-bit {shape}, got {a.dtype} {a.shape}")
            if a.data.ptr % 16:         # the kernel reads 8-byte and writes 16-byte pieces
                raise ValueError(f"{name} must be 16-byte aligned for a row-pair plan")
        if hs.dtype.itemsize != 4:
            raise ValueError("the kernel spectrum was made for another plan")
        if hs.size != channels * (plan.spectrum_words + 1):
            raise ValueError("the kernel spectrum was made for another plan or channel count")
        device = cupy.cuda.runtime.getDevice()
        _wrong_device(device, signal=x, output=y, kernel_spectrum=hs, pre_gate=pre_gate,
                      post_gate=post_gate)
        tw3f, tw3i, lanec = _device_tables(plan.n, plan.segments, device)
        spec = hs.data.ptr
        gates = [0 if a is None else a.data.ptr for a in (pre_gate, post_gate)]
        grid = channels * batch // per
        if plan.grid_per_sm:
            grid = min(grid, plan.grid_per_sm * _sm_count(device))
        self._launcher(device)((grid,), x.data.ptr, y.data.ptr, spec,
                               spec + 4 * channels * plan.spectrum_words, tw3f.data.ptr,
                               tw3i.data.ptr, lanec.data.ptr, batch // per, channels, *gates)
