"""Code generation stage: keys, disk cache, config, NVRTC compile. No GPU needed."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from pathlib import Path

import pytest
from jinja2 import DictLoader, UndefinedError

from fftconv_cupy import config as config_mod
from fftconv_cupy.codegen import compile as compile_mod
from fftconv_cupy.codegen import key as key_mod
from fftconv_cupy.codegen import render as render_mod
from fftconv_cupy.codegen.cache import DiskCache
from fftconv_cupy.codegen.compile import CompiledKernel, KernelSource, compile_source, select_arch
from fftconv_cupy.codegen.key import cache_key, compile_key
from fftconv_cupy.codegen.nvrtc import (
    DEFAULT_OPTIONS,
    compile_cubin,
    first_error_line,
    nvrtc_available,
    source_excerpt,
)
from fftconv_cupy.errors import FFTConvCompileError, FFTConvLaunchError

needs_nvrtc = pytest.mark.skipif(
    not nvrtc_available(),
    reason="NVRTC cannot be loaded (install the nvidia-cuda-nvrtc wheel or a CUDA toolkit)",
)

ARCH = "sm_90"
TINY = 'extern "C" __global__ void scale(float* x, float a, int n) {\n' \
       "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n" \
       "    if (i < n) x[i] *= a;\n" \
       "}\n"

KNOBS = ("CACHE_DIR", "DISABLE_CACHE", "FORCE_COMPILE", "DUMP_DIR", "SYNC")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for knob in KNOBS:
        monkeypatch.delenv(f"FFTCONV_CUPY_{knob}", raising=False)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("FFTCONV_CUPY_CACHE_DIR", str(d))
    return d


# --- keys -------------------------------------------------------------------


def test_cache_key_is_stable_and_labeled():
    expected = hashlib.sha256(b"a=1:x\nb=2:yz\n").hexdigest()
    assert cache_key(b="yz", a="x") == expected
    assert cache_key(a="x", b="yz") == expected


def test_cache_key_concatenations_do_not_collide():
    assert cache_key(a="x\nb=1:y") != cache_key(a="x", b="y")
    assert cache_key(a="xy", b="") != cache_key(a="x", b="y")
    assert cache_key(a="1") != cache_key(b="1")


def test_compile_key_sensitive_to_each_field(monkeypatch):
    base = dict(source=TINY, options=("-DA=1", "-DB=2"), arch=ARCH)
    k0 = compile_key(**base)
    assert compile_key(**base) == k0
    assert compile_key(TINY, ("-DB=2", "-DA=1"), ARCH) == k0  # order does not matter
    assert compile_key(TINY + " ", base["options"], ARCH) != k0
    assert compile_key(TINY, ("-DA=1",), ARCH) != k0
    assert compile_key(TINY, base["options"], "sm_80") != k0

    monkeypatch.setattr(key_mod, "__version__", "999.0")
    assert compile_key(**base) != k0
    monkeypatch.undo()
    monkeypatch.setattr(key_mod, "template_digest", lambda: "0" * 64)
    assert compile_key(**base) != k0
    monkeypatch.undo()
    from fftconv_cupy.codegen import nvrtc as nvrtc_mod

    monkeypatch.setattr(nvrtc_mod, "nvrtc_version", lambda: (99, 9))
    assert compile_key(**base) != k0
    monkeypatch.undo()
    assert compile_key(**base) == k0


# --- rendering --------------------------------------------------------------


def test_render_settings(monkeypatch):
    env = render_mod.make_environment(DictLoader({
        "k.cu.j2": "{% for i in range(n) %}\n    x{{ i }};\n{% endfor %}\nend\n",
        "bad.j2": "{{ missing }}",
    }))
    monkeypatch.setattr(render_mod, "environment", lambda: env)
    # trim_blocks/lstrip_blocks drop the tag lines; keep_trailing_newline keeps the final "\n".
    assert render_mod.render("k.cu.j2", n=2) == "    x0;\n    x1;\nend\n"
    with pytest.raises(UndefinedError):
        render_mod.render("bad.j2")


def test_package_environment_loads():
    assert render_mod.environment() is render_mod.environment()
    assert render_mod.environment().undefined is not None


def test_template_digest_and_include_dir(tmp_path):
    digest = render_mod.template_digest()
    assert len(digest) == 64 and digest == render_mod.template_digest()
    inc = Path(render_mod.include_dir())
    assert inc.is_absolute() and inc.parts[-2:] == ("templates", "include")

    (tmp_path / "include").mkdir()
    (tmp_path / "a.j2").write_text("A")
    (tmp_path / "include" / "b.cuh").write_text("B")
    d0 = render_mod.digest_tree(tmp_path)
    (tmp_path / "include" / "b.cuh").write_text("B2")
    d1 = render_mod.digest_tree(tmp_path)
    (tmp_path / "include" / "b.cuh").rename(tmp_path / "include" / "c.cuh")
    d2 = render_mod.digest_tree(tmp_path)
    assert len({d0, d1, d2}) == 3


# --- disk cache -------------------------------------------------------------


def test_cache_hit_miss_entries_clear(tmp_path):
    cache = DiskCache(tmp_path / "a" / "b")  # parents created on demand
    assert cache.get("k1") is None
    assert cache.entries() == [] and cache.size_bytes() == 0
    cache.put("k1", b"payload-1")
    cache.put("k2", b"payload-22")
    assert cache.get("k1") == b"payload-1"
    assert cache.get("k2") == b"payload-22"
    assert (cache.path / "k1.cubin").is_file()
    assert [k for k, _, _ in cache.entries()] == ["k1", "k2"]
    assert cache.size_bytes() == sum(s for _, s, _ in cache.entries()) > 0
    assert cache.clear() == 2
    assert cache.get("k1") is None and cache.entries() == []


def test_cache_entries_are_files(tmp_path):
    cache = DiskCache(tmp_path)
    cache.put("k1", b"x")
    (tmp_path / "abc.cubin").mkdir()             # not an entry
    assert [k for k, _, _ in cache.entries()] == ["k1"]


def test_cache_rejects_path_like_keys(tmp_path):
    with pytest.raises(ValueError):
        DiskCache(tmp_path).get("../evil")


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "empty", "header_only"])
def test_corrupt_entry_is_a_miss_and_removed(tmp_path, damage):
    cache = DiskCache(tmp_path)
    payload = bytes(range(256)) * 4
    cache.put("k", payload)
    path = tmp_path / "k.cubin"
    blob = path.read_bytes()
    if damage == "truncated":
        blob = blob[:-10]
    elif damage == "flipped":
        blob = bytearray(blob)
        blob[len(blob) // 2] ^= 0x01
        blob = bytes(blob)
    elif damage == "garbage":
        blob = os.urandom(len(blob))
    elif damage == "empty":
        blob = b""
    else:
        blob = blob[: len(blob) - len(payload)]
    path.write_bytes(blob)
    assert cache.get("k") is None
    assert not path.exists()


def test_unreadable_entry_is_a_miss(tmp_path):
    cache = DiskCache(tmp_path)
    (tmp_path / "k.cubin").mkdir()  # read_bytes raises IsADirectoryError
    assert cache.get("k") is None


def test_unwritable_cache_dir_does_not_raise(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = DiskCache(blocker / "cache")  # mkdir fails even as root
    with pytest.warns(RuntimeWarning, match="cannot write the kernel cache"):
        cache.put("k", b"data")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # said once per directory
        cache.put("k2", b"data")
    assert cache.get("k") is None
    assert cache.entries() == [] and cache.clear() == 0


def _hammer(directory: str, worker: int, rounds: int) -> None:
    cache = DiskCache(directory)
    for i in range(rounds):
        # Payloads differ in content and length so a torn mix would fail the checksum.
        cache.put("shared", bytes([worker]) * (1000 + 37 * i + worker))


def test_concurrent_writers_same_key(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path), w, 200)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    data = DiskCache(tmp_path).get("shared")
    assert data is not None and len(set(data)) == 1
    worker = data[0]
    assert (len(data) - 1000 - worker) % 37 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["shared.cubin"]  # no temp files left


# --- config -----------------------------------------------------------------


def test_config_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cfg = config_mod.get_config()
    assert cfg == config_mod.Config(cache_dir=tmp_path / "fftconv_cupy")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert config_mod.get_config().cache_dir == Path.home() / ".cache" / "fftconv_cupy"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # invalid per XDG: ignored
    assert config_mod.get_config().cache_dir == Path.home() / ".cache" / "fftconv_cupy"


@pytest.mark.parametrize("raw,value", [
    ("1", True), ("true", True), ("TRUE", True), (" yes ", True),
    ("0", False), ("false", False), ("No", False), ("", False),
])
def test_config_bools(monkeypatch, raw, value):
    for knob in ("DISABLE_CACHE", "FORCE_COMPILE", "SYNC"):
        monkeypatch.setenv(f"FFTCONV_CUPY_{knob}", raw)
    cfg = config_mod.get_config()
    assert cfg.disable_cache is cfg.force_compile is cfg.sync is value


@pytest.mark.parametrize("knob", ["DISABLE_CACHE", "FORCE_COMPILE", "SYNC"])
@pytest.mark.parametrize("raw", ["2", "ture", "on?", "y"])
def test_config_bad_bool_names_variable(monkeypatch, knob, raw):
    monkeypatch.setenv(f"FFTCONV_CUPY_{knob}", raw)
    with pytest.raises(ValueError, match=f"FFTCONV_CUPY_{knob}"):
        config_mod.get_config()


def test_config_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("FFTCONV_CUPY_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("FFTCONV_CUPY_DUMP_DIR", "~/dump")
    cfg = config_mod.get_config()
    assert cfg.cache_dir == tmp_path / "c"
    assert cfg.dump_dir == Path.home() / "dump"
    with pytest.raises(Exception):
        cfg.sync = True  # frozen


# --- NVRTC --------------------------------------------------------------------


def test_default_options_are_explicit():
    assert "--std=c++17" in DEFAULT_OPTIONS
    assert {"-ftz=false", "-prec-div=true", "-prec-sqrt=true"} <= set(DEFAULT_OPTIONS)
    assert not any("fast_math" in o for o in DEFAULT_OPTIONS)


def test_source_excerpt_and_error_line():
    src = "\n".join(f"line{i}" for i in range(1, 21))
    ex = source_excerpt(src, 12).splitlines()
    assert ex[0] == "   7 | line7" and ex[-1] == "  17 | line17"
    assert "> 12 | line12" in ex
    assert source_excerpt(src, 2).splitlines()[:2] == ["  1 | line1", "> 2 | line2"]
    assert source_excerpt(src, 99) == ""
    log = 'hdr.cuh(3): error: x\nk.cu(7): warning: y\nk.cu(9): error: z\nk.cu(11): error: w\n'
    assert first_error_line(log, "k.cu") == 9
    assert first_error_line("k.cu(4): catastrophic error: boom", "k.cu") == 4
    assert first_error_line("nothing", "k.cu") is None


def test_compile_cubin_rejects_bad_arch():
    with pytest.raises(ValueError):
        compile_cubin(TINY, arch="90")


@needs_nvrtc
def test_compile_cubin_gives_elf():
    cubin = compile_cubin(TINY, arch=ARCH, options=("-DUNUSED=1",))
    assert cubin.startswith(b"\x7fELF")


@needs_nvrtc
def test_compile_error_carries_log_and_excerpt():
    lines = TINY.splitlines()
    lines[2] = "    if (i < n) x[i] *= b;"  # undeclared identifier on line 3
    bad = "\n".join(lines) + "\n"
    with pytest.raises(FFTConvCompileError) as info:
        compile_cubin(bad, name="bad.cu", arch=ARCH, plan="plan: n=4096 fp32")
    err = info.value
    assert err.plan == "plan: n=4096 fp32"
    assert "bad.cu(" in err.log and "error" in err.log
    marked = [l for l in err.excerpt.splitlines() if l.startswith(">")]
    assert len(marked) == 1 and "x[i] *= b" in marked[0]
    msg = str(err)
    assert err.log.strip() in msg and marked[0] in msg and "n=4096" in msg


# --- compile_source -----------------------------------------------------------


def _src(code=TINY):
    return KernelSource(code=code, entries=["scale"], plan="test plan")


@needs_nvrtc
def test_compile_source_uses_disk_cache(cache_dir):
    first = compile_source(_src(), ARCH)
    assert not first.from_cache and first.compile_seconds > 0
    assert first.cubin.startswith(b"\x7fELF")
    assert first.entries == ("scale",) and first.arch == ARCH
    assert DiskCache(cache_dir).entries()[0][0] == first.key
    second = compile_source(_src(), ARCH)
    assert second.from_cache and second.cubin == first.cubin and second.key == first.key


@needs_nvrtc
def test_force_compile_bypasses_cache(cache_dir, monkeypatch):
    compile_source(_src(), ARCH)
    monkeypatch.setenv("FFTCONV_CUPY_FORCE_COMPILE", "1")
    assert not compile_source(_src(), ARCH).from_cache


@needs_nvrtc
def test_disable_cache(cache_dir, monkeypatch):
    monkeypatch.setenv("FFTCONV_CUPY_DISABLE_CACHE", "yes")
    assert not compile_source(_src(), ARCH).from_cache
    assert not compile_source(_src(), ARCH).from_cache
    assert not cache_dir.exists()


@needs_nvrtc
def test_dump_dir_writes_source(cache_dir, tmp_path, monkeypatch):
    dump = tmp_path / "dump"
    monkeypatch.setenv("FFTCONV_CUPY_DUMP_DIR", str(dump))
    kernel = compile_source(_src(), ARCH)
    assert (dump / f"{kernel.key}.cu").read_text() == TINY


def test_get_kernel_memoizes(monkeypatch, tmp_path):
    calls = []

    def fake_compile(src, arch):
        calls.append(arch)
        return CompiledKernel("k", b"\x7fELF", src.entries, src.plan, False, 0.0, arch)

    monkeypatch.setattr(compile_mod, "device_arch", lambda: ARCH)
    monkeypatch.setattr(compile_mod, "compile_source", fake_compile)
    compile_mod.clear_memo()
    try:
        a = compile_mod.get_kernel(_src())
        assert compile_mod.get_kernel(_src()) is a and calls == [ARCH]
        compile_mod.get_kernel(_src(TINY + "\n"))
        assert len(calls) == 2
    finally:
        compile_mod.clear_memo()


def test_select_arch():
    supported = (75, 80, 86, 87, 89, 90, 100, 120)
    assert select_arch(90, supported) == "sm_90"
    assert select_arch(121, supported) == "sm_120"
    assert select_arch(130, supported) == "sm_120"
    assert select_arch(70, supported) == "sm_70"
    assert select_arch(90, ()) == "sm_90"


# --- launch (fake function: no GPU) ---------------------------------------------


class _FakeFunction:
    ptr = 1234

    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def __call__(self, grid, block, args, shared_mem=0, stream=None):
        self.calls.append((grid, block, args, shared_mem))
        if self.error is not None:
            raise self.error


def _fake_driver_error(message):
    from cupy.cuda import driver

    class FakeDriverError(driver.CUDADriverError):
        def __init__(self, msg):
            RuntimeError.__init__(self, msg)

    return FakeDriverError(message)


def test_launch_sets_dynamic_smem_once(monkeypatch):
    from cupy.cuda import driver

    set_calls = []
    monkeypatch.setattr(driver, "funcSetAttribute", lambda *a: set_calls.append(a))
    fn = _FakeFunction()
    compile_mod.launch(fn, 4, (128,), (1, 2), shared_mem=1024)
    assert set_calls == [] and fn.calls == [((4,), (128,), (1, 2), 1024)]
    for _ in range(3):
        compile_mod.launch(fn, (4, 2), (128,), (), shared_mem=100_000)
    assert set_calls == [(1234, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 100_000)]


def test_launch_wraps_cuda_errors():
    fn = _FakeFunction(error=_fake_driver_error("CUDA_ERROR_INVALID_VALUE"))
    with pytest.raises(FFTConvLaunchError) as info:
        compile_mod.launch(fn, (8, 1), (256,), (), shared_mem=512, plan="n=1024 fp32")
    msg = str(info.value)
    for part in ("n=1024 fp32", "(8, 1)", "(256,)", "512", "CUDA_ERROR_INVALID_VALUE"):
        assert part in msg


def test_parameter_kinds():
    from fftconv_cupy.codegen.compile import parameter_kinds
    code = ('extern "C" __global__ void __launch_bounds__(256, 2)\n'
            'k(const float2* __restrict__ x, int n, const int m, void* const* args) {}\n')
    assert parameter_kinds(code, "k") == "PiiP"
    assert parameter_kinds(TINY, "scale") == "P?i"          # a float: no launcher
    assert parameter_kinds(TINY, "missing") == "?"
    assert _src().signatures == ("P?i",)


class _LaunchRecorder:
    """Stands in for driver.launchKernel: decodes the parameter buffer the way the driver
    reads it (one address per parameter)."""

    def __init__(self, signature, error=None):
        self.signature, self.error, self.calls = signature, error, []

    def __call__(self, f, gx, gy, gz, bx, by, bz, smem, stream, params, extra):
        import ctypes
        addrs = (ctypes.c_void_p * len(self.signature)).from_address(params)
        values = tuple(ctypes.c_uint64.from_address(a).value if k == "P" else
                       ctypes.c_int32.from_address(a).value for k, a in zip(self.signature, addrs))
        self.calls.append((f, (gx, gy, gz), (bx, by, bz), smem, stream, values, extra))
        if self.error is not None:
            raise self.error


class _Stream:
    ptr = 77


def _launcher(monkeypatch, signature, error=None, shared_mem=0):
    from cupy.cuda import driver
    rec = _LaunchRecorder(signature, error)
    set_calls = []
    monkeypatch.setattr(driver, "launchKernel", rec)
    monkeypatch.setattr(driver, "funcSetAttribute", lambda *a: set_calls.append(a))
    launcher = compile_mod.Launcher(_FakeFunction(), signature, 256, shared_mem, plan="n=1024 fp32")
    return launcher, rec, set_calls


def test_launcher_packs_pointers_and_ints(monkeypatch):
    launcher, rec, set_calls = _launcher(monkeypatch, "PPiiP", shared_mem=100_000)
    launcher((5, 3), 2**40 + 8, 0, -7, 2**31 - 1, 2**64 - 1, stream=_Stream())
    launcher((9,), 16, 32, 1, 2, 3, stream=_Stream())
    assert rec.calls == [
        (1234, (5, 3, 1), (256, 1, 1), 100_000, 77, (2**40 + 8, 0, -7, 2**31 - 1, 2**64 - 1), 0),
        (1234, (9, 1, 1), (256, 1, 1), 100_000, 77, (16, 32, 1, 2, 3), 0),
    ]
    # the opt-in above 48 KiB of dynamic shared memory is made once, when the launcher is made
    from cupy.cuda import driver
    assert set_calls == [(1234, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 100_000)]


def test_launcher_rejects_bad_arguments(monkeypatch):
    launcher, rec, _ = _launcher(monkeypatch, "Pi")
    with pytest.raises(TypeError, match="bad launch arguments for plan n=1024 fp32"):
        launcher((1,), 8, stream=_Stream())                 # one argument short
    with pytest.raises(TypeError, match="bad launch arguments"):
        launcher((1,), 8, 2**31, stream=_Stream())          # not an int32
    assert rec.calls == []


def test_launcher_wraps_cuda_errors(monkeypatch):
    launcher, _, _ = _launcher(monkeypatch, "P", error=_fake_driver_error("CUDA_ERROR_INVALID_VALUE"))
    with pytest.raises(FFTConvLaunchError) as info:
        launcher((8, 2), 16, stream=_Stream())
    for part in ("n=1024 fp32", "(8, 2)", "(256,)", "CUDA_ERROR_INVALID_VALUE"):
        assert part in str(info.value)


class _Context:
    """Stands in for the driver's current context of this thread and the runtime call that
    binds one."""

    def __init__(self, monkeypatch, current=0):
        from cupy.cuda import driver, runtime
        self.current, self.frees = current, []
        monkeypatch.setattr(driver, "ctxGetCurrent", lambda: self.current)
        monkeypatch.setattr(runtime, "free", self.free)

    def free(self, ptr):
        self.frees.append(ptr)
        self.current = 0xC0


def _no_context_error():
    err = _fake_driver_error("CUDA_ERROR_INVALID_CONTEXT: invalid device context")
    err.status = 201
    return err


class _FailOnce(_LaunchRecorder):
    """A launch that fails with its error the first time only (recorded either way)."""

    def __call__(self, *args):
        error, self.error = self.error, None
        super().__call__(*args)
        if error is not None:
            raise error


def test_launcher_binds_a_context_in_a_fresh_thread(monkeypatch):
    # a worker thread that has made no runtime call has no current context: the launch
    # binds the device's primary context and goes through, once
    launcher, _, _ = _launcher(monkeypatch, "Pi")
    once = _FailOnce("Pi", _no_context_error())
    monkeypatch.setattr(launcher, "_launch", once)
    ctx = _Context(monkeypatch)
    launcher((3,), 16, 5, stream=_Stream())
    assert [c[5] for c in once.calls] == [(16, 5), (16, 5)] and ctx.frees == [0]
    launcher((3,), 16, 6, stream=_Stream())                 # bound now: one launch
    assert len(once.calls) == 3 and ctx.frees == [0]


def test_launcher_invalid_context_is_raised_where_binding_does_not_help(monkeypatch):
    for current in (0xC0, 0):       # a context was current already / binding did not cure it
        launcher, rec, _ = _launcher(monkeypatch, "P", error=_no_context_error())
        ctx = _Context(monkeypatch, current)
        with pytest.raises(FFTConvLaunchError, match="CUDA_ERROR_INVALID_CONTEXT"):
            launcher((1,), 8, stream=_Stream())
        assert len(rec.calls) == (1 if current else 2) and ctx.frees == ([] if current else [0])


def test_launch_binds_a_context_in_a_fresh_thread(monkeypatch):
    ctx = _Context(monkeypatch)
    fn = _FakeFunction(error=_no_context_error())
    with pytest.raises(FFTConvLaunchError, match="INVALID_CONTEXT"):   # fails again after binding
        compile_mod.launch(fn, 1, (32,), ())
    assert len(fn.calls) == 2 and ctx.frees == [0]

    class FailOnce(_FakeFunction):
        def __call__(self, *args, **kwargs):
            error, self.error = self.error, None
            super().__call__(*args, **kwargs)
            if error is not None:
                raise error

    ctx.current, ctx.frees = 0, []
    fn = FailOnce(error=_no_context_error())
    compile_mod.launch(fn, 1, (32,), ())
    assert len(fn.calls) == 2 and ctx.frees == [0]


def test_launcher_needs_pointer_and_int_parameters():
    kernel = CompiledKernel("k", b"\x7fELF", ("scale",), "tiny", False, 0.0, ARCH, ("P?i",))
    with pytest.raises(ValueError, match="other than pointers and ints"):
        kernel.launcher("scale", 128)


def test_launch_graph_wraps_cuda_errors():
    class Graph:
        def launch(self, stream):
            raise _fake_driver_error("CUDA_ERROR_LAUNCH_FAILED")
    with pytest.raises(FFTConvLaunchError, match="graph launch failed for plan n=1024 fp32.*LAUNCH_FAILED"):
        compile_mod.launch_graph(Graph(), None, plan="n=1024 fp32")


def test_graph_chunks():
    """fp32 three-pass calls replay a graph where rows hold <= 1 MiB of intermediate and a
    call has two chunks or more; fused plans, longer rows, fp64 and 16-bit I/O launch eagerly."""
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.runtime.executor import graph_chunks
    plan = lambda n, p="fp32", **kw: make_plan(n, n, 0, n, real=True, precision=p, **kw)
    assert graph_chunks(plan(4096), 10**5) is None                       # fused
    assert graph_chunks(plan(1 << 16), 3072) == (16, 3)                   # 512 KiB rows
    assert graph_chunks(plan(1 << 16), 16) is None and graph_chunks(plan(1 << 16), 17) == (16, 2)
    assert graph_chunks(plan(1 << 17), 1536) == (8, 3)                    # 1 MiB rows
    assert graph_chunks(plan(1 << 18), 768) is None                       # 2 MiB rows
    assert graph_chunks(plan(1 << 16, "fp64"), 3072) is None
    assert graph_chunks(plan(1 << 16, io="bfloat16"), 3072) == (16, 3)   # fp32 intermediate
    assert graph_chunks(plan(4096, layout="three_pass"), 10**5) == (256, 3)


def test_graph_cache_rules(monkeypatch):
    """Second sight captures, hits are cached, a failed capture raises once and then runs
    eagerly, a shape evicted and captured GRAPH_CAPTURES times stays eager (capture mocked)."""
    import cupy
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.runtime import executor
    monkeypatch.setattr(cupy.cuda.runtime, "getDevice", lambda: 0)
    ex = executor.GPUExecutor.__new__(executor.GPUExecutor)      # no kernel: capture is mocked
    ex.plan = make_plan(1 << 16, 1 << 16, 0, 1 << 16, real=True, precision="fp32")
    captured = []

    def capture(shape, rows, batch, channels, state):
        captured.append(rows)
        if rows == 13:
            raise FFTConvLaunchError("capture failed")
        return f"graph{rows}", f"args{rows}", None
    monkeypatch.setattr(ex, "_capture", capture)

    class Stream:
        ptr = 7
    graph = lambda rows: ex._graph((16, 3), rows, rows, 1, Stream(), None)
    executor.clear_graphs()
    try:
        assert graph(40) is None and captured == []                 # first sight: eager
        assert graph(40) == ("graph40", "args40") and captured == [40]
        assert graph(40) == ("graph40", "args40") and captured == [40]   # cached
        assert graph(13) is None
        with pytest.raises(FFTConvLaunchError, match="capture failed"):
            graph(13)
        assert graph(13) is None and captured == [40, 13]           # eager after the failure
        monkeypatch.setattr(executor, "GRAPH_CACHE", 1)
        captured.clear()
        for _ in range(6):                                          # two shapes evicting each other
            graph(50)
            graph(60)
        assert captured.count(50) == captured.count(60) == executor.GRAPH_CAPTURES
    finally:
        executor.clear_graphs()


def test_arrays_on_another_device_are_named():
    from types import SimpleNamespace
    from fftconv_cupy.runtime.executor import _wrong_device

    def on(device):
        return SimpleNamespace(data=SimpleNamespace(device_id=device))

    _wrong_device(1, signal=on(1), output=on(1), pre_gate=None)          # all on the device: fine
    with pytest.raises(ValueError, match=r"the kernel spectrum is on device 0 but the current device "
                                         r"is 1; call under `with cupy.cuda.Device\(0\):`"):
        _wrong_device(1, signal=on(1), kernel_spectrum=on(0), post_gate=None)


def test_cache_read_errors_keep_the_entry(tmp_path, monkeypatch):
    # an entry another user cannot read (or a transient I/O error) is a miss, not a deletion
    cache = DiskCache(tmp_path)
    cache.put("abc123", b"cubin")
    path = tmp_path / "abc123.cubin"
    assert path.exists()
    from pathlib import Path

    def refuse(self):
        raise PermissionError("denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert cache.get("abc123") is None and path.exists()
    monkeypatch.undo()
    assert cache.get("abc123") == b"cubin"


def test_cache_entries_follow_the_umask(tmp_path):
    import os
    import stat
    old = os.umask(0o027)
    try:
        from fftconv_cupy.codegen import cache as cache_mod
        cache_mod._umask.cache_clear()
        DiskCache(tmp_path).put("abc123", b"cubin")
    finally:
        os.umask(old)
        cache_mod._umask.cache_clear()
    assert stat.S_IMODE((tmp_path / "abc123.cubin").stat().st_mode) == 0o640


def test_conflicting_macro_options_are_refused():
    from fftconv_cupy.codegen.nvrtc import effective_options
    assert effective_options(("-DX=1", "-DX=1")).count("-DX=1") == 1
    with pytest.raises(ValueError, match="conflicting NVRTC options '-DX=1' and '-DX=2'"):
        effective_options(("-DX=1", "-DX=2"))
    # the key sorts the options: a macro defined and undefined, in any spelling, would make
    # two different binaries share one key
    for opts in (("-DX=1", "-UX"), ("--define-macro=X=2", "-DX=1"), ("-DX", "--undefine-macro=X"),
                 ("--fmad=false", "--fmad=true"), ("-fmad=false",), ("-std=c++20",)):
        with pytest.raises(ValueError, match="conflicting NVRTC options"):
            effective_options(opts)
    # the same setting spelt twice, other macros, repeated include paths: accepted
    assert effective_options(("-DX=1", "-UY"))[-2:] == ("-DX=1", "-UY")
    assert effective_options(("-std=c++17", "--define-macro=X=1", "-DX=1"))
    assert effective_options(("-I/a", "-I/b"))[-2:] == ("-I/a", "-I/b")


def test_damaged_template_cache_is_a_miss(tmp_path, monkeypatch):
    # compiled templates on disk never fail a render: truncated entries are misses (and
    # removed), unwritable ones skipped; `cache clear` removes them with the kernels
    from jinja2 import FileSystemBytecodeCache

    from fftconv_cupy.codegen import render
    from fftconv_cupy.codegen.source import render_plan
    from fftconv_cupy.config import get_config
    from fftconv_cupy.plan.plan import make_plan
    monkeypatch.setenv("FFTCONV_CUPY_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FFTCONV_CUPY_DISABLE_CACHE", raising=False)
    plan = make_plan(512, 512, 0, 512, real=True, precision="fp32")

    def fresh_render():
        render.environment.cache_clear()
        return render_plan(plan).code

    try:
        want = fresh_render()
        entries = list((tmp_path / "jinja").glob("__jinja2_*.cache"))
        assert entries
        from fftconv_cupy.codegen.cache import _umask
        assert all(e.stat().st_mode & 0o777 == 0o666 & ~_umask() for e in entries)  # shareable
        for e in entries:
            e.write_bytes(e.read_bytes()[:20])          # truncated pickle
        assert fresh_render() == want
        def refuse(self, bucket):
            raise PermissionError("read-only cache")
        monkeypatch.setattr(FileSystemBytecodeCache, "dump_bytecode", refuse)
        for e in (tmp_path / "jinja").glob("__jinja2_*.cache"):
            e.unlink()
        assert fresh_render() == want
        monkeypatch.undo()
        monkeypatch.setenv("FFTCONV_CUPY_CACHE_DIR", str(tmp_path))
        fresh_render()
        assert list((tmp_path / "jinja").glob("__jinja2_*.cache"))
        DiskCache(get_config().cache_dir).clear()
        assert not list((tmp_path / "jinja").glob("__jinja2_*.cache"))
    finally:
        render.environment.cache_clear()


def test_executor_refuses_arrays_on_another_device(monkeypatch):
    # the check runs before anything is launched: a kernel would read a foreign address
    from types import SimpleNamespace
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.runtime import executor
    monkeypatch.setattr(executor, "get_kernel", lambda src: None)      # no device to compile for
    ex = executor.GPUExecutor(make_plan(128, 16, 0, 128, real=True, precision="fp32"))
    monkeypatch.setattr(ex, "_state", lambda: SimpleNamespace(device=1))

    def on(device):
        return SimpleNamespace(data=SimpleNamespace(device_id=device))

    for arrays, name in [((on(0), on(1), on(1)), "signal"), ((on(1), on(0), on(1)), "kernel spectrum"),
                         ((on(1), on(1), on(0)), "output")]:
        with pytest.raises(ValueError, match=f"the {name} is on device 0 but the current device is 1"):
            ex(*arrays, batch=2, channels=1)
    with pytest.raises(ValueError, match="the pre gate is on device 0"):
        ex(on(1), on(1), on(1), batch=2, channels=1, pre_gate=on(0))


def test_relative_cache_dir_is_made_absolute(monkeypatch, tmp_path):
    from fftconv_cupy.config import get_config
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FFTCONV_CUPY_CACHE_DIR", "rel/cache")
    assert get_config().cache_dir == tmp_path / "rel" / "cache"
