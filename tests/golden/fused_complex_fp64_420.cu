// fftconv_cupy generated kernel: fused complex fp64 n=420 m=420 [4x3x5x7] x=300 k=121 out=[0:420]
// Every size below is a compile-time constant of this plan; batch and channel
// counts are launch arguments.
#include "fftconv/stockham.cuh"

using namespace fc;
using T = double;
using IO = Native<T>;
using XT = cx<T>;
using HS = cx<T>;

constexpr int M = 420;            // complex points of the transform
constexpr int Q = 420;            // twiddle base
constexpr int LO_BITS = 5;
constexpr int NZ = 300;          // nonzero input points; the rest is implicit padding
constexpr int LEN_X = 300;
constexpr int OUT_START = 0;
constexpr int OUT_LEN = 420;

// Virtual row v is channel-major (v = h * batch + b), so the blocks in flight
// share one channel's spectrum, which stays in L2 across the batch.
__device__ __forceinline__ long long data_row(int v, int batch, int channels, int& h) {
  h = v / batch;
  return (long long)(v - h * batch) * channels + h;
}

using Cls = Dense;

constexpr int THREADS = 60;
constexpr int GROUPS = 4;
constexpr int STRIDE = 447;

extern "C" __global__ void __launch_bounds__(GROUPS * THREADS, 2)
fftconv_fused(const XT* __restrict__ x, XT* __restrict__ y, const HS* __restrict__ hs,
              const cx<T>* __restrict__ twlo, const cx<T>* __restrict__ twhi,
              int rows, int batch, int channels,
              const XT* __restrict__ gpre, const XT* __restrict__ gpost) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int g = threadIdx.x / THREADS, tid = threadIdx.x % THREADS;
  cx<T>* buf = reinterpret_cast<cx<T>*>(smem_raw) + g * STRIDE;
  const int v = blockIdx.x * GROUPS + g;
  const bool active = v < rows;       // idle groups still reach every barrier
  int h = 0;

  const long long row = active ? data_row(v, batch, channels, h) : 0;   // idle groups read row 0
  // the first stage reads the signal row and the last one writes the outputs (no staging)
  constexpr int VPX = 1, VPY = 1;   // whole points per access (0: per sample)
  const XT* xr = x + row * LEN_X;
  XT* yr = y + row * OUT_LEN;
  // in(i): point tid + i - tid of the transform's input, zero outside the signal
  const XT* const xb = xr + (long long)(tid);   // sample of point tid
  auto in = [&](int i) {
    const long long d = i - tid, e = tid + d;
    cx<T> p = zero<T>();
    const long long s = e;
    if (s < LEN_X) p = ldg(xb + d);
    return p;
  };
  // out(i, p): point tid + i - tid of the transform's output (samples from OUT_START on)
  XT* const yb = yr + ((long long)(tid) - OUT_START);   // output sample of point tid
  auto out = [&](int i, cx<T> p) {
    if (!(active)) return;
    const long long d = i - tid, e = tid + d;
    const long long o = e - OUT_START;
    if (o >= 0 && o < OUT_LEN) yb[d] = p;
  };
  first_stage_in<T, 420, 4, THREADS, -1, NZ>(buf, tid, in);
  stage<T, 420, 3, 4, THREADS, -1, 420, Q, LO_BITS, 0, Dense, 32>(buf, tid, twlo, twhi);
  stage<T, 420, 5, 12, THREADS, -1, 420, Q, LO_BITS, 0, Dense, 48>(buf, tid, twlo, twhi);
  stage<T, 420, 7, 60, THREADS, -1, 420, Q, LO_BITS, 0, Dense, 120>(buf, tid, twlo, twhi);

  multiply_complex_row<T, M, THREADS, Cls>(buf, hs + (long long)h * M, tid);
  stage<T, 420, 4, 1, THREADS, 1, 420, Q, LO_BITS>(buf, tid, twlo, twhi);
  stage<T, 420, 3, 4, THREADS, 1, 420, Q, LO_BITS, 0, Dense, 32>(buf, tid, twlo, twhi);
  stage<T, 420, 5, 12, THREADS, 1, 420, Q, LO_BITS, 0, Dense, 48>(buf, tid, twlo, twhi);

  // points past the last output are never stored
  last_stage_out<T, 420, 7, THREADS, 1, 420, Q, LO_BITS, 120>(buf, tid, twlo, twhi, out);
}
