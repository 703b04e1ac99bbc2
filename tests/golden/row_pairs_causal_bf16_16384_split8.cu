// fftconv_cupy generated kernel: row_pairs real fp16 n=32768 [16x16x16x8] io=bfloat16 causal L=16384 split=8x4096 (two rows per complex row, mma.sync m16n8k16 f16)
// Row pairs on tensor cores (include/fftconv/pairs.cuh has the algorithm).
#include "fftconv/pairs.cuh"

using namespace fc::pairs;

// Row pairs p = h * pairs + i (rows 2i H + h and (2i + 1) H + h); the host launches one
// block per pair (the fastest, measured), a smaller grid loops.  256 threads; rows of
// L uint16 (bf16 bits), 16-byte aligned.  Each lane reads its own fragments' elements
// (8-byte loads of 4 c); the outputs leave through shared memory as whole sectors.
// Causal rows: zero-padded to n = 32768 on chip (the loads past L are skipped), the first
// L outputs stored.
// n = 32768, decimated in time: points e, e + 8, e + 16, ... (part e < 8) are 8
// 4096-point transforms, mixed bin by bin in stage 3 (G_e' = sum_e W[e - e'] E_e, 15
// tables: plan/pairs.py).  8 warps; warp w runs tiles c = 2w .. 2w + 1 of every part (unit t < 16:
// c = 2 * w + (t >> 3), part t % 8, so a lane's 16 consecutive points are its units' values),
// then stage-3 blocks j = 2w .. 2w + 1 of every part.  The exchange buffer holds every part.
// Rows of at most n / 2: the padding is rows a >= 8 of stage 1's B operand (m16n8k8
// products over a < 8; the rows' loads and conversions of a >= 8 are not generated), and
// the outputs kept are columns a < 8 of the last product (one n-block of two).
constexpr int L = 16384;   // row length (elements)
extern "C" __global__ void __launch_bounds__(256, 1)
fftconv_pairs(const unsigned short* __restrict__ x, unsigned short* __restrict__ y,
            const uint4* __restrict__ spec, const float* __restrict__ kscale,
            const uint4* __restrict__ tw3f, const uint4* __restrict__ tw3i,
            const uint4* __restrict__ lanec, int pairs, int H,
            const unsigned short* __restrict__ gpre, const unsigned short* __restrict__ gpost) {
  extern __shared__ __align__(128) unsigned char smem[];   // 131072 bytes (dynamic: past the static limit)
  __shared__ unsigned red[16];
  __builtin_assume(threadIdx.x < 256);   // so the compiler bounds w and folds offset checks
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, g = lane >> 2, q = lane & 3;
  // a lane's values belong to row sg of each part of the complex row, at in-row offsets
  // of qs (one row per part: qs = q, sg = 0)
  const int qs = q & 3, sg = q >> 2;
  const u32 base = (u32)__cvta_generic_to_shared(smem);
  const int total = pairs * H;
  // pair p = h * pairs + i: its first row, 2i H + h (the second is H rows on)
  auto first_row = [&](int p) { return (size_t)(2 * (p % pairs)) * H + p / pairs; };
  // element offset of this lane's stage-1 B fragment (ai, nb): 4 consecutive c
  auto in_off = [&](int ai, int nb) {
    return 2048 * (2 * qs + (ai & 1) + 8 * (ai >> 1)) + 128 * (8 * nb + g) + 16 * w;
  };
  // this lane's (a, b) of the stage-1 B fragments: 16 consecutive points per 32-byte load
  auto load_pair = [&](int p, u32x8 (*r1)[2], u32x8 (*r2)[2]) {
    // from this lane's first element: the loads' offsets from it are constants (one base
    // register and an immediate per load, not a 64-bit address each)
    const unsigned short* x1 = x + (first_row(p) + (size_t)sg * H) * L + in_off(0, 0);
    const unsigned short* x2 = x1 + (size_t)1 * H * L;
#pragma unroll
    for (int ai = 0; ai < 2; ++ai)
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) {
        const int off = in_off(ai, nb);
        if (off >= L) {
          r1[ai][nb] = r2[ai][nb] = u32x8{};
          continue;
        }
        const int d = 2048 * (ai & 1) + 16384 * (ai >> 1) + 1024 * nb;   // off - in_off(0, 0)
        r1[ai][nb] = ldg_x8(x1 + d);
        r2[ai][nb] = ldg_x8(x2 + d);
      }
  };
  u32x8 raw1[4][2], raw2[4][2];
  if (blockIdx.x < total) {
    load_pair(blockIdx.x, raw1, raw2);
  }

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

  // a block loops over pairs p = blockIdx.x + k gridDim.x.  Even for one iteration the
  // loop is kept: ptxas schedules the body 10 % faster in it (docs/tensor-cores.md)
