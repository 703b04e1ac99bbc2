// Prototype: circular 4096-point convolution of bfloat16 rows on tensor cores.  The
// library's kernel (templates/pairs.cu.j2, include/fftconv/pairs.cuh) is this file's
// default build; this one keeps the build switches the measurements used.
//
// Two real rows of one channel form one complex row z = x1 + i x2 (a real kernel keeps
// them apart: y1 + i y2 = ifft(fft(z) K)).  The 4096-point DFT is three radix-16
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
// pairs (HMUL2 / HFMA2) applied to the packed A fragments.  The outputs leave through the
// exchange buffer as whole 32-byte sectors.
// Build switches (NVRTC -D): MINB (blocks per SM, 4), S3_UNROLL (2), ACC32 (fp32
// accumulators), PREFETCH (the next pair's loads in flight), DIRECT_OUT (8-byte stores from
// the fragments); timing experiments only, results wrong: X_NOLOAD, X_NOSTORE.
// Fragments (mma.m16n8k16, g = lane / 4, q = lane % 4):
//   A reg k: rows g + 8(k&1), cols 2q + 8(k>>1) + {0,1};  B: b0 rows 2q+{0,1}, b1 rows
//   2q+8+{0,1}, col g;  C (n-block nb) reg r: row g + 8(r>>1), col 8nb + 2q + (r&1).

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
__device__ __forceinline__ void mma(u32* d, const u32* a, u32 b0, u32 b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f16.f16.f16.f16 {%0,%1}, {%2,%3,%4,%5}, {%6,%7}, {%0,%1};"
      : "+r"(d[0]), "+r"(d[1])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
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
#ifdef ACC32      // fp32 accumulators in every product
typedef Cplx Acc;
#else             // fp16 accumulators except the last inverse product (the output)
typedef CplxH Acc;
#endif
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
// y = A . F (right product; sign -1: conj F)
template <int SIGN, class T>
__device__ __forceinline__ void right(T& y, const u32* ar, const u32* ai,
                                      const u32 (*gr)[2], const u32 (*gi)[2], const u32 (*gni)[2]) {
  zero(y);
#pragma unroll
  for (int nb = 0; nb < 2; ++nb) {
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
__device__ __forceinline__ void st_v2(void* p, u32 a, u32 b) {
  asm volatile("st.global.v2.u32 [%0], {%1, %2};" :: "l"(p), "r"(a), "r"(b) : "memory");
}

#ifndef MINB
#define MINB 4
#endif

// Row pairs p = h * pairs + i (rows 2i H + h and (2i + 1) H + h); the host launches one
// block per pair (the fastest, measured), a smaller grid loops.  128 threads; rows of
// 4096 uint16 (bf16 bits), 16-byte aligned.  Each lane reads its own fragments' elements
// (8-byte loads of 4 c); the outputs are staged in shared memory.
extern "C" __global__ void __launch_bounds__(128, MINB)
tc_circ4096(const unsigned short* __restrict__ x, unsigned short* __restrict__ y,
            const uint4* __restrict__ spec, const float* __restrict__ kscale,
            const uint4* __restrict__ tw3f, const uint4* __restrict__ tw3i,
            const uint4* __restrict__ lanec, int pairs, int H) {
  __shared__ __align__(128) unsigned char smem[16384];
  __shared__ unsigned red[4];
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, g = lane >> 2, q = lane & 3;
  const u32 base = (u32)__cvta_generic_to_shared(smem);
  const int total = pairs * H;
  // this lane's (a, b) of the stage-1 B fragments: 4 consecutive c per 8-byte load
  auto load_pair = [&](int p, uint2 (*r1)[2], uint2 (*r2)[2]) {
    const int h = p / pairs, i = p % pairs;
    const unsigned short* x1 = x + ((size_t)(2 * i) * H + h) * 4096;
    const unsigned short* x2 = x1 + (size_t)H * 4096;
#pragma unroll
    for (int ai = 0; ai < 4; ++ai)
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) {
        int a = 2 * q + (ai & 1) + 8 * (ai >> 1), b = 8 * nb + g;
        int off = 256 * a + 16 * b + 4 * w;
#ifdef X_NOLOAD   // timing experiment only: synthetic inputs
        r1[ai][nb] = make_uint2(0x3f803f00u ^ (off << 4), 0x3e803f80u ^ (off << 3));
        r2[ai][nb] = make_uint2(0x3f003e80u ^ (off << 2), 0x3f803e00u ^ off);
#else
        r1[ai][nb] = __ldg(reinterpret_cast<const uint2*>(x1 + off));
        r2[ai][nb] = __ldg(reinterpret_cast<const uint2*>(x2 + off));
#endif
      }
  };
  uint2 raw1[4][2], raw2[4][2];
  if (blockIdx.x < total) load_pair(blockIdx.x, raw1, raw2);

  // per-lane constants (fp16 pairs): F / 4 as A (fr, fi) and as B (gr, gi: [nb][b0 b1]),
  // stage-2 twiddles w^(16 row col) in A order (t2r, t2i)
  u32 fr[4], fi[4], fni[4], gr[2][2], gi[2][2], gni[2][2], t2r[4], t2i[4];
  {
    uint4 c0 = __ldg(lanec + 0 * 32 + lane), c1 = __ldg(lanec + 1 * 32 + lane);
    uint4 c2 = __ldg(lanec + 2 * 32 + lane), c3 = __ldg(lanec + 3 * 32 + lane);
    uint4 c4 = __ldg(lanec + 4 * 32 + lane), c5 = __ldg(lanec + 5 * 32 + lane);
    fr[0] = c0.x; fr[1] = c0.y; fr[2] = c0.z; fr[3] = c0.w;
    fi[0] = c1.x; fi[1] = c1.y; fi[2] = c1.z; fi[3] = c1.w;
    gr[0][0] = c2.x; gr[0][1] = c2.y; gr[1][0] = c2.z; gr[1][1] = c2.w;
    gi[0][0] = c3.x; gi[0][1] = c3.y; gi[1][0] = c3.z; gi[1][1] = c3.w;
    t2r[0] = c4.x; t2r[1] = c4.y; t2r[2] = c4.z; t2r[3] = c4.w;
    t2i[0] = c5.x; t2i[1] = c5.y; t2i[2] = c5.z; t2i[3] = c5.w;
#pragma unroll
    for (int k = 0; k < 4; ++k) fni[k] = fi[k] ^ 0x80008000u;
#pragma unroll
    for (int k = 0; k < 4; ++k) gni[k >> 1][k & 1] = gi[k >> 1][k & 1] ^ 0x80008000u;
  }

  // a block loops over pairs p = blockIdx.x + k gridDim.x; with PREFETCH (measured
  // slower) the next pair's loads are issued before the current pair's stages run.
  // Even for one iteration the loop is kept: ptxas schedules the body 10 % faster in it
#pragma unroll 1
  for (int p = blockIdx.x; p < total; p += gridDim.x) {
    const int h = p / pairs, pi = p % pairs;
    const size_t row1 = (size_t)(2 * pi) * H + h, row2 = row1 + H;
#ifdef PREFETCH
    uint2 nx1[4][2], nx2[4][2];
    if (p + (int)gridDim.x < total) load_pair(p + gridDim.x, nx1, nx2);
#endif
    // scale: the largest |part| into [256, 512)
    unsigned m = 0;
#pragma unroll
    for (int ai = 0; ai < 4; ++ai)
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) {
        m = __vmaxu2(m, raw1[ai][nb].x & 0x7fff7fffu);
        m = __vmaxu2(m, raw1[ai][nb].y & 0x7fff7fffu);
        m = __vmaxu2(m, raw2[ai][nb].x & 0x7fff7fffu);
        m = __vmaxu2(m, raw2[ai][nb].y & 0x7fff7fffu);
      }
#pragma unroll
    for (int s = 16; s > 0; s >>= 1) m = __vmaxu2(m, __shfl_xor_sync(0xffffffffu, m, s));
    if (lane == 0) red[w] = m;
    __syncthreads();
    m = __vmaxu2(__vmaxu2(red[0], red[1]), __vmaxu2(red[2], red[3]));
    m = max(m & 0xffffu, m >> 16);
    int e = (int)(m >> 7);                         // biased exponent of the largest part
    int sh = m == 0 ? 0 : min(126, max(-126, 135 - max(e, 1)));
    const float sin_ = __int_as_float((127 + sh) << 23), sout = __int_as_float((127 - sh) << 23) * kscale[h];

    // forward stages 1, 2 per c tile
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      const int c = 4 * w + t;
      u32 br[2][2], bi[2][2];
#pragma unroll
      for (int nb = 0; nb < 2; ++nb)
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
          float v[2][2];
#pragma unroll
          for (int pp = 0; pp < 2; ++pp) {
            uint2 u1 = raw1[2 * hh + pp][nb], u2 = raw2[2 * hh + pp][nb];
            u32 s1 = (t < 2) ? u1.x : u1.y, s2 = (t < 2) ? u2.x : u2.y;
            v[0][pp] = __uint_as_float((t & 1) ? (s1 & 0xffff0000u) : (s1 << 16)) * sin_;
            v[1][pp] = __uint_as_float((t & 1) ? (s2 & 0xffff0000u) : (s2 << 16)) * sin_;
          }
          br[nb][hh] = h2(v[0][0], v[0][1]);
          bi[nb][hh] = h2(v[1][0], v[1][1]);
        }
      Acc yv;
      u32 ar[4], aim[4];
      left<1>(yv, fr, fi, fni, br, bi);
      to_a(yv, ar, aim);
#pragma unroll
      for (int k = 0; k < 4; ++k) twiddle<false>(ar[k], aim[k], t2r[k], t2i[k]);
      right<1>(yv, ar, aim, gr, gi, gni);
      to_a(yv, ar, aim);         // reg order (nb0 row g), (nb0 row g+8), (nb1 g), (nb1 g+8)
      times_table<false>(ar, aim, tw3f + c * 64, lane);
      const int i = lane >> 3, rr = lane & 7;
      const int j = 8 * (i & 1) + 16 * (8 * (i >> 1) + rr);   // ka0 + 16 kb
      stsm_t(saddr(base, 0, c, j), ar);
      stsm_t(saddr(base, 1, c, j), aim);
    }
    __syncthreads();

    // stage 3 per j block: [j][c] . F, spectrum, . conj F, conj twiddle, in place
    const uint4* sp = spec + (size_t)h * 16 * 64;
#ifndef S3_UNROLL   // two j blocks interleaved: measured 0.455-0.469 ms against 0.488-0.490 for 1
#define S3_UNROLL 2
#endif
#pragma unroll S3_UNROLL
    for (int t = 0; t < 4; ++t) {
      const int jb = 4 * w + t;
      const int i = lane >> 3, rr = lane & 7;
      const u32 a0 = saddr(base, 0, 8 * (i >> 1) + rr, 16 * jb + 8 * (i & 1));
      const u32 a1 = a0 + 8192;
      u32 ar[4], aim[4];
      ldsm_t(a0, ar);
      ldsm_t(a1, aim);
      Acc yv;
      right<1>(yv, ar, aim, gr, gi, gni);
      to_a(yv, ar, aim);
      times_table<false>(ar, aim, sp + jb * 64, lane);
      right<-1>(yv, ar, aim, gr, gi, gni);
      to_a(yv, ar, aim);
      times_table<false>(ar, aim, tw3i + jb * 64, lane);
      stsm_t(a0, ar);
      stsm_t(a1, aim);
    }
    __syncthreads();

    // inverse stages 2, 1 per c tile; outputs of 4 c tiles packed to 8-byte stores
    u32 o1[2][4][2], o2[2][4][2];
    float keep1[2][4], keep2[2][4];
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      const int c = 4 * w + t;
      const int i = lane >> 3, rr = lane & 7;
      const int j = 8 * (i >> 1) + 16 * (8 * (i & 1) + rr);   // ka0 + 16 kb
      u32 d[4], dd[4];
      ldsm_t(saddr(base, 0, c, j), d);
      ldsm_t(saddr(base, 1, c, j), dd);
      const u32 br[2][2] = {{d[0], d[1]}, {d[2], d[3]}};
      const u32 bi[2][2] = {{dd[0], dd[1]}, {dd[2], dd[3]}};
      Acc y2;
      u32 ar[4], aim[4];
      left<-1>(y2, fr, fi, fni, br, bi);
      to_a(y2, ar, aim);
#pragma unroll
      for (int k = 0; k < 4; ++k) twiddle<true>(ar[k], aim[k], t2r[k], t2i[k]);
      Cplx yv;                   // the output product accumulates in fp32
      right<-1>(yv, ar, aim, gr, gi, gni);
#pragma unroll
      for (int nb = 0; nb < 2; ++nb)
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          float v1 = yv.r[nb][r] * sout, v2 = yv.i[nb][r] * sout;
          if (t & 1) {
            o1[nb][r][t >> 1] = bf2(keep1[nb][r], v1);
            o2[nb][r][t >> 1] = bf2(keep2[nb][r], v2);
          } else {
            keep1[nb][r] = v1;
            keep2[nb][r] = v2;
          }
        }
    }
    unsigned short* y1 = y + row1 * 4096;
    unsigned short* y2 = y + row2 * 4096;
