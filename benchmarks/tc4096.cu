// Prototype: circular 4096-point convolution of bfloat16 rows on tensor cores.  The
// library's kernel (templates/pairs.cu.j2) grew from this file's default build (adding
// per-row scales, NaN isolation, causal rows and gates); this one keeps the build switches
// the measurements used.
//
// The algorithm and the fragment layouts: include/fftconv/pairs.cuh.  The outputs leave
// through the exchange buffer as whole 32-byte sectors.
// Build switches (NVRTC -D): MINB (blocks per SM, 4), S3_UNROLL (2), ACC32 (fp32
// accumulators), PREFETCH (the next pair's loads in flight), DIRECT_OUT (8-byte stores from
// the fragments); timing experiments only, results wrong: X_NOLOAD, X_NOSTORE.

// The device helpers (fragments, mma products, twiddles, exchange addressing) are the
// library's: include/fftconv/pairs.cuh.
#include "fftconv/pairs.cuh"
using namespace fc::pairs;

#ifdef ACC32      // fp32 accumulators in every product
typedef Cplx PAcc;
#else             // fp16 accumulators except the last inverse product (the output)
typedef CplxH PAcc;
#endif
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
      PAcc yv;
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
      PAcc yv;
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
      PAcc y2;
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
