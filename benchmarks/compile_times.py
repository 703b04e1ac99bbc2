"""First-call cost of a new plan (render + NVRTC + load) and of the same plan loaded
from the disk cache in a fresh process.  python -m benchmarks.compile_times"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import time, json, sys
t0 = time.perf_counter()
from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.runtime.executor import GPUExecutor
import cupy
cupy.cuda.Device().synchronize()
t1 = time.perf_counter()
plan = make_plan(%(L)d, %(L)d, 0, %(L)d, real=True, precision="fp32")
ex = GPUExecutor(plan)
for e in ex.kernel.entries:
    ex.kernel.function(e)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "plan_to_function_s": t2 - t1,
                  "from_cache": ex.kernel.from_cache, "compile_s": ex.kernel.compile_seconds}))
"""


def run(L, cache):
    env = dict(os.environ, FFTCONV_CUPY_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", CHILD % {"L": L}], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    with tempfile.TemporaryDirectory() as cache:
        for L in (12288, 1 << 20):
            first = run(L, cache)
            second = run(L, cache)
            print(f"L={L}: new plan {first['plan_to_function_s']:.3f} s (NVRTC {first['compile_s']:.3f} s); "
                  f"new process, disk cache {second['plan_to_function_s'] * 1e3:.1f} ms "
                  f"(from_cache={second['from_cache']})")


if __name__ == "__main__":
    main()