#pragma unroll 1
  for (int p = blockIdx.x; p < total; p += gridDim.x) {
    const int h = p / pairs;
    const size_t row1 = first_row(p), row2 = row1 + 1 * H;
    // scales: each row's largest |part| into [256, 512), so neither row of a pair loses
    // accuracy to the other's size; a row holding a NaN or Inf is zeroed for its partner
    // and its outputs are NaN, as the FFT convolution of that row alone gives
    unsigned m1 = 0, m2 = 0;
#pragma unroll
    for (int ai = 0; ai < 2; ++ai)
#pragma unroll
      for (int nb = 0; nb < 2; ++nb)
#pragma unroll
        for (int k = 0; k < 8; ++k) {
          m1 = __vmaxu2(m1, word(raw1[ai][nb], k) & 0x7fff7fffu);
          m2 = __vmaxu2(m2, word(raw2[ai][nb], k) & 0x7fff7fffu);
        }
    m1 = max(m1 & 0xffffu, m1 >> 16) << 16;          // as fp32 bits
    m2 = max(m2 & 0xffffu, m2 >> 16) << 16;
    // per row: over the lanes of one sg (xor of g's and qs's bits), then the warps
#pragma unroll
    for (int s = 16; s > 0; s >>= 1) {
      m1 = max(m1, __shfl_xor_sync(0xffffffffu, m1, s));
      m2 = max(m2, __shfl_xor_sync(0xffffffffu, m2, s));
    }
    if (lane == 0) {
      red[8 * sg + w] = m1;
      red[8 * (1 + sg) + w] = m2;
    }
    __syncthreads();
    {
      const unsigned* r1 = red + 8 * sg;
      const unsigned* r2 = red + 8 * (1 + sg);
      m1 = r1[0];
      m2 = r2[0];
#pragma unroll
      for (int k = 1; k < 8; ++k) {
        m1 = max(m1, r1[k]);
        m2 = max(m2, r2[k]);
      }
    }
    const bool bad1 = m1 >= 0x7f800000u, bad2 = m2 >= 0x7f800000u;   // Inf or NaN
    // a bad row's values read as zeros: the unpacking of a bf16 from its pair takes
    // a mask (high half) or a byte permutation (low half), zeros for a bad row, at no cost
    const u32 hi1 = bad1 ? 0u : 0xffff0000u, hi2 = bad2 ? 0u : 0xffff0000u;
    const u32 lo1 = bad1 ? 0x4444u : 0x1044u, lo2 = bad2 ? 0x4444u : 0x1044u;
    // 2^sh puts the largest part into [256, 512): sh = 135 - (biased exponent)
    const int sh1 = (m1 == 0 || bad1) ? 0 : min(126, max(-126, 135 - max((int)(m1 >> 23), 1)));
    const int sh2 = (m2 == 0 || bad2) ? 0 : min(126, max(-126, 135 - max((int)(m2 >> 23), 1)));
    const float ks = kscale[h];
    const float sin1 = __int_as_float((127 + sh1) << 23), sin2 = __int_as_float((127 + sh2) << 23);
    const float sout1 = bad1 ? __int_as_float(0x7fc00000) : __int_as_float((127 - sh1) << 23) * ks;
    const float sout2 = bad2 ? __int_as_float(0x7fc00000) : __int_as_float((127 - sh2) << 23) * ks;

    // forward stages 1, 2 per c tile
#pragma unroll
    for (int t = 0; t < 16; ++t) {
      const int c = 2 * w + (t >> 3);
      u32 br[2][2], bi[2][2];
#pragma unroll
      for (int nb = 0; nb < 2; ++nb)
#pragma unroll
        for (int hh = 0; hh < 1; ++hh) {
          float v[2][2];
#pragma unroll
          for (int pp = 0; pp < 2; ++pp) {
            const u32 s1 = word(raw1[2 * hh + pp][nb], t >> 1), s2 = word(raw2[2 * hh + pp][nb], t >> 1);
            v[0][pp] = bf_half_or0(s1, t & 1, hi1, lo1) * sin1;
            v[1][pp] = bf_half_or0(s2, t & 1, hi2, lo2) * sin2;
          }
          br[nb][hh] = h2(v[0][0], v[0][1]);
          bi[nb][hh] = h2(v[1][0], v[1][1]);
        }
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) br[nb][1] = bi[nb][1] = 0u;   // not read by left_k8
      Acc yv;
      u32 ar[4], aim[4];
      left_k8<1>(yv, fr, fi, fni, br, bi);
      to_a(yv, ar, aim);
#pragma unroll
      for (int k = 0; k < 4; ++k) twiddle<false>(ar[k], aim[k], t2r[k], t2i[k]);
      right<1>(yv, ar, aim, gr, gi, gni);
      to_a(yv, ar, aim);         // reg order (nb0 row g), (nb0 row g+8), (nb1 g), (nb1 g+8)
      times_table<false>(ar, aim, tw3f + c * 64, lane);
      const int i = lane >> 3, rr = lane & 7;
      const int j = 8 * (i & 1) + 16 * (8 * (i >> 1) + rr);   // ka0 + 16 kb
      stsm_t(saddr(base, 2 * (t % 8), c, j), ar);         // part t % 8: planes 2 part, 2 part + 1
      stsm_t(saddr(base, 2 * (t % 8) + 1, c, j), aim);
    }
    __syncthreads();

    // stage 3 per j block: [j][c] . F, spectrum, . conj F, conj twiddle, in place
    // every part of block j (part e: planes 2e, 2e + 1), mixed between the products
    const uint4* sp = spec + (size_t)h * 16 * 960;
