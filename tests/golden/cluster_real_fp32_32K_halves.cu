// fftconv_cupy generated kernel: cluster real fp32 n=65536 m=32768 [2 | 16x8x8x16] x=32768 k=32768 out=[0:32768]
// Every size below is a compile-time constant of this plan; batch and channel
// counts are launch arguments.
#define FC_FULL_TABLE_BYTES 32768   // larger stage tables hold powers of two only
#include "fftconv/stockham.cuh"
#include "fftconv/cluster.cuh"

using namespace fc;
using T = float;
using IO = Native<float>;
using XT = IO::raw;           // real samples, packed two per complex point on chip
using HS = coef<T>;           // spectrum: (A, G) per bin, the packed-real product

constexpr int M = 32768;            // complex points of the transform
constexpr int Q = 65536;            // twiddle base
constexpr int LO_BITS = 8;
constexpr int NZ = 16384;          // nonzero input points; the rest is implicit padding
constexpr int LEN_X = 32768;
constexpr int OUT_START = 0;
constexpr int OUT_LEN = 32768;

// Virtual row v is channel-major (v = h * batch + b), so the blocks in flight
// share one channel's spectrum, which stays in L2 across the batch.
__device__ __forceinline__ long long data_row(int v, int batch, int channels, int& h) {
  h = v / batch;
  return (long long)(v - h * batch) * channels + h;
}

using Cls = Dense;

constexpr int A = 16384;            // row transform: block kb holds row kb of the (2, a) split
constexpr int THREADS = 1024;
constexpr int VPX = 2;      // signal / output rows: whole points per access (0: per sample)
constexpr int VPY = 2;
constexpr int NZB = (NZ + A - 1) / A; // 1: the input's upper half is padding
constexpr int NZ_ROW = NZB > 1 ? A : NZ;
constexpr int NOUTB = ((OUT_START + OUT_LEN + 1) / 2 + A - 1) / A;   // halves holding outputs

// w_m^(SIGN a): two correctly rounded table entries per twiddle
template <int SIGN>
__device__ __forceinline__ cx<T> half_twiddle(int a, const cx<T>* __restrict__ twlo,
                                              const cx<T>* __restrict__ twhi) {
  return twiddle<LO_BITS, SIGN>(twlo, twhi, unsigned(a) * unsigned(Q / M));
}

// One data row per cluster of 2 blocks: block kb transforms row kb of the (2, a) split (the
// even or the odd bins), multiplies, transforms back; the outputs combine both rows.
extern "C" __global__ void __cluster_dims__(2, 1, 1) __launch_bounds__(THREADS, 1)
fftconv_cluster(const XT* __restrict__ x, XT* __restrict__ y, const HS* __restrict__ hs,
                const cx<T>* __restrict__ twlo, const cx<T>* __restrict__ twhi,
                int rows, int batch, int channels,
                const XT* __restrict__ gpre, const XT* __restrict__ gpost) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  cx<T>* const buf = reinterpret_cast<cx<T>*>(smem_raw);
  const int tid = threadIdx.x;
  const int kb = (int)__clusterRelativeBlockRank();
  int h;
  const long long row = data_row(blockIdx.x / 2, batch, channels, h);
  const XT* xr = x + row * LEN_X;
  XT* yr = y + row * OUT_LEN;
  const HS* hrow = hs + (long long)h * M + (long long)kb * A;

  // the 2-point column DFT of point a, times w_m^(-a kb), feeds the first row stage
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
  // (one call per rank here and below, so that each compiles with its rank known)
  if (kb == 0) {
    first_stage_in<T, A, 16, THREADS, -1, NZ_ROW>(buf, tid,
        [&](int e) { return NZB > 1 ? in(e) + in(e + A) : in(e); });
  } else {
    first_stage_in<T, A, 16, THREADS, -1, NZ_ROW>(buf, tid,
        [&](int e) { return (NZB > 1 ? in(e) - in(e + A) : in(e)) * half_twiddle<-1>(e, twlo, twhi); });
  }
  stage<T, 16384, 8, 16, THREADS, -1, 16384, Q, LO_BITS, 0, Dense, 256>(buf, tid, twlo, twhi);
  stage<T, 16384, 8, 128, THREADS, -1, 16384, Q, LO_BITS, 0, Dense, 384>(buf, tid, twlo, twhi);

  // last forward stage, product, first inverse stage in registers: row 0 pairs its bins as
  // a fused row does (ka with -ka), row 1 (the odd bins) ka with a-1-ka
  if (kb == 0)
    middle_pairs<T, A, 16, THREADS, Q, LO_BITS, 1408>(buf, buf, hrow, hrow,
        true, twlo, twhi, 0, tid);
  else
    middle_pairs<T, A, 16, THREADS, Q, LO_BITS, 1408>(buf, buf, hrow, hrow,
        true, twlo, twhi, 1, tid);
  stage<T, 16384, 8, 16, THREADS, 1, 16384, Q, LO_BITS, 0, Dense, 256>(buf, tid, twlo, twhi);
  stage<T, 16384, 8, 128, THREADS, 1, 16384, Q, LO_BITS, 0, Dense, 384>(buf, tid, twlo, twhi);
  stage<T, 16384, 16, 1024, THREADS, 1, 16384, Q, LO_BITS, 0, Dense, 1408>(buf, tid, twlo, twhi);

  cluster_arrive();           // release this block's row; acquire the other's
  cluster_wait();

  // inverse column DFTs: y point a + A bb = row 0 + (-1)^bb w_m^a row 1; block kb stores
  // the columns a in [kb A/2, (kb + 1) A/2), reading the other block's row in place
  // (measured against pushing that half into the other block's inbox during the last
  // stage, and against adding row 1 to y in L2: both slower; unrolled: no faster)
  const unsigned other = dsmem_addr(buf, kb ^ 1);
#pragma unroll 1
  for (int a = kb * (A / 2) + tid; a < (kb + 1) * (A / 2); a += THREADS) {
  // out(i, p): point A * i + a of the transform's output (samples from OUT_START on)
  XT* const yb = yr + (2 * (long long)(0) - OUT_START);   // output sample of point 0
  auto out = [&](int i, cx<T> p) {
    const long long d = (long long)A * i + a, e = 0 + d;
    const long long s = 2 * e - OUT_START;
    if (VPY && s >= 0 && s + 1 < OUT_LEN) {
      store_row_pts<T, IO, 1>(yb, &p, d);   // s is even here
    } else {
      if (s >= 0 && s < OUT_LEN) IO::st(yb + 2 * d, p.re);
      if (s + 1 >= 0 && s + 1 < OUT_LEN) IO::st(yb + 2 * d + 1, p.im);
    }
  };
    const cx<T> own = buf[pad(a)];
    const cx<T> far = dsmem_ld<T>(other + unsigned(pad(a)) * unsigned(sizeof(cx<T>)));
    const cx<T> r1 = (kb ? own : far) * half_twiddle<1>(a, twlo, twhi);
    const cx<T> r0 = kb ? far : own;
    out(0, r0 + r1);
    if (NOUTB > 1) out(1, r0 - r1);
  }
  // this block's row stays readable until the other block has read it
  cluster_arrive();
  cluster_wait();
}
