// Tensor-core Stockham stages: the R-point DFTs (R = 8, 16) of 8 butterflies at a
// time as one warp-wide mma.sync product.
//
// A complex DFT y = F v is the real product of its 2R x 2R real form
//     [Re y; Im y] = [[Fr, -Fi], [Fi, Fr]] [Re v; Im v]
// with the matrix as the A operand (whole 16 x 16 tiles for R = 8, 16) and 8
// butterfly columns as B.  Data stays fp32 in shared memory; only the operands
// are rounded (fp16 / bf16 / tf32) and the products accumulate in fp32.  With
// TERMS = 3 both operands are split into hi + lo parts and the stage sums
// F_hi v_hi + F_hi v_lo + F_lo v_hi, which leaves an error near fp32's.
//
// Fragment layouts (PTX ISA, mma.m16n8k16 / m16n8k8), g = lane / 4, q = lane % 4:
//   A k16: reg k = rows g + 8(k&1), cols 2q + 8(k>>1) + {0,1}; k8: a0 (g,q) a1 (g+8,q) a2 (g,q+4) a3 (g+8,q+4)
//   B k16: b0 = rows 2q + {0,1}, b1 = rows 2q + 8 + {0,1}, col g; k8: b0 row q, b1 row q+4
//   C: c0 c1 = row g, cols 2q + {0,1}; c2 c3 = row g + 8
#pragma once
#include "stockham.cuh"

namespace fc {

// Operand types: K of the mma shape, and the sign bits of one operand register.
struct F16 { static constexpr int K = 16, HALF = 1; static constexpr unsigned NEG = 0x80008000u; };
struct BF16 { static constexpr int K = 16, HALF = 0; static constexpr unsigned NEG = 0x80008000u; };
struct TF32 { static constexpr int K = 8, HALF = 0; static constexpr unsigned NEG = 0x80000000u; };

// One operand register from fp32 values: a pair (lower index in the low half) or one tf32.
template <class M>
__device__ __forceinline__ unsigned pack(float x0, float x1) {
  unsigned d;
  if constexpr (M::K == 8) {
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(d) : "f"(x0));
  } else if constexpr (M::HALF) {
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(x1), "f"(x0));
  } else {
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(x1), "f"(x0));
  }
  return d;
}

// The fp32 values of an operand register.
template <class M>
__device__ __forceinline__ void unpack(unsigned d, float& x0, float& x1) {
  if constexpr (M::K == 8) {
    x0 = __uint_as_float(d);
    x1 = 0.0f;
  } else if constexpr (M::HALF) {
    asm("{ .reg .f16 l, h;\n mov.b32 {l, h}, %2;\n cvt.f32.f16 %0, l;\n cvt.f32.f16 %1, h; }"
        : "=f"(x0), "=f"(x1) : "r"(d));
  } else {
    x0 = __uint_as_float(d << 16);
    x1 = __uint_as_float(d & 0xffff0000u);
  }
}

// hi = operand(x), lo = operand(x - hi): x0, x1 to within ~u^2.
template <class M, int TERMS>
__device__ __forceinline__ void split(float x0, float x1, unsigned& hi, unsigned& lo) {
  hi = pack<M>(x0, x1);
  if constexpr (TERMS == 3) {
    float h0, h1;
    unpack<M>(hi, h0, h1);
    lo = pack<M>(x0 - h0, x1 - h1);
  }
}

