// fftconv_cupy generated kernel: cluster real fp32 n=262144 m=131072 [16 | 8x16x8x8] x=131072 k=131072 out=[0:131072]
// Every size below is a compile-time constant of this plan; batch and channel
// counts are launch arguments.
#include "fftconv/stockham.cuh"

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

constexpr int A = 8192;            // row transform: two rows per block
constexpr int B = 16;            // column transform: one radix-B butterfly
constexpr int CS = B / 2;             // blocks per cluster
constexpr int CW = A / CS;            // columns owned by one block
constexpr int RT = 512;
constexpr int STRIDE_A = 8705;
constexpr int VPX = 2;
constexpr int VPY = 2;

__device__ __forceinline__ void cluster_sync() {
  __cluster_barrier_arrive();
  __cluster_barrier_wait();
}

// Rows held by block `rank` in the row phase: kb and its partner b - kb
// (block 0 holds the two rows that pair with themselves, 0 and b/2).
__device__ __forceinline__ int row_of(int rank, int slot) {
  return rank == 0 ? slot * CS : (slot ? B - rank : rank);
}

// w_m^(a*kb) for kb < B: table values at the powers of two, products between.
template <int SIGN>
__device__ __forceinline__ void column_twiddles(cx<T>* w, int a, const cx<T>* __restrict__ twlo,
                                                const cx<T>* __restrict__ twhi) {
  w[0] = {T(1), T(0)};
#pragma unroll
  for (int r = 1; r < B; r *= 2) w[r] = twiddle<LO_BITS, SIGN>(twlo, twhi, unsigned(a) * r * unsigned(Q / M));
#pragma unroll
  for (int r = 3; r < B; ++r) {
    const int hb = 1 << (31 - __clz(r));
    if (hb != r) w[r] = w[hb] * w[r - hb];
  }
}

extern "C" __global__ void __cluster_dims__(CS, 1, 1) __launch_bounds__(RT, 1)
fftconv_cluster(const XT* __restrict__ x, XT* __restrict__ y, const HS* __restrict__ hs,
                const cx<T>* __restrict__ twlo, const cx<T>* __restrict__ twhi,
                int rows, int batch, int channels,
                const XT* __restrict__ gpre, const XT* __restrict__ gpost) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  cx<T>* buf = reinterpret_cast<cx<T>*>(smem_raw);
  const int tid = threadIdx.x;
  const int rank = (int)__clusterRelativeBlockRank();
  const int a0 = rank * CW;
  int h;
  const long long row = data_row(blockIdx.x / CS, batch, channels, h);

  // 1. my columns of the (b, a) view: z[A*b + a0 + c], b < B (column layout: pad(b*CW + c))
  {
    const cx<T>* xp = reinterpret_cast<const cx<T>*>(x + row * LEN_X);
    constexpr int NV = B * CW / 2;
#pragma unroll
    for (int it = 0; it < (NV + RT - 1) / RT; ++it) {
      const int i = tid + it * RT;
      if (NV % RT == 0 || i < NV) {
        const int c = (i % (CW / VPX)) * VPX, bb = i / (CW / VPX);
        const long long e = (long long)A * bb + a0 + c;
        cx<T> p[VPX];
        if (e + VPX <= NZ) {
          load_pts<T, VPX>(p, xp + e);
        } else {
#pragma unroll
          for (int u = 0; u < VPX; ++u) p[u] = (e + u < NZ) ? ldg(xp + e + u) : zero<T>();
        }
#pragma unroll
        for (int u = 0; u < VPX; ++u) buf[pad(bb * CW + c + u)] = p[u];
      }
    }
  }
  __syncthreads();

  // 2. b-point column DFTs and the twiddles w_m^(a*kb)
  for (int c = tid; c < CW; c += RT) {
    cx<T> v[B], w[B];
#pragma unroll
    for (int bb = 0; bb < B; ++bb) v[bb] = buf[pad(bb * CW + c)];
    dft<B, -1>(v);
    column_twiddles<-1>(w, a0 + c, twlo, twhi);
#pragma unroll
    for (int kb = 0; kb < B; ++kb) buf[pad(kb * CW + c)] = v[kb] * w[kb];
  }
  cluster_sync();

  // 3. gather my two rows from every block's columns (distributed shared memory)
  constexpr int GA = (A + RT - 1) / RT;
  cx<T> g[2][GA];
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const int kb = row_of(rank, s);
#pragma unroll
    for (int it = 0; it < GA; ++it) {
      const int a = tid + it * RT;
      if (A % RT == 0 || a < A) {
        const int j = a / CW;
        const cx<T>* remote = reinterpret_cast<const cx<T>*>(__cluster_map_shared_rank((void*)buf, j));
        g[s][it] = remote[pad(kb * CW + (a - j * CW))];
      }
    }
  }
  cluster_sync();                       // every block has read its rows: buffers may be reused
#pragma unroll
  for (int s = 0; s < 2; ++s)