#ifndef DIRECT_OUT   // (DIRECT_OUT: each lane's 8-byte stores, 0.452-0.467 ms against 0.360-0.363)
    // outputs through the exchange buffer (free once every warp has read its tiles):
    // natural order, 8-byte units of 4 c permuted within their 32-byte sector by
    // (a >> 1) & 3 so that a half-warp's stores hit distinct banks; then 16-byte
    // coalesced stores of whole sectors
    __syncthreads();
    unsigned char* st = smem;
#pragma unroll
    for (int nb = 0; nb < 2; ++nb)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        int b = g + 8 * (r >> 1), a = 8 * nb + 2 * q + (r & 1);
        int u = (64 * a + 4 * b + w) ^ ((a >> 1) & 3);
        *reinterpret_cast<uint2*>(st + 8 * u) = make_uint2(o1[nb][r][0], o1[nb][r][1]);
        *reinterpret_cast<uint2*>(st + 8192 + 8 * u) = make_uint2(o2[nb][r][0], o2[nb][r][1]);
      }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int v = threadIdx.x + 128 * k, sw = ((v >> 5) >> 1) & 3;
      uint4 u1 = *reinterpret_cast<const uint4*>(st + 16 * (v ^ (sw >> 1)));
      uint4 u2 = *reinterpret_cast<const uint4*>(st + 8192 + 16 * (v ^ (sw >> 1)));
      if (sw & 1) {
        u1 = make_uint4(u1.z, u1.w, u1.x, u1.y);
        u2 = make_uint4(u2.z, u2.w, u2.x, u2.y);
      }
