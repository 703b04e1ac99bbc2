"""KernelSource -> CompiledKernel -> launch.

Compiling (``compile_source``) needs only NVRTC, so it runs and is tested on
machines without a GPU; loading and launching need a device. CuPy is imported
lazily so the CPU-only path does not pay for (or depend on) a CUDA context.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import re
import struct
import threading
import time
import warnings
from dataclasses import dataclass, field

from fftconv_cupy.codegen.cache import DiskCache
from fftconv_cupy.codegen.key import compile_key
from fftconv_cupy.codegen.nvrtc import compile_cubin, effective_options, supported_archs
from fftconv_cupy.config import get_config, sync_enabled
from fftconv_cupy.errors import FFTConvLaunchError, NoDeviceError
from fftconv_cupy.plan.support import SMEM_NO_OPT_IN as _DEFAULT_SMEM_LIMIT  # opt-in above it


@dataclass(frozen=True)
class KernelSource:
    code: str
    entries: tuple[str, ...]
    plan: str
    """Human-readable plan description, quoted in compile and launch errors."""
    options: tuple[str, ...] = ()
    """NVRTC options on top of DEFAULT_OPTIONS (e.g. ``-DFOO=1``)."""

    def __post_init__(self):
        # Accept lists but store tuples so the source stays hashable.
        object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "options", tuple(self.options))

    @functools.cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.code.encode()).hexdigest()

    @functools.cached_property
    def signatures(self) -> tuple[str, ...]:
        """Per entry, its parameters' kinds as `Launcher` packs them: 'P' a pointer, 'i' an int."""
        return tuple(parameter_kinds(self.code, name) for name in self.entries)


def parameter_kinds(code: str, name: str) -> str:
    """The parameter kinds of kernel `name` in `code`: 'P' a pointer, 'i' an int, '?' any
    other type (such a kernel has no `Launcher`); '?' alone when `code` does not define it."""
    m = re.search(r"\b" + re.escape(name) + r"\(([^()]*)\)\s*\{", code)
    if m is None:
        return "?"
    params = filter(None, (p.strip() for p in m.group(1).split(",")))
    return "".join("P" if "*" in p else "i" if re.match(r"(const\s+)?int\s+\w+$", p) else "?"
                   for p in params)


@dataclass(eq=False)
class CompiledKernel:
    key: str
    cubin: bytes
    entries: tuple[str, ...]
    plan: str
    from_cache: bool
    compile_seconds: float
    arch: str = ""
    signatures: tuple[str, ...] = ()
    """Per entry, its parameter kinds (KernelSource.signatures)."""
    _modules: dict = field(default_factory=dict, init=False, repr=False)
    _functions: dict = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def function(self, name: str):
        """The ``cupy.cuda.Function`` ``name`` in this cubin, loaded on the current device.

        A CUDA module belongs to one device's context, so modules are loaded
        and memoized per device id.
        """
        if name not in self.entries:
            raise ValueError(f"{name!r} is not an entry of this kernel (entries: {self.entries})")
        cupy = _cupy()
        errors = _cuda_errors()
        try:
            device = cupy.cuda.runtime.getDevice()
        except errors as exc:
            raise NoDeviceError(f"no usable CUDA device: {exc}") from exc
        fn = self._functions.get((device, name))
        if fn is not None:
            return fn
        with self._lock:
            try:
                fn = with_context(self._load, device, name)
            except errors as exc:
                raise FFTConvLaunchError(
                    f"could not load {name!r} ({self.arch or 'unknown arch'}) on device {device} "
                    f"for plan {self.plan}: {exc}"
                ) from exc
            self._functions[(device, name)] = fn
        return fn

    def _load(self, device: int, name: str):
        module = self._modules.get(device)
        if module is None:
            module = _cupy().cuda.Module()
            module.load(self.cubin)
            self._modules[device] = module
        return module.get_function(name)

    def launcher(self, name: str, block: int, shared_mem: int = 0) -> "Launcher":
        """A `Launcher` of entry `name` on the current device with this block size and
        dynamic shared memory."""
        signature = self.signatures[self.entries.index(name)] if self.signatures else "?"
        if "?" in signature:
            raise ValueError(f"{name!r} of plan {self.plan} has parameters other than pointers and "
                             f"ints ({signature!r}); launch it with `launch`")
        return Launcher(self.function(name), signature, block,
                        shared_mem, plan=self.plan)


def _cupy():
    import cupy

    return cupy


@functools.cache
def _cuda_errors() -> tuple[type[BaseException], ...]:
    from cupy_backends.cuda.api.driver import CUDADriverError
    from cupy_backends.cuda.api.runtime import CUDARuntimeError

    return (CUDADriverError, CUDARuntimeError)


_INVALID_CONTEXT = 201      # CUDA_ERROR_INVALID_CONTEXT