#pragma unroll
    for (int it = 0; it < GA; ++it) {
      const int a = tid + it * RT;
      if (A % RT == 0 || a < A) buf[s * STRIDE_A + pad(a)] = g[s][it];
    }
  __syncthreads();

  // 4. a-point row DFTs, product with the spectrum in this order, inverse row DFTs
  {
    cx<T>* row0 = buf;
    cx<T>* row1 = buf + STRIDE_A;
    {
      cx<T>* bufp = row0;
      stage<T, A, 8, 1, RT, -1, A, Q, LO_BITS>(bufp, tid, twlo, twhi);
      stage<T, A, 16, 8, RT, -1, A, Q, LO_BITS, 0, Dense, 512>(bufp, tid, twlo, twhi);
      stage<T, A, 8, 128, RT, -1, A, Q, LO_BITS, 0, Dense, 640>(bufp, tid, twlo, twhi);
      stage<T, A, 8, 1024, RT, -1, A, Q, LO_BITS, 0, Dense, 1664>(bufp, tid, twlo, twhi);
      bufp = row1;
      stage<T, A, 8, 1, RT, -1, A, Q, LO_BITS>(bufp, tid, twlo, twhi);
      stage<T, A, 16, 8, RT, -1, A, Q, LO_BITS, 0, Dense, 512>(bufp, tid, twlo, twhi);
      stage<T, A, 8, 128, RT, -1, A, Q, LO_BITS, 0, Dense, 640>(bufp, tid, twlo, twhi);
      stage<T, A, 8, 1024, RT, -1, A, Q, LO_BITS, 0, Dense, 1664>(bufp, tid, twlo, twhi);
    }
    const HS* hrow = hs + (long long)h * M;
    if (rank == 0) {
      multiply_row_self<T, A, RT>(row0, hrow, 0, tid);
      multiply_row_self<T, A, RT>(row1, hrow + (long long)CS * A, CS, tid);
    } else {
      multiply_rows<T, A, RT>(row0, row1, hrow + (long long)rank * A, hrow + (long long)(B - rank) * A,
                              rank, tid);
    }
    {
      cx<T>* bufp = row0;
      stage<T, A, 8, 1, RT, 1, A, Q, LO_BITS>(bufp, tid, twlo, twhi);
      stage<T, A, 16, 8, RT, 1, A, Q, LO_BITS, 0, Dense, 512>(bufp, tid, twlo, twhi);
      stage<T, A, 8, 128, RT, 1, A, Q, LO_BITS, 0, Dense, 640>(bufp, tid, twlo, twhi);
      stage<T, A, 8, 1024, RT, 1, A, Q, LO_BITS, 0, Dense, 1664>(bufp, tid, twlo, twhi);
      bufp = row1;
      stage<T, A, 8, 1, RT, 1, A, Q, LO_BITS>(bufp, tid, twlo, twhi);
      stage<T, A, 16, 8, RT, 1, A, Q, LO_BITS, 0, Dense, 512>(bufp, tid, twlo, twhi);
      stage<T, A, 8, 128, RT, 1, A, Q, LO_BITS, 0, Dense, 640>(bufp, tid, twlo, twhi);
      stage<T, A, 8, 1024, RT, 1, A, Q, LO_BITS, 0, Dense, 1664>(bufp, tid, twlo, twhi);
    }
  }
  cluster_sync();                       // rows final before other blocks read them

  // 5. gather my columns back from the row owners
  constexpr int GC = (B * CW + RT - 1) / RT;
  cx<T> q[GC];
#pragma unroll
  for (int it = 0; it < GC; ++it) {
    const int i = tid + it * RT;
    if ((B * CW) % RT == 0 || i < B * CW) {
      const int c = i % CW, kb = i / CW;
      const int owner = (kb == 0 || kb == CS) ? 0 : (kb < CS ? kb : B - kb);
      const int slot = (kb == 0 || kb < CS) ? 0 : 1;
      const cx<T>* remote = reinterpret_cast<const cx<T>*>(__cluster_map_shared_rank((void*)buf, owner));
      q[it] = remote[slot * STRIDE_A + pad(a0 + c)];
    }
  }
  cluster_sync();
#pragma unroll
  for (int it = 0; it < GC; ++it) {
    const int i = tid + it * RT;
    if ((B * CW) % RT == 0 || i < B * CW) buf[pad(i)] = q[it];   // i == kb * CW + c
  }
  __syncthreads();

  // 6. conjugate twiddles and inverse b-point column DFTs
  for (int c = tid; c < CW; c += RT) {
    cx<T> v[B], w[B];
    column_twiddles<1>(w, a0 + c, twlo, twhi);
#pragma unroll
    for (int kb = 0; kb < B; ++kb) v[kb] = buf[pad(kb * CW + c)] * w[kb];
    dft<B, 1>(v);
#pragma unroll
    for (int bb = 0; bb < B; ++bb) buf[pad(bb * CW + c)] = v[bb];
  }
  __syncthreads();

  // 7. store the requested outputs: point A*b + a0 + c
  XT* yr = y + row * OUT_LEN;
  constexpr int P0 = OUT_START / 2, PN = OUT_LEN / 2;
  cx<T>* yp = reinterpret_cast<cx<T>*>(yr);
  constexpr int NV = B * CW / VPY;
#pragma unroll
  for (int it = 0; it < (NV + RT - 1) / RT; ++it) {
    const int i = tid + it * RT;
    if (NV % RT == 0 || i < NV) {
      const int c = (i % (CW / VPY)) * VPY, bb = i / (CW / VPY);
      const long long o = (long long)A * bb + a0 + c - P0;
      cx<T> p[VPY];
#pragma unroll
      for (int u = 0; u < VPY; ++u) p[u] = buf[pad(bb * CW + c + u)];
      if (o >= 0 && o + VPY <= PN) {
        store_pts<T, VPY>(yp + o, p);
      } else {
#pragma unroll
        for (int u = 0; u < VPY; ++u)
          if (o + u >= 0 && o + u < PN) yp[o + u] = p[u];
      }
    }
  }
}
