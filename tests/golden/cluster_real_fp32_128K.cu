// fftconv_cupy generated kernel: cluster real fp32 n=262144 m=131072 [16 | 8x16x8x8] x=131072 k=131072 out=[0:131072]
// Every size below is a compile-time constant of this plan; batch and channel
// counts are launch arguments.
#define FC_FULL_TABLE_BYTES 0   // larger stage tables hold powers of two only
#include "fftconv/stockham.cuh"
#include "fftconv/cluster.cuh"

using namespace fc;
using T = float;
using IO = Native<float>;
using XT = IO::raw;           // real samples, packed two per complex point on chip
using HS = coef<T>;           // spectrum: (A, G) per bin, the packed-real product

constexpr int M = 131072;            // complex points of the transform
constexpr int Q = 262144;            // twiddle base
constexpr int LO_BITS = 9;
constexpr int NZ = 65536;          // nonzero input points; the rest is implicit padding
constexpr int LEN_X = 131072;
constexpr int OUT_START = 0;
constexpr int OUT_LEN = 131072;

// Virtual row v is channel-major (v = h * batch + b), so the blocks in flight
// share one channel's spectrum, which stays in L2 across the batch.
__device__ __forceinline__ long long data_row(int v, int batch, int channels, int& h) {
  h = v / batch;
  return (long long)(v - h * batch) * channels + h;
}

using Cls = Dense;

constexpr int A = 8192;            // row transform: the middle pass's row pair per block
constexpr int B = 16;            // column transform: one radix-B butterfly per column
constexpr int CS = B / 2;             // blocks per cluster
constexpr int CW = A / CS;            // columns owned by one block
constexpr int RT = 512; // threads per row, two rows per block
constexpr int STRIDE_A = 8705;
constexpr int VPX = 2;      // signal / output rows: whole points per access (0: per sample)
constexpr int VPY = 2;
constexpr int NZB = (NZ + A - 1) / A; // columns are zero below row NZB
constexpr int NOUTB = ((OUT_START + OUT_LEN + 1) / 2 + A - 1) / A;   // rows bb holding outputs

// Point a of row kb: block owner(kb), slot 0 or 1 of its buffer.  Block r > 0 holds rows r
// and b - r (partners of the packed-real product), block 0 rows 0 and b/2 (each its own).
__device__ __forceinline__ unsigned row_point(const cx<T>* smem, int kb, int a) {
  const int owner = kb == CS ? 0 : (kb < CS ? kb : B - kb);
  return dsmem_addr(smem + (kb >= CS ? STRIDE_A : 0) + pad(a), owner);
}

// w_m^(SIGN a kb): two correctly rounded table entries per twiddle
template <int SIGN>
__device__ __forceinline__ cx<T> column_twiddle(int a, int kb, const cx<T>* __restrict__ twlo,
                                                const cx<T>* __restrict__ twhi) {
  return twiddle<LO_BITS, SIGN>(twlo, twhi, unsigned(a) * unsigned(kb) * unsigned(Q / M));
}

// One data row per cluster of CS blocks; 2 RT threads per block (group g runs row slot g).
extern "C" __global__ void __cluster_dims__(CS, 1, 1) __launch_bounds__(2 * RT, 1)
fftconv_cluster(const XT* __restrict__ x, XT* __restrict__ y, const HS* __restrict__ hs,
                const cx<T>* __restrict__ twlo, const cx<T>* __restrict__ twhi,
                int rows, int batch, int channels,
                const XT* __restrict__ gpre, const XT* __restrict__ gpost) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  cx<T>* smem = reinterpret_cast<cx<T>*>(smem_raw);
  // no block writes into another's shared memory before every block of the cluster runs
  cluster_arrive();
  const int g = threadIdx.x / RT, tid = threadIdx.x % RT;
  cx<T>* buf = smem + g * STRIDE_A;
  const int rank = (int)__clusterRelativeBlockRank();
  const bool self = rank == 0;
  const int kb = rank, kb1 = self ? CS : B - rank;
  int h;
  const long long row = data_row(blockIdx.x / CS, batch, channels, h);
  const XT* xr = x + row * LEN_X;
  XT* yr = y + row * OUT_LEN;

  cluster_wait();

  // 1. columns a of this block: b-point DFTs in registers, output kb times w_m^(a kb)
  //    written straight into the shared memory of row kb's owner
  for (int a = rank * CW + threadIdx.x; a < (rank + 1) * CW; a += 2 * RT) {
  // in(i): point A * i + a of the transform's input, zero outside the signal
  const XT* const xb = xr + 2 * (long long)(0);   // sample of point 0
  auto in = [&](int i) {
    const long long d = (long long)A * i + a, e = 0 + d;
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
    cx<T> v[B];
#pragma unroll
    for (int bb = 0; bb < B; ++bb) v[bb] = bb < NZB ? in(bb) : zero<T>();
    dft<B, -1>(v);
#pragma unroll
    for (int k = 0; k < B; ++k) dsmem_st(row_point(smem, k, a), v[k] * column_twiddle<-1>(a, k, twlo, twhi));
  }
  cluster_arrive();           // release: the rows are complete once every block arrives
  cluster_wait();

  // 2. the middle pass's row pair, in this block's shared memory
  // Rows kb (smem) and kb1 (smem + STRIDE_A) of channel h, group g of RT threads each: forward
  // a-point DFTs, the product with the spectrum, the inverse DFTs, in place.
  const HS* hrow = hs + (long long)h * M;
  stage<T, 8192, 8, 1, RT, -1, 8192, Q, LO_BITS>(buf, tid, twlo, twhi);
  stage<T, 8192, 16, 8, RT, -1, 8192, Q, LO_BITS, 0, Dense, 512>(buf, tid, twlo, twhi);
  stage<T, 8192, 8, 128, RT, -1, 8192, Q, LO_BITS, 0, Dense, 544>(buf, tid, twlo, twhi);

  // last forward stage, product, first inverse stage: in registers
  middle_pairs<T, A, 8, RT, Q, LO_BITS, 1056>(smem, smem + STRIDE_A,
      hrow + (long long)kb * A, hrow + (long long)kb1 * A, self, twlo, twhi, g, tid);
  stage<T, 8192, 16, 8, RT, 1, 8192, Q, LO_BITS, 0, Dense, 512>(buf, tid, twlo, twhi);
  stage<T, 8192, 8, 128, RT, 1, 8192, Q, LO_BITS, 0, Dense, 544>(buf, tid, twlo, twhi);
  stage<T, 8192, 8, 1024, RT, 1, 8192, Q, LO_BITS, 0, Dense, 1056>(buf, tid, twlo, twhi);


  cluster_arrive();           // rows final before other blocks read them
  cluster_wait();

  // 3. columns back from the row owners: conjugate twiddles, inverse b-point DFTs, store y
  for (int a = rank * CW + threadIdx.x; a < (rank + 1) * CW; a += 2 * RT) {
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
    cx<T> v[B];
#pragma unroll
    for (int k = 0; k < B; ++k) v[k] = dsmem_ld<T>(row_point(smem, k, a)) * column_twiddle<1>(a, k, twlo, twhi);
    dft<B, 1>(v);
#pragma unroll
    for (int bb = 0; bb < NOUTB; ++bb) out(bb, v[bb]);
  }
  // this block's rows stay readable until every block has read its columns
  cluster_arrive();
  cluster_wait();
}
