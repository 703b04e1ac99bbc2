"""Launch a Plan's compiled kernels on CuPy arrays."""
from __future__ import annotations

import collections
import functools
import threading

import numpy as np

from ..codegen.compile import _cuda_errors, get_kernel, launch_graph
from ..codegen.source import render_plan
from ..config import sync_enabled
from ..errors import FFTConvLaunchError
from ..plan.plan import Plan
from ..plan.twiddles import device_tables

# Three-pass plans chunk their rows: each launch covers at least this many bytes of
# intermediate (measured: fewer, larger launches beat L2-sized chunks while the passes
# run one after the other), and never more than the input's own size.
TMP_TARGET_BYTES = 24 << 20
MIN_BLOCKS_PER_LAUNCH = 528   # four waves on 132 SMs

# fp32 three-pass plans whose rows hold at most GRAPH_ROW_BYTES of intermediate replay one
# CUDA graph instead: chunks of about GRAPH_CHUNK_BYTES round-robin over GRAPH_BRANCHES
# concurrent branches, each with its own intermediate, so a chunk stays in L2 between its
# passes and one chunk's column pass runs beside another's middle pass.  H200, eager ->
# graph: fp32 64K 2.47 -> 2.26 ms, 128K 2.58 -> 2.48; 256K / 512K within 2 %; 1M (8 MiB
# rows) 3.73 -> 4.00; fp64 64K 3.48 -> 3.57 (there and for 16-bit I/O, unmeasured, eager).
# A call shape is captured the second time it is met (a capture costs milliseconds).
GRAPH_ROW_BYTES = 1 << 20
GRAPH_CHUNK_BYTES = 8 << 20
GRAPH_BRANCHES = 3
GRAPH_CACHE = 6               # graphs kept by the process (each holds GRAPH_BRANCHES intermediates)
GRAPH_CAPTURES = 3            # a call shape captured this often (evicted between) runs eagerly

# Process-wide, least recently used first: (plan, rows, batch, channels, device, stream,
# thread) -> (graph, pointer array, what the graph points into: intermediates, tables, the
# kernel's modules).  _SEEN: the same keys -> captures made so far (GRAPH_CAPTURES: eager,
# also after a failed capture).
_GRAPHS: collections.OrderedDict = collections.OrderedDict()
_SEEN: collections.OrderedDict = collections.OrderedDict()
_LOCK = threading.Lock()


def clear_graphs() -> None:
    """Drop every cached three-pass graph (their intermediates go back to CuPy's pool)."""
    with _LOCK:
        _GRAPHS.clear()
        _SEEN.clear()


