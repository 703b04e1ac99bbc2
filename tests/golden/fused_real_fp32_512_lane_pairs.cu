// fftconv_cupy generated kernel: fused real fp32 n=1024 m=512 [16x2x16] x=512 k=512 out=[0:512]
// Every size below is a compile-time constant of this plan; batch and channel
// counts are launch arguments.
#include "fftconv/stockham.cuh"

using namespace fc;
using T = float;
using IO = Native<float>;
using XT = IO::raw;           // real samples, packed two per complex point on chip
using HS = coef<T>;           // spectrum: (A, G) per bin, the packed-real product

constexpr int M = 512;            // complex points of the transform
constexpr int Q = 1024;            // twiddle base
constexpr int LO_BITS = 5;
constexpr int NZ = 256;          // nonzero input points; the rest is implicit padding
constexpr int LEN_X = 512;
constexpr int OUT_START = 0;
constexpr int OUT_LEN = 512;

// Virtual row v is channel-major (v = h * batch + b), so the blocks in flight
// share one channel's spectrum, which stays in L2 across the batch.
__device__ __forceinline__ long long data_row(int v, int batch, int channels, int& h) {
  h = v / batch;
  return (long long)(v - h * batch) * channels + h;
}

using Cls = Dense;

constexpr int THREADS = 32;
constexpr int GROUPS = 8;
constexpr int STRIDE = 545;

extern "C" __global__ void __launch_bounds__(GROUPS * THREADS, 4)
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
  constexpr int VPX = 2, VPY = 2;   // whole points per access (0: per sample)
  const XT* xr = x + row * LEN_X;
  XT* yr = y + row * OUT_LEN;
  // in(i): point tid + i - tid of the transform's input, zero outside the signal
  const XT* const xb = xr + 2 * (long long)(tid);   // sample of point tid
  auto in = [&](int i) {
    const long long d = i - tid, e = tid + d;
    cx<T> p = zero<T>();
    const long long s = 2 * e;     // its first sample
    if (VPX && s + 1 < LEN_X) {
      load_row_pts<T, IO, 1>(&p, xb, d);   // s is even here
    } else {
      if (s < LEN_X) p.re = IO::ld(xb + 2 * d);
      if (s + 1 < LEN_X) p.im = IO::ld(xb + 2 * d + 1);
    }
    return p;
  };
  // out(i, p): point tid + i - tid of the transform's output (samples from OUT_START on)
  XT* const yb = yr + (2 * (long long)(tid) - OUT_START);   // output sample of point tid
  auto out = [&](int i, cx<T> p) {
    if (!(active)) return;
    const long long d = i - tid, e = tid + d;
    const long long s = 2 * e - OUT_START;
    if (VPY && s >= 0 && s + 1 < OUT_LEN) {
      store_row_pts<T, IO, 1>(yb, &p, d);   // s is even here
    } else {
      if (s >= 0 && s < OUT_LEN) IO::st(yb + 2 * d, p.re);
      if (s + 1 >= 0 && s + 1 < OUT_LEN) IO::st(yb + 2 * d + 1, p.im);
    }
  };
  // [16x2x16] on a warp (Plan.lane_pairs): the radix-2 stages on shuffles
  first_pair_in<T, 512, NZ>(buf, tid, in);
  middle_real<T, 512, 16, THREADS, Q, LO_BITS, 64, true>(buf, hs + (long long)h * M, tid, twlo, twhi);
  last_stage_out<T, 512, 16, THREADS, 1, 256, Q, LO_BITS, 64>(buf, tid, twlo, twhi, out);
}