def bind_context(exc) -> bool:
    """After a driver call failed with `exc`: True when it failed because this host thread
    has no current CUDA context and one has now been made current (worth one retry).

    Kernels are loaded and launched through the driver API, which needs a current context;
    the runtime makes the current device's primary context current only on its first call
    in a thread.  A worker thread whose arrays all came from CuPy's memory pool (a thread
    pool, dask's threaded scheduler) may not have made one yet.
    """
    if getattr(exc, "status", None) != _INVALID_CONTEXT:
        return False
    from cupy.cuda import driver, runtime
    try:
        if driver.ctxGetCurrent() != 0:
            return False            # a context is current: the error is something else
        runtime.free(0)             # a harmless runtime call binds the device's primary context
        return driver.ctxGetCurrent() != 0
    except _cuda_errors():
        return False


def with_context(call, *args):
    """call(*args); where it fails for want of a context in this thread, once more after
    binding one (see bind_context)."""
    try:
        return call(*args)
    except _cuda_errors() as exc:
        if not bind_context(exc):
            raise
    return call(*args)


def _dump(directory, key: str, code: str) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{key}.cu").write_text(code)
    except OSError as exc:
        # A debugging aid must not break compilation, but silence would hide the misconfiguration.
        warnings.warn(f"could not dump kernel source to {directory}: {exc}", RuntimeWarning, stacklevel=3)


def compile_source(src: KernelSource, arch: str) -> CompiledKernel:
    """Compile ``src`` for ``arch`` (e.g. ``'sm_90'``), through the disk cache.

    Needs NVRTC but no GPU. Honours the cache dir, DISABLE_CACHE,
    FORCE_COMPILE and DUMP_DIR knobs.
    """
    cfg = get_config()
    key = compile_key(src.code, effective_options(src.options), arch)
    if cfg.dump_dir is not None:
        # Before compiling, so a source that fails to compile is dumped too.
        _dump(cfg.dump_dir, key, src.code)
    cache = None if cfg.disable_cache else DiskCache(cfg.cache_dir)
    if cache is not None and not cfg.force_compile:
        cubin = cache.get(key)
        if cubin is not None:
            return CompiledKernel(key, cubin, src.entries, src.plan, True, 0.0, arch, src.signatures)
    start = time.perf_counter()
    cubin = compile_cubin(src.code, options=src.options, arch=arch, plan=src.plan)
    seconds = time.perf_counter() - start
    if cache is not None:
        cache.put(key, cubin)
    return CompiledKernel(key, cubin, src.entries, src.plan, False, seconds, arch, src.signatures)


def select_arch(capability: int, supported: tuple[int, ...]) -> str:
    """The ``sm_XY`` to compile for a device of compute capability ``capability`` (e.g. 90).

    A device newer than this NVRTC falls back to the highest arch NVRTC knows
    that is not above the device's. Note that a cubin only runs on devices of
    its own major version, so a fallback across majors (e.g. sm_90 code on an
    sm_100 device) fails at load time; a newer NVRTC is the fix.
    """
    if not supported or capability in supported:
        return f"sm_{capability}"
    lower = [a for a in supported if a <= capability]
    # Older than anything NVRTC supports: let NVRTC report the unsupported arch.
    return f"sm_{max(lower)}" if lower else f"sm_{capability}"


def device_arch() -> str:
    """The compile target for the current device."""
    cupy = _cupy()
    try:
        capability = int(cupy.cuda.Device().compute_capability)
    except _cuda_errors() as exc:
        raise NoDeviceError(f"no usable CUDA device: {exc}") from exc
    return select_arch(capability, supported_archs())


_MEMO: dict[tuple, CompiledKernel] = {}
_MEMO_LOCK = threading.Lock()


def get_kernel(src: KernelSource) -> CompiledKernel:
    """The compiled kernel of ``src`` for the current device's arch.

    Memoized in-process on (source digest, options, arch), so a plan compiles
    at most once per process per arch. Under FORCE_COMPILE, entries that came
    from the disk cache are not reused: each kernel is compiled afresh once.
    """
    arch = device_arch()
    memo_key = (src.digest, src.options, arch)
    force = get_config().force_compile
    with _MEMO_LOCK:
        kernel = _MEMO.get(memo_key)
        if kernel is not None and not (force and kernel.from_cache):
            return kernel
        # Held while compiling so that concurrent threads do not compile the same plan twice.
        kernel = compile_source(src, arch)
        _MEMO[memo_key] = kernel
        return kernel


def clear_memo() -> None:
    """Forget in-process kernels (tests, or after changing knobs)."""
    with _MEMO_LOCK:
        _MEMO.clear()


# id(func) -> (func, dynamic shared memory limit already set). The function is
# kept referenced so that its id cannot be reused by another object.
_SMEM_LIMITS: dict[int, tuple[object, int]] = {}


def _dim3(value) -> tuple[int, ...]:
    # cupy.cuda.Function.__call__ demands tuples; accept plain ints too.
    return (int(value),) if isinstance(value, int) else tuple(int(v) for v in value)