#pragma unroll 1
    for (int t = 0; t < 2; ++t) {
      const int jb = 2 * w + t;
      const int i = lane >> 3, rr = lane & 7;
      const u32 a0 = saddr(base, 0, 8 * (i >> 1) + rr, 16 * jb + 8 * (i & 1));
      u32 dr[8][4], di[8][4];
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        ldsm_t(a0 + 16384 * e, dr[e]);
        ldsm_t(a0 + 16384 * e + 8192, di[e]);
      }
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        Acc yv;
        right<1>(yv, dr[e], di[e], gr, gi, gni);
        to_a(yv, dr[e], di[e]);
      }
      mix_table<8>(dr, di, sp + jb * 960, lane);
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        Acc yv;
        right<-1>(yv, dr[e], di[e], gr, gi, gni);
        to_a(yv, dr[e], di[e]);
        times_table<false>(dr[e], di[e], tw3i + jb * 64, lane);
        stsm_t(a0 + 16384 * e, dr[e]);
        stsm_t(a0 + 16384 * e + 8192, di[e]);
      }
    }
    __syncthreads();

    // inverse stages 2, 1 per c tile; outputs of 4 c tiles packed to 8-byte stores
    u32 o1[2][4][8], o2[2][4][8];
    float keep1[2][4], keep2[2][4];
