// Row pairs on tensor cores: the device helpers of templates/pairs.cu.j2.
//
// Two real rows of one channel form one complex row z = x1 + i x2 (a real kernel keeps
// them apart: y1 + i y2 = ifft(fft(z) K)).  An n = 16^3 point DFT is three radix-16
// stages, n = 256a + 16b + c, k = ka + 16kb + 256kc:
//   stage 1  tile c, [a][b]:  F . T              (left product, over a)
//   twiddle  w^(16 b ka)                          (per lane constants)
//   stage 2  [ka][b] . F                          (right product, over b; the C
//            fragment of stage 1 is stage 2's A fragment, no exchange)
//   twiddle  w^(c (ka + 16kb)), store S[c][j], j = ka + 16kb   (stmatrix)
//   stage 3  tile jb, [j][c] . F (over c), times the spectrum, . conj F (back over kc),
//            conj twiddle, store back in place
//   inverse  tile c, conj F . [kb][ka] (left), conj twiddle, . conj F (right) -> [b][a]
// Operands are fp16 (every DFT matrix is F / 4, so nothing overflows: the input is
// scaled so its largest part is in [256, 512), the spectrum by 2^t / 128); products
// accumulate in fp16 (the C fragment is then the next A fragment as it stands) except the
// last one, which feeds the output in fp32; twiddles and the spectrum product are fp16
// pairs (HMUL2 / HFMA2) applied to the packed A fragments.
// Fragments (mma.m16n8k16, g = lane / 4, q = lane % 4):
//   A reg k: rows g + 8(k&1), cols 2q + 8(k>>1) + {0,1};  B: b0 rows 2q+{0,1}, b1 rows
//   2q+8+{0,1}, col g;  C (n-block nb) reg r: row g + 8(r>>1), col 8nb + 2q + (r&1).
// Measurements of each choice: docs/tensor-cores.md (the prototype, benchmarks/tc4096).
#pragma once

namespace fc {
namespace pairs {

typedef unsigned int u32;

__device__ __forceinline__ u32 h2(float lo, float hi) {
  u32 d;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(hi), "f"(lo));
  return d;
}
__device__ __forceinline__ u32 bf2(float lo, float hi) {
  u32 d;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(hi), "f"(lo));
  return d;
}
// one bf16 of a packed pair as fp32 (hi: the upper half)
__device__ __forceinline__ float bf_half(u32 pair, int hi) {
  return __uint_as_float(hi ? (pair & 0xffff0000u) : (pair << 16));
}
// the same, or 0 for a row left out (hi_mask 0xffff0000 or 0, lo_perm 0x1044 or 0x4444:
// the byte permutation that moves the low half up, or zeros)
__device__ __forceinline__ float bf_half_or0(u32 pair, int hi, u32 hi_mask, u32 lo_perm) {
  return __uint_as_float(hi ? (pair & hi_mask) : __byte_perm(pair, 0u, lo_perm));
}
// word k of a lane's row words (4, 8 or 16 bf16: uint2, uint4 or u32x8; k a constant after unrolling)
__device__ __forceinline__ u32 word(const uint2& v, int k) { return k ? v.y : v.x; }
__device__ __forceinline__ u32 word(const uint4& v, int k) {
  return k == 0 ? v.x : k == 1 ? v.y : k == 2 ? v.z : v.w;
}
// 16 bf16 of a lane (a split row of eight parts): two 16-byte loads
struct u32x8 { uint4 lo, hi; };
__device__ __forceinline__ u32 word(const u32x8& v, int k) { return k < 4 ? word(v.lo, k) : word(v.hi, k - 4); }
__device__ __forceinline__ u32x8 ldg_x8(const unsigned short* p) {
  const uint4* v = reinterpret_cast<const uint4*>(p);
  return u32x8{__ldg(v), __ldg(v + 1)};
}
// x g of two bf16 pairs, rounded to bf16 (mul.bf16x2, sm_90)
__device__ __forceinline__ u32 bmul2(u32 a, u32 b) {
  u32 d;
  asm("mul.rn.bf16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b));
  return d;
}
__device__ __forceinline__ u32 hmul2(u32 a, u32 b) {
  u32 d;
  asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b));
  return d;
}
__device__ __forceinline__ u32 hfma2(u32 a, u32 b, u32 c) {
  u32 d;
  asm("fma.rn.f16x2 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}
__device__ __forceinline__ u32 hneg2(u32 a) {
  u32 d;
  asm("neg.f16x2 %0, %1;" : "=r"(d) : "r"(a));
  return d;
}
// (ar + i ai) *= (wr + i wi), or conj(w) with CONJ, on fp16 pairs
template <bool CONJ>
__device__ __forceinline__ void twiddle(u32& ar, u32& ai, u32 wr, u32 wi) {
  const u32 r = ar, i = ai;
  ar = hfma2(CONJ ? i : hneg2(i), wi, hmul2(r, wr));
  ai = hfma2(CONJ ? hneg2(r) : r, wi, hmul2(i, wr));
}
__device__ __forceinline__ void mma(float* d, const u32* a, u32 b0, u32 b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// d += a b with fp16 accumulators: d0 = row g, cols 2q, 2q+1; d1 = row g + 8 (packed pairs,
// which is the A fragment's register layout, so a product feeds the next one unconverted)
// d += a b over k < 8 only (m16n8k8: A regs 0-1, B reg 0), fp16 accumulators
__device__ __forceinline__ void mma8(u32* d, const u32* a, u32 b0) {
  asm("mma.sync.aligned.m16n8k8.row.col.f16.f16.f16.f16 {%0,%1}, {%2,%3}, {%4}, {%0,%1};"
      : "+r"(d[0]), "+r"(d[1])
      : "r"(a[0]), "r"(a[1]), "r"(b0));
}
__device__ __forceinline__ void mma(u32* d, const u32* a, u32 b0, u32 b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f16.f16.f16.f16 {%0,%1}, {%2,%3,%4,%5}, {%6,%7}, {%0,%1};"
      : "+r"(d[0]), "+r"(d[1])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// 16 bytes global -> shared, asynchronous (L2 only); groups committed and waited for
__device__ __forceinline__ void cp_async16(u32 saddr, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: "r"(saddr), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;" ::: "memory");
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory");
}
__device__ __forceinline__ void ldsm_t(u32 addr, u32* d) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3]) : "r"(addr) : "memory");
}
__device__ __forceinline__ void stsm_t(u32 addr, const u32* s) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.trans.shared.b16 [%0], {%1,%2,%3,%4};"
               :: "r"(addr), "r"(s[0]), "r"(s[1]), "r"(s[2]), "r"(s[3]) : "memory");
}

