"""Launches of a row-pair plan (plan/pairs.py): one block per pair of rows of a channel."""
from __future__ import annotations

import functools
import threading

from ..codegen.compile import get_kernel
from ..codegen.source import render_pairs
from ..plan.pairs import SUB, PairPlan, device_tables


@functools.lru_cache(maxsize=16)
def _device_tables(n: int, segments: int, device: int):
    import cupy
    return tuple(cupy.asarray(t) for t in device_tables(n, segments))


@functools.lru_cache(maxsize=16)
def _sm_count(device: int) -> int:
    import cupy
    return cupy.cuda.runtime.getDeviceProperties(device)["multiProcessorCount"]


class _DeviceState:
    """A row-pair executor's per-device launch state: its launcher and table pointers."""

    def __init__(self, plan: PairPlan, kernel, device: int):
        self.device = device
        self.tables = _device_tables(SUB, plan.segments, device)   # kept alive here
        self.table_ptrs = tuple(t.data.ptr for t in self.tables)
        self.launch = kernel.launcher("fftconv_pairs", plan.threads, plan.dynamic_smem)
        self.grid_cap = plan.grid_per_sm * _sm_count(device) if plan.grid_per_sm else 0


class PairExecutor:
    """y rows = x rows (*) kernel spectrum rows for 16-bit rows, 2 S rows of a channel per
    block: rows (b + j) H + h, j < 2 S, for b a multiple of 2 S (so is the batch)."""

    def __init__(self, plan: PairPlan):
        self.plan = plan
        self.kernel = get_kernel(render_pairs(plan))
        self._devices: dict[int, _DeviceState] = {}
        self._lock = threading.Lock()

    def _state(self) -> _DeviceState:
        import cupy
        device = cupy.cuda.runtime.getDevice()
        state = self._devices.get(device)
        if state is None:
            with self._lock:
                state = self._devices.get(device)
                if state is None:
                    state = self._devices[device] = _DeviceState(self.plan, self.kernel, device)
        return state

    def _refuse(self, device, shape, channels, x, hs, y, pre_gate, post_gate):
        """Raise for the operand the launch cannot take (the checks of the fast path, with
        the operand's name)."""
        from .executor import _wrong_device
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
        if hs.size != channels * (self.plan.spectrum_words + 1):
            raise ValueError("the kernel spectrum was made for another plan or channel count")
        _wrong_device(device, signal=x, output=y, kernel_spectrum=hs, pre_gate=pre_gate,
                      post_gate=post_gate)
        raise AssertionError("operands refused without a reason")   # the fast path disagrees

    def __call__(self, x, hs, y, *, batch: int, channels: int, tmp_bytes=None,
                 pre_gate=None, post_gate=None):
        plan = self.plan
        if (pre_gate is not None) != plan.gate_pre or (post_gate is not None) != plan.gate_post:
            raise ValueError("the gates given do not match the plan's")
        per = plan.rows_per_block
        if batch % per or batch < per:
            raise ValueError(f"a row-pair plan needs a batch that is a multiple of {per}, got {batch}")
        state = self._state()
        dev = state.device
        shape = (batch * channels, plan.len_x)
        # inline (a few us a call: the launch of a 0.1 ms kernel should not wait on them)
        ok = hs.dtype.itemsize == 4 and hs.size == channels * (plan.spectrum_words + 1) and \
            hs.data.device_id == dev
        ptrs = []
        for a in (x, y, pre_gate, post_gate):
            if a is None:
                ptrs.append(0)
                continue
            mem = a.data
            ok = ok and a.shape == shape and a.dtype.itemsize == 2 and a.flags.c_contiguous and \
                mem.ptr % 16 == 0 and mem.device_id == dev
            ptrs.append(mem.ptr)
        if not ok:
            self._refuse(dev, shape, channels, x, hs, y, pre_gate, post_gate)
        grid = channels * batch // per
        if state.grid_cap:
            grid = min(grid, state.grid_cap)
        spec = hs.data.ptr
        state.launch((grid,), ptrs[0], ptrs[1], spec, spec + 4 * channels * plan.spectrum_words,
                     *state.table_ptrs, batch // per, channels, ptrs[2], ptrs[3])