def launch(func, grid, block, args, shared_mem: int = 0, *, plan: str = "", stream=None) -> None:
    """Launch ``func`` (a ``cupy.cuda.Function``) and turn CUDA errors into FFTConvLaunchError.

    Raises the function's dynamic shared memory limit when ``shared_mem``
    exceeds the 48 KiB available without opt-in. With FFTCONV_CUPY_SYNC on,
    synchronizes so that asynchronous faults are attributed to this launch.
    """
    grid, block = _dim3(grid), _dim3(block)
    errors = _cuda_errors()

    def fail(what, exc):
        return FFTConvLaunchError(
            f"{what} for plan {plan or '<unnamed>'}: grid={grid}, block={block}, "
            f"shared_mem={shared_mem} bytes: {exc}"
        )

    try:
        if shared_mem > _DEFAULT_SMEM_LIMIT:
            entry = _SMEM_LIMITS.get(id(func))
            if entry is None or entry[1] < shared_mem:
                # CuPy 14's Function has no max_dynamic_shared_size_bytes property
                # (only RawKernel does); set the attribute through the driver.
                from cupy.cuda import driver

                with_context(driver.funcSetAttribute, func.ptr,
                             driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(shared_mem))
                _SMEM_LIMITS[id(func)] = (func, int(shared_mem))
        call = functools.partial(func, shared_mem=int(shared_mem), stream=stream)
        with_context(call, grid, block, args)
    except errors as exc:
        raise fail("kernel launch failed", exc) from exc
    if sync_enabled():
        try:
            (stream if stream is not None else _cupy().cuda.get_current_stream()).synchronize()
        except errors as exc:
            raise fail("kernel failed (reported at synchronize)", exc) from exc


class Launcher:
    """Launches of one kernel entry with a fixed block size and dynamic shared memory,
    through cuLaunchKernel with the parameters packed into a buffer made once.

    CuPy's Function call converts every argument on every call (8-13 us for the ten
    parameters of a fused row, measured on the H200's host); a small convolution's
    time is mostly that.  Arguments are plain ints: device pointers and int32 values,
    in the order of the kernel's parameters (`signature`: 'P' pointer, 'i' int).
    The driver copies the parameters at launch, so one buffer serves every call; a
    lock keeps concurrent threads from packing it at the same time.
    """

    def __init__(self, func, signature: str, block: int, shared_mem: int = 0, *, plan: str = ""):
        from cupy.cuda import driver
        self._func, self._fptr = func, func.ptr       # the function keeps its module loaded
        self._launch = driver.launchKernel
        self.block, self.shared_mem, self.plan = int(block), int(shared_mem), plan
        # one 8-byte slot per parameter: an int32 in the low half of its slot is at the
        # slot's address (little endian), and every slot is aligned for a pointer
        self._struct = struct.Struct("<" + "".join("Q" if k == "P" else "i4x" for k in signature))
        self._buf = ctypes.create_string_buffer(max(8, self._struct.size))
        base = ctypes.addressof(self._buf)
        self._params = (ctypes.c_void_p * max(1, len(signature)))(
            *(base + 8 * i for i in range(len(signature))))
        self._params_ptr = ctypes.addressof(self._params)
        self._lock = threading.Lock()
        self._errors = _cuda_errors()
        try:
            if self.shared_mem > _DEFAULT_SMEM_LIMIT:
                with_context(driver.funcSetAttribute, self._fptr,
                             driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, self.shared_mem)
        except self._errors as exc:
            raise self._fail("setting the shared memory limit failed", (0,), exc) from exc

    def _fail(self, what, grid, exc):
        return FFTConvLaunchError(
            f"{what} for plan {self.plan or '<unnamed>'}: grid={tuple(grid)}, block=({self.block},), "
            f"shared_mem={self.shared_mem} bytes: {exc}")

    def _go(self, gx: int, gy: int, stream_ptr: int, args: tuple) -> None:
        with self._lock:
            self._struct.pack_into(self._buf, 0, *args)
            self._launch(self._fptr, gx, gy, 1, self.block, 1, 1, self.shared_mem,
                         stream_ptr, self._params_ptr, 0)

    def __call__(self, grid: tuple, *args: int, stream=None) -> None:
        """Launch on `grid` ((x,) or (x, y)) with `args` on `stream` (None: the current one)."""
        if stream is None:
            stream = _cupy().cuda.get_current_stream()
        gy = grid[1] if len(grid) > 1 else 1
        try:
            with_context(self._go, grid[0], gy, stream.ptr, args)
        except self._errors as exc:
            raise self._fail("kernel launch failed", grid, exc) from exc
        except struct.error as exc:
            raise TypeError(f"bad launch arguments for plan {self.plan}: {exc}") from exc
        if sync_enabled():
            try:
                stream.synchronize()
            except self._errors as exc:
                raise self._fail("kernel failed (reported at synchronize)", grid, exc) from exc


def launch_graph(graph, stream, *, plan: str = "") -> None:
    """Replay a captured ``cupy.cuda.Graph`` on ``stream``; CUDA errors become FFTConvLaunchError."""
    try:
        graph.launch(stream)
    except _cuda_errors() as exc:
        raise FFTConvLaunchError(f"graph launch failed for plan {plan or '<unnamed>'}: {exc}") from exc