#ifdef X_NOSTORE   // timing experiment only: one word per lane instead of the outputs
      if (k == 0) reinterpret_cast<u32*>(y1)[threadIdx.x] = u1.x ^ u1.w ^ u2.y ^ u2.z;
#else
      reinterpret_cast<uint4*>(y1)[v] = u1;
      reinterpret_cast<uint4*>(y2)[v] = u2;
#endif
    }
    __syncthreads();             // the next pair's stage 2 writes the buffer
#else
#pragma unroll
    for (int nb = 0; nb < 2; ++nb)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        int b = g + 8 * (r >> 1), a = 8 * nb + 2 * q + (r & 1);
        int off = 256 * a + 16 * b + 4 * w;
#ifdef X_NOSTORE   // timing experiment only: store one word per lane, not the outputs
        if (nb == 0 && r == 0) {
          u32 acc = 0;
#pragma unroll
          for (int n2 = 0; n2 < 2; ++n2)
#pragma unroll
            for (int r2 = 0; r2 < 4; ++r2) acc ^= o1[n2][r2][0] ^ o1[n2][r2][1] ^ o2[n2][r2][0] ^ o2[n2][r2][1];
          reinterpret_cast<u32*>(y1)[threadIdx.x] = acc;
        }
#else
        st_v2(y1 + off, o1[nb][r][0], o1[nb][r][1]);
        st_v2(y2 + off, o2[nb][r][0], o2[nb][r][1]);
#endif
      }
#endif
#ifdef PREFETCH
#pragma unroll
    for (int ai = 0; ai < 4; ++ai)
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) {
        raw1[ai][nb] = nx1[ai][nb];
        raw2[ai][nb] = nx2[ai][nb];
      }
#else
    if (p + (int)gridDim.x < total) load_pair(p + gridDim.x, raw1, raw2);
#endif
  }
}