// S[plane][c][j] (fp16, 16 x 256 per plane): 16-byte chunks XOR-swizzled so that the
// rows of one 8x8 matrix (8 kb apart by 32 bytes, or 8 c apart by 512) hit distinct banks.
__device__ __forceinline__ u32 saddr(u32 base, int plane, int c, int j) {
  int chunk = j >> 3;
  int phys = chunk ^ ((chunk >> 3) & 1) ^ (c & 7);
  return base + plane * 8192 + c * 512 + phys * 16;
}

struct Cplx { float r[2][4], i[2][4]; };   // a 16 x 16 complex C tile (two n-blocks), fp32
struct CplxH { u32 r[2][2], i[2][2]; };     // the same with fp16 accumulators (packed pairs)

__device__ __forceinline__ void zero(Cplx& y) {
#pragma unroll
  for (int nb = 0; nb < 2; ++nb)
#pragma unroll
    for (int r = 0; r < 4; ++r) y.r[nb][r] = y.i[nb][r] = 0.f;
}
__device__ __forceinline__ void zero(CplxH& y) {
#pragma unroll
  for (int nb = 0; nb < 2; ++nb)
#pragma unroll
    for (int r = 0; r < 2; ++r) y.r[nb][r] = y.i[nb][r] = 0u;
}
// C fragment -> A fragment (fp16), real and imaginary planes
__device__ __forceinline__ void to_a(const Cplx& y, u32* ar, u32* ai) {
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    int nb = k >> 1, r = 2 * (k & 1);
    ar[k] = h2(y.r[nb][r], y.r[nb][r + 1]);
    ai[k] = h2(y.i[nb][r], y.i[nb][r + 1]);
  }
}
__device__ __forceinline__ void to_a(const CplxH& y, u32* ar, u32* ai) {
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    ar[k] = y.r[k >> 1][k & 1];
    ai[k] = y.i[k >> 1][k & 1];
  }
}
typedef CplxH Acc;   // fp16 accumulators except the last inverse product (the output)
// y = F . B (left product; sign -1: conj F)
template <int SIGN, class T>
__device__ __forceinline__ void left(T& y, const u32* fr, const u32* fi, const u32* fni,
                                     const u32 (*br)[2], const u32 (*bi)[2]) {
  zero(y);
#pragma unroll
  for (int nb = 0; nb < 2; ++nb) {
    mma(y.r[nb], fr, br[nb][0], br[nb][1]);
    mma(y.r[nb], SIGN > 0 ? fni : fi, bi[nb][0], bi[nb][1]);
    mma(y.i[nb], fr, bi[nb][0], bi[nb][1]);
    mma(y.i[nb], SIGN > 0 ? fi : fni, br[nb][0], br[nb][1]);
  }
}
// the same when rows 8-15 of B are zero (a causal row's padding): half the products
template <int SIGN>
__device__ __forceinline__ void left_k8(CplxH& y, const u32* fr, const u32* fi, const u32* fni,
                                        const u32 (*br)[2], const u32 (*bi)[2]) {
  zero(y);
#pragma unroll
  for (int nb = 0; nb < 2; ++nb) {
    mma8(y.r[nb], fr, br[nb][0]);
    mma8(y.r[nb], SIGN > 0 ? fni : fi, bi[nb][0]);
    mma8(y.i[nb], fr, bi[nb][0]);
    mma8(y.i[nb], SIGN > 0 ? fi : fni, br[nb][0]);
  }
}
// y = A . F (right product; sign -1: conj F) for n-blocks nb < NB (NB = 1: columns 0-7,
// what a causal row keeps of the last product)
template <int SIGN, class T, int NB = 2>
__device__ __forceinline__ void right(T& y, const u32* ar, const u32* ai,
                                      const u32 (*gr)[2], const u32 (*gi)[2], const u32 (*gni)[2]) {
  zero(y);
#pragma unroll
  for (int nb = 0; nb < NB; ++nb) {
    mma(y.r[nb], ar, gr[nb][0], gr[nb][1]);
    mma(y.r[nb], ai, SIGN > 0 ? gni[nb][0] : gi[nb][0], SIGN > 0 ? gni[nb][1] : gi[nb][1]);
    mma(y.i[nb], ai, gr[nb][0], gr[nb][1]);
    mma(y.i[nb], ar, SIGN > 0 ? gi[nb][0] : gni[nb][0], SIGN > 0 ? gi[nb][1] : gni[nb][1]);
  }
}
// times a table in A-fragment order: per register pair k = 2kp, 2kp + 1 one uint4 per lane
// (re, im of k, then of k + 1), so a tile costs two 16-byte loads
template <bool CONJ>
__device__ __forceinline__ void times_table(u32* ar, u32* ai, const uint4* __restrict__ t, int lane) {
#pragma unroll
  for (int kp = 0; kp < 2; ++kp) {
    uint4 w = __ldg(t + kp * 32 + lane);
    twiddle<CONJ>(ar[2 * kp], ai[2 * kp], w.x, w.y);
    twiddle<CONJ>(ar[2 * kp + 1], ai[2 * kp + 1], w.z, w.w);
  }
}
// a split row's stage-3 step (plan/pairs.py): G_e' = sum_e W[e - e'] E_e bin by bin for
// the SP parts (dr, di: A fragments of part e), table d mod (2 SP - 1) at t + 64 (d mod
// (2 SP - 1)) (per register pair one uint4 per lane); per term the fp16 pair products
// re += a.re w.re, re -= a.im w.im; im += a.re w.im, im += a.im w.re, in order
template <int SP, bool LEAN = false>
__device__ __forceinline__ void mix_table(u32 (*dr)[4], u32 (*di)[4],
                                          const uint4* __restrict__ t, int lane) {
  constexpr int NT = 2 * SP - 1;
#pragma unroll
  for (int kp = 0; kp < 2; ++kp) {
    uint4 tab[LEAN ? 1 : NT];
    if constexpr (!LEAN) {
#pragma unroll
      for (int d = 0; d < NT; ++d) tab[d] = __ldg(t + 64 * d + kp * 32 + lane);
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int k = 2 * kp + h;
      // LEAN: the tables of register k only (8-byte loads: half the registers, twice the loads)
      uint2 tabh[LEAN ? NT : 1];
      if constexpr (LEAN) {
#pragma unroll
        for (int d = 0; d < NT; ++d)
          tabh[d] = __ldg(reinterpret_cast<const uint2*>(t + 64 * d + kp * 32 + lane) + h);
      }
      u32 gr[SP], gi[SP];
#pragma unroll
      for (int e2 = 0; e2 < SP; ++e2) {
#pragma unroll
        for (int e = 0; e < SP; ++e) {
          u32 wr, wi;
          if constexpr (LEAN) {
            wr = tabh[(e - e2 + NT) % NT].x;
            wi = tabh[(e - e2 + NT) % NT].y;
          } else {
            const uint4 w = tab[(e - e2 + NT) % NT];
            wr = h ? w.z : w.x;
            wi = h ? w.w : w.y;
          }
          const u32 ar = dr[e][k], ai = di[e][k];
          gr[e2] = e ? hfma2(ar, wr, gr[e2]) : hmul2(ar, wr);
          gr[e2] = hfma2(hneg2(ai), wi, gr[e2]);
          gi[e2] = e ? hfma2(ar, wi, gi[e2]) : hmul2(ar, wi);
          gi[e2] = hfma2(ai, wr, gi[e2]);
        }
      }
#pragma unroll
      for (int e2 = 0; e2 < SP; ++e2) {
        dr[e2][k] = gr[e2];
        di[e2][k] = gi[e2];
      }
    }
  }
}

}  // namespace pairs
}  // namespace fc