#pragma unroll
    for (int t = 0; t < 16; ++t) {
      const int c = 2 * w + (t >> 3);
      const int i = lane >> 3, rr = lane & 7;
      const int j = 8 * (i >> 1) + 16 * (8 * (i & 1) + rr);   // ka0 + 16 kb
      u32 d[4], dd[4];
      ldsm_t(saddr(base, 2 * (t % 8), c, j), d);
      ldsm_t(saddr(base, 2 * (t % 8) + 1, c, j), dd);
      const u32 br[2][2] = { {d[0], d[1]}, {d[2], d[3]} };
      const u32 bi[2][2] = { {dd[0], dd[1]}, {dd[2], dd[3]} };
      Acc y2;
      u32 ar[4], aim[4];
      left<-1>(y2, fr, fi, fni, br, bi);
      to_a(y2, ar, aim);
#pragma unroll
      for (int k = 0; k < 4; ++k) twiddle<true>(ar[k], aim[k], t2r[k], t2i[k]);
      Cplx yv;                   // the output product accumulates in fp32
      right<-1, Cplx, 1>(yv, ar, aim, gr, gi, gni);
#pragma unroll
      for (int nb = 0; nb < 1; ++nb)
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          float v1 = yv.r[nb][r] * sout1, v2 = yv.i[nb][r] * sout2;
          if (t & 1) {
            o1[nb][r][t >> 1] = bf2(keep1[nb][r], v1);
            o2[nb][r][t >> 1] = bf2(keep2[nb][r], v2);
          } else {
            keep1[nb][r] = v1;
            keep2[nb][r] = v2;
          }
        }
    }
    unsigned short* y1 = y + row1 * L;
    unsigned short* y2 = y + row2 * L;
    // outputs through the exchange buffer (free once every warp has read its tiles):
    // natural order, 8-byte units of 4 c permuted within their 32-byte sector by
    // (a >> 1) & 3 so that a half-warp's stores hit distinct banks; then 16-byte
    // coalesced stores of whole sectors
    __syncthreads();
    unsigned char* st = smem;
#pragma unroll
    for (int nb = 0; nb < 1; ++nb)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        int b = g + 8 * (r >> 1), a = 8 * nb + 2 * q + (r & 1);
        // two 16-byte units: points 8 (256 a + 16 b + w) + 0..15, units 2 (256 a + 16 b + 2 w)
        // + h; the xor (as above) of the unit's slot in its 128-byte line
        const int u0 = 256 * a + 16 * b + 2 * w, x = ((a >> 1) & 3) ^ ((b & 1) << 2);
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
          const int u = (u0 + hf) ^ x;
          *reinterpret_cast<uint4*>(st + 16 * u) = make_uint4(o1[nb][r][4 * hf], o1[nb][r][4 * hf + 1],
                                                              o1[nb][r][4 * hf + 2], o1[nb][r][4 * hf + 3]);
          *reinterpret_cast<uint4*>(st + 65536 + 16 * u) = make_uint4(o2[nb][r][4 * hf], o2[nb][r][4 * hf + 1],
                                                                            o2[nb][r][4 * hf + 2], o2[nb][r][4 * hf + 3]);
        }
      }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < 16; ++k) {
      // chunk v is unit v: a = v >> 8, b = (v >> 4) & 15 (sw as above)
      const int v = threadIdx.x + 256 * k, sw = (((v >> 8) >> 1) & 3) << 1 ^ (((v >> 4) & 1) << 3);
      if (8 * v >= L) break;     // past the causal rows' end (v grows with k)
      uint4 u1 = *reinterpret_cast<const uint4*>(st + 16 * (v ^ (sw >> 1)));
      uint4 u2 = *reinterpret_cast<const uint4*>(st + 65536 + 16 * (v ^ (sw >> 1)));
      if (sw & 1) {
        u1 = make_uint4(u1.z, u1.w, u1.x, u1.y);
        u2 = make_uint4(u2.z, u2.w, u2.x, u2.y);
      }
      reinterpret_cast<uint4*>(y1)[v] = u1;
      reinterpret_cast<uint4*>(y2)[v] = u2;
    }
    __syncthreads();             // the next pair's stage 2 writes the buffer
    if (p + (int)gridDim.x < total) load_pair(p + gridDim.x, raw1, raw2);
  }
}