// d += a b
template <class M>
__device__ __forceinline__ void mma(float* d, const unsigned* a, const unsigned* b) {
  if constexpr (M::K == 8) {
    asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else if constexpr (M::HALF) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
}

// cos(2 pi t / 16), t any integer: exact octant symmetry around four rounded constants.
__device__ __forceinline__ float cos16(int t) {
  int u = t & 15;
  u = u > 8 ? 16 - u : u;                 // 0..8
  const bool neg = u > 4;
  u = neg ? 8 - u : u;                    // 0..4
  const float v = u == 0 ? 1.0f : u == 1 ? 0.923879532511286756f : u == 2 ? 0.707106781186547524f
                : u == 3 ? 0.382683432365089772f : 0.0f;
  return neg ? -v : v;
}

// The lane's entries of the forward R-point DFT matrix F = C + iS (S = -sin), as A
// operand registers (hi and lo parts), computed once per kernel.  Entry e of C / S is
// the (row, col) the fragment layout above gives the lane.
template <int R, class M, int TERMS>
struct Frag {
  static constexpr int N = M::K == 8 ? (R == 16 ? 8 : 2) : (R == 16 ? 4 : 1);
  unsigned c[N], s[N], cl[N], sl[N];
  __device__ __forceinline__ explicit Frag(int lane) {
    const int g = lane >> 2, q = lane & 3;
#pragma unroll
    for (int e = 0; e < N; ++e) {
      int row, col;
      if constexpr (M::K == 8) {
        row = g + (R == 16 ? 8 * (e & 1) : 0);
        col = (R == 16 ? 8 * (e >> 2) + 4 * ((e >> 1) & 1) : 4 * e) + q;
      } else {
        row = g + (R == 16 ? 8 * (e & 1) : 0);
        col = 2 * q + 8 * (e >> 1);
      }
      constexpr int STEP = 16 / R;        // sixteenths of a turn per unit of row * col
      float c0 = cos16(STEP * row * col), s0 = -cos16(STEP * row * col - 4);
      float c1 = cos16(STEP * row * (col + 1)), s1 = -cos16(STEP * row * (col + 1) - 4);
      split<M, TERMS>(c0, c1, c[e], cl[e]);
      split<M, TERMS>(s0, s1, s[e], sl[e]);
    }
  }
};

// The four A registers of tile (mt, kt) for transform sign SIGN, from C and S (or their lo parts).
template <int R, class M, int SIGN>
__device__ __forceinline__ void a_tile(unsigned* a, const unsigned* C, const unsigned* S, int mt, int kt) {
  const unsigned sp = SIGN < 0 ? 0u : M::NEG;          // +S in the forward transform
  const unsigned sn = SIGN < 0 ? M::NEG : 0u;          // -S
  if constexpr (M::K == 16 && R == 16) {
    // tiles: (0,0) C, (0,1) -S, (1,0) S, (1,1) C
#pragma unroll
    for (int k = 0; k < 4; ++k) a[k] = mt == kt ? C[k] : (mt == 0 ? S[k] ^ sn : S[k] ^ sp);
  } else if constexpr (M::K == 16) {
    a[0] = C[0]; a[1] = S[0] ^ sp; a[2] = S[0] ^ sn; a[3] = C[0];
  } else if constexpr (R == 8) {
    if (kt == 0) { a[0] = C[0]; a[1] = S[0] ^ sp; a[2] = C[1]; a[3] = S[1] ^ sp; }
    else         { a[0] = S[0] ^ sn; a[1] = C[0]; a[2] = S[1] ^ sn; a[3] = C[1]; }
  } else {
    const int h = kt & 1;
    const bool re_cols = kt < 2;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const unsigned cv = C[4 * h + k], sv = S[4 * h + k];
      a[k] = (mt == 0) == re_cols ? cv : (mt == 0 ? sv ^ sn : sv ^ sp);
    }
  }
}

// Row (0 <= r < R) of the u-th complex input a lane holds for its butterfly column.
template <int R, class M>
__device__ __forceinline__ int in_row(int u, int q) {
  if constexpr (M::K == 8) return q + 4 * u;
  else return 2 * q + (u & 1) + 8 * (u >> 1);
}

// One radix-R Stockham stage (same index maps as fc::stage) on tensor cores.
template <class T, int S, int R, int NS, int THREADS, int SIGN, int NZ, int Q, int LO_BITS, class M,
          int TERMS>