def graph_chunks(plan: Plan, rows: int) -> tuple[int, int] | None:
    """(rows per chunk, branches) of the graph a three-pass call of `rows` rows replays,
    or None where it runs eagerly (long rows, or too few rows for two chunks)."""
    per_row = plan.m * plan.elem_bytes
    if plan.layout != "three_pass" or per_row > GRAPH_ROW_BYTES or plan.precision != "fp32":
        return None
    chunk = min(max(1, GRAPH_CHUNK_BYTES // per_row), 65535)
    chunks = -(-rows // chunk)
    if chunks < 2:
        return None
    return chunk, min(GRAPH_BRANCHES, chunks)


@functools.lru_cache(maxsize=64)
def _device_twiddles(plan: Plan, device: int):
    import cupy
    lo, hi = device_tables(plan)
    return cupy.asarray(lo), cupy.asarray(hi)


def _gate(wanted: bool, gate, like, name: str) -> int:
    """The gate array's pointer argument (a null pointer when the plan has no such gate)."""
    if not wanted:
        if gate is not None:
            raise ValueError(f"{name} given to a plan generated without it")
        return 0
    if gate is None:
        raise ValueError(f"this plan fuses a {name}; pass one of the same shape as its rows")
    if gate.shape != like.shape or gate.dtype != like.dtype or not gate.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous {like.dtype} array of shape {like.shape}")
    return gate.data.ptr


def _wrong_device(device: int, **arrays) -> None:
    """Kernels run on the current device and read their arrays there: raise for one that is not."""
    for name, a in arrays.items():
        if a is not None and a.data.device_id != device:
            raise ValueError(
                f"the {name.replace('_', ' ')} is on device {a.data.device_id} but the current "
                f"device is {device}; call under `with cupy.cuda.Device({a.data.device_id}):`")


class _DeviceState:
    """An executor's per-device launch state: twiddle tables and kernel launchers."""

    def __init__(self, plan: Plan, kernel, device: int):
        self.device = device
        self.lo, self.hi = _device_twiddles(plan, device)
        self.tables = (self.lo.data.ptr, self.hi.data.ptr)
        if plan.layout in ("fused", "cluster"):
            self.row = kernel.launcher(kernel.entries[0], *plan.row_block)
            return
        self.col_fwd = kernel.launcher("fftconv_col_fwd", *plan.col_block)
        self.rows = kernel.launcher("fftconv_rows", *plan.row_block)
        self.col_inv = kernel.launcher("fftconv_col_inv", *plan.col_block)
        self.args = kernel.launcher("fftconv_args", 1)


class GPUExecutor:
    """Runs one plan: y rows = x rows (*) kernel spectrum rows, channel = row % channels."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.kernel = get_kernel(render_plan(plan))
        # read on every call: small convolutions are bound by the host's launch path
        self._desc = plan.describe()
        self._col_blocks = plan.a // plan.groups if plan.layout == "three_pass" else 0
        self._devices: dict[int, _DeviceState] = {}
        self._devices_lock = threading.Lock()

    def _state(self) -> _DeviceState:
        import cupy
        device = cupy.cuda.runtime.getDevice()
        state = self._devices.get(device)
        if state is None:
            with self._devices_lock:
                state = self._devices.get(device)
                if state is None:
                    state = self._devices[device] = _DeviceState(self.plan, self.kernel, device)
        return state

    def __call__(self, x, hs, y, *, batch: int, channels: int, tmp_bytes: int | None = None,
                 pre_gate=None, post_gate=None):
        """tmp_bytes: three-pass intermediate per eager launch (None: the executor's choice,
        a replayed graph where `graph_chunks` gives one)."""
        import cupy
        plan = self.plan
        rows = batch * channels
        if rows == 0:
            return y
        state = self._state()
        dev = state.device
        # inline (~0.3 us a call); the names only on a mismatch
        if x.data.device_id != dev or y.data.device_id != dev or hs.data.device_id != dev or \
                (pre_gate is not None and pre_gate.data.device_id != dev) or \
                (post_gate is not None and post_gate.data.device_id != dev):
            _wrong_device(dev, signal=x, output=y, kernel_spectrum=hs, pre_gate=pre_gate,
                          post_gate=post_gate)
        gpre = _gate(plan.gate_pre, pre_gate, x, "pre_gate")
        gpost = _gate(plan.gate_post, post_gate, y, "post_gate")
        if plan.layout in ("fused", "cluster"):
            # fused: `groups` rows per block; cluster: one row per cluster of `cluster` blocks
            vrows = rows * plan.virtual_rows_per_row       # overlap-save: one per block
            grid = vrows * plan.cluster if plan.layout == "cluster" else -(-vrows // plan.groups)
            state.row((grid,), x.data.ptr, y.data.ptr, hs.data.ptr, *state.tables, vrows, batch,
                      channels, gpre, gpost)
            return y
        if tmp_bytes is None and not sync_enabled():
            shape = graph_chunks(plan, rows)
            stream = cupy.cuda.get_current_stream()
            entry = None
            if shape is not None and not stream.is_capturing():
                entry = self._graph(shape, rows, batch, channels, stream, state)
            if entry is not None:
                graph, args = entry
                state.args((1,), args.data.ptr, x.data.ptr, y.data.ptr, hs.data.ptr, gpre, gpost,
                           stream=stream)
                launch_graph(graph, stream, plan=self._desc)
                return y
        per_row = plan.m * plan.elem_bytes
        if tmp_bytes is None:
            # fewer, larger launches measured faster than an L2-sized chunk; the
            # intermediate stays within the size of the input itself (one row at least)
            chunk = max(TMP_TARGET_BYTES // per_row, x.nbytes // per_row,
                        -(-MIN_BLOCKS_PER_LAUNCH // self._col_blocks))
            chunk = max(1, min(chunk, x.nbytes // per_row))
        else:
            chunk = max(1, tmp_bytes // per_row)
        chunk = min(chunk, rows, 65535)
        tmp = cupy.empty((chunk, plan.m), dtype=plan.prec.complex_dtype)
        for v0 in range(0, rows, chunk):
            self._chunk(state, x.data.ptr, tmp.data.ptr, y.data.ptr, hs.data.ptr, gpre, gpost,
                        batch, channels, v0, min(chunk, rows - v0), 0, None)
        return y

    def _chunk(self, state, x, tmp, y, hs, gpre, gpost, batch, channels, v0, n, args, stream):
        """The three passes over rows v0 .. v0 + n through `tmp` (pointers as ints; args:
        the device array of pointers the graph's kernels read, see fftconv_args)."""
        lo, hi = state.tables
        cb = self._col_blocks
        state.col_fwd((cb, n), x, tmp, lo, hi, batch, channels, v0, gpre, args, stream=stream)
        state.rows((n, self.plan.middle_blocks), tmp, hs, lo, hi, batch, channels, v0, args,
                   stream=stream)
        state.col_inv((cb, n), tmp, y, lo, hi, batch, channels, v0, gpost, args, stream=stream)

    def _graph(self, shape, rows, batch, channels, stream, state):
        """The captured graph for this call shape on `stream`'s device and stream, with the
        device array its kernels read the call's pointers from (one per stream: a replay's
        arguments are written in stream order before it); None the first time a shape is
        seen, so a one-off call does not pay for a capture, and for shapes that keep being
        evicted and captured again."""
        import cupy
        # the thread too: the per-thread default stream has one handle in every thread
        key = (self.plan, rows, batch, channels, cupy.cuda.runtime.getDevice(), stream.ptr,
               threading.get_ident())
        with _LOCK:
            hit = _GRAPHS.get(key)
            if hit is not None:
                _GRAPHS.move_to_end(key)
                return hit[:2]
            captures = _SEEN.get(key)
            if captures is None:
                _SEEN[key] = 0
                while len(_SEEN) > 8 * GRAPH_CACHE:
                    _SEEN.popitem(last=False)
            if captures is None or captures >= GRAPH_CAPTURES:
                return None
            _SEEN[key] = GRAPH_CAPTURES         # eager from now on unless this capture succeeds
            graph, args, keep = self._capture(shape, rows, batch, channels, state)
            _SEEN[key] = captures + 1
            # the graph holds raw pointers and functions: its intermediates, tables and
            # modules live as long as it does
            _GRAPHS[key] = (graph, args, keep)
            while len(_GRAPHS) > GRAPH_CACHE:
                _GRAPHS.popitem(last=False)
        return graph, args

    def _capture(self, shape, rows, batch, channels, state):
        """Capture the chunks of one call shape on private streams: (graph, pointer array,
        what the graph points into)."""
        import cupy
        errors = _cuda_errors()
        chunk, branches = shape
        args = cupy.zeros(5, dtype=np.uint64)
        tmps = [cupy.empty((chunk, self.plan.m), dtype=self.plan.prec.complex_dtype)
                for _ in range(branches)]
        null = 0                        # every pointer comes from `args`
        origin = cupy.cuda.Stream(non_blocking=True)
        sides = [cupy.cuda.Stream(non_blocking=True) for _ in range(branches)]

        def failed(exc):
            return FFTConvLaunchError(f"capturing the three passes of plan {self._desc} as a CUDA "
                                      f"graph failed: {exc}")
        origin.begin_capture()
        try:
            fork = cupy.cuda.Event(disable_timing=True)
            fork.record(origin)
            for s in sides:
                s.wait_event(fork)
            for i, v0 in enumerate(range(0, rows, chunk)):
                self._chunk(state, null, tmps[i % branches].data.ptr, null, null, null, null, batch,
                            channels, v0, min(chunk, rows - v0), args.data.ptr, sides[i % branches])
            for s in sides:
                join = cupy.cuda.Event(disable_timing=True)
                join.record(s)
                origin.wait_event(join)
        except BaseException as exc:
            try:
                origin.end_capture()    # leave no stream capturing
            except errors:
                pass                    # an invalidated capture: the first error is the one raised
            if isinstance(exc, errors):
                raise failed(exc) from exc
            raise
        try:
            graph = origin.end_capture()
        except errors as exc:
            raise failed(exc) from exc
        return graph, args, (tmps, state, self.kernel)