__device__ __forceinline__ void stage_mma(cx<T>* buf, int tid, const cx<T>* __restrict__ lo,
                                          const cx<T>* __restrict__ hi, const Frag<R, M, TERMS>& F) {
  static_assert(R == 8 || R == 16, "tensor-core stages are radix 8 or 16");
  constexpr int J = S / R, TILES = J / 8, WARPS = THREADS / 32;
  static_assert(J % 8 == 0 && THREADS % 32 == 0, "whole tiles of whole warps");
  constexpr int IT = (TILES + WARPS - 1) / WARPS;
  constexpr int NIN = R / 4;                       // complex inputs (and outputs) per lane and tile
  constexpr int KT = 2 * R / M::K, MT = 2 * R / 16;
  constexpr unsigned TW = Q / (NS * R);
  constexpr bool SCALE = M::HALF;        // fp16's range: per-column power-of-two scaling
  const int lane = tid & 31, warp = tid >> 5, g = lane >> 2, q = lane & 3;
  // Operands are formed before the barrier: packed 16-bit pairs hold half the registers
  // of the fp32 values, and every tile of the warp must be read before any is written.
  unsigned bh[IT][KT][2], bl[IT][KT][2];
  float inv[IT];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int t = warp + it * WARPS;
    inv[it] = 1.0f;
    if (TILES % WARPS == 0 || t < TILES) {
      const int j = 8 * t + g;
      float re[NIN], im[NIN];
      float big = 0.0f;
#pragma unroll
      for (int u = 0; u < NIN; ++u) {
        const int r = in_row<R, M>(u, q);
        const int e = j + r * J;
        cx<T> v = (NZ < S && e >= NZ) ? zero<T>() : buf[pad(e)];
        if constexpr (NS > 1) v = v * twiddle<LO_BITS, SIGN>(lo, hi, unsigned((j % NS) * r) * TW);
        re[u] = v.re;
        im[u] = v.im;
        if constexpr (SCALE) big = fmaxf(big, fmaxf(fabsf(v.re), fabsf(v.im)));
      }
      if constexpr (SCALE) {
        big = fmaxf(big, __shfl_xor_sync(0xffffffffu, big, 1));
        big = fmaxf(big, __shfl_xor_sync(0xffffffffu, big, 2));
        const unsigned ex = max(1u, (__float_as_uint(big) >> 23) & 0xffu);
        const float sc = __uint_as_float((254u - ex) << 23);   // the column's largest part -> [1, 2)
        inv[it] = __uint_as_float(ex << 23);
#pragma unroll
        for (int u = 0; u < NIN; ++u) { re[u] *= sc; im[u] *= sc; }
      }
#pragma unroll
      for (int kt = 0; kt < KT; ++kt) {
        if constexpr (M::K == 16 && R == 8) {          // rows 0-7 real parts, 8-15 imaginary
          split<M, TERMS>(re[0], re[1], bh[it][kt][0], bl[it][kt][0]);
          split<M, TERMS>(im[0], im[1], bh[it][kt][1], bl[it][kt][1]);
        } else if constexpr (M::K == 16) {             // k-tile 0 real parts, 1 imaginary
#pragma unroll
          for (int b = 0; b < 2; ++b)
            split<M, TERMS>(kt == 0 ? re[2 * b] : im[2 * b], kt == 0 ? re[2 * b + 1] : im[2 * b + 1],
                            bh[it][kt][b], bl[it][kt][b]);
        } else {                                       // k-tiles < KT/2 real parts
          const int h = kt % (KT / 2);
#pragma unroll
          for (int b = 0; b < 2; ++b)
            split<M, TERMS>(kt < KT / 2 ? re[2 * h + b] : im[2 * h + b], 0.0f, bh[it][kt][b], bl[it][kt][b]);
        }
      }
    }
  }
  __syncthreads();
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int t = warp + it * WARPS;
    if (TILES % WARPS == 0 || t < TILES) {
      float acc[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        acc[mt][0] = acc[mt][1] = acc[mt][2] = acc[mt][3] = 0.0f;
#pragma unroll
        for (int kt = 0; kt < KT; ++kt) {
          unsigned a[4];
          a_tile<R, M, SIGN>(a, F.c, F.s, mt, kt);
          mma<M>(acc[mt], a, bh[it][kt]);
          if constexpr (TERMS == 3) {
            mma<M>(acc[mt], a, bl[it][kt]);
            a_tile<R, M, SIGN>(a, F.cl, F.sl, mt, kt);
            mma<M>(acc[mt], a, bh[it][kt]);
          }
        }
      }
      // lane holds outputs y[i] of butterflies n = 2q, 2q + 1 (i = g, and g + 8 when R = 16)
      float s0 = 1.0f, s1 = 1.0f;
      if constexpr (SCALE) {
        s0 = __shfl_sync(0xffffffffu, inv[it], 8 * q);
        s1 = __shfl_sync(0xffffffffu, inv[it], 8 * q + 4);
      }
#pragma unroll
      for (int o = 0; o < NIN; ++o) {        // o: (row half, column) pairs
        const int n = 2 * q + (o & 1);
        const int i = g + 8 * (o >> 1);
        const float sc = (o & 1) ? s1 : s0;
        cx<T> y;
        if constexpr (MT == 2) y = {acc[0][o] * sc, acc[1][o] * sc};
        else y = {acc[0][o] * sc, acc[0][o + 2] * sc};
        const int j = 8 * t + n;
        const int base = (j / NS) * NS * R + (j % NS);
        buf[pad(base + i * NS)] = y;
      }
    }
  }
  __syncthreads();
}

}  // namespace fc
