// cos(2*pi*k/R) and sin(2*pi*k/R), correctly rounded, for the radices the
// butterflies use.  Called with indices that are constant after unrolling, so
// each call folds to a literal.
#pragma once

namespace fc {

template <int R> __device__ __forceinline__ double root_cos(int k);
template <int R> __device__ __forceinline__ double root_sin(int k);

template <> __device__ __forceinline__ double root_cos<3>(int k) {
  switch (k) {
    case 0: return 1.0;
    case 1: return -0.5;
    case 2: return -0.5;
    default: return 0.0;
  }
}
template <> __device__ __forceinline__ double root_sin<3>(int k) {
  switch (k) {
    case 0: return 0.0;
    case 1: return 0.8660254037844386;
    case 2: return -0.8660254037844386;
    default: return 0.0;
  }
}
template <> __device__ __forceinline__ double root_cos<5>(int k) {
  switch (k) {
    case 0: return 1.0;
    case 1: return 0.30901699437494745;
    case 2: return -0.8090169943749475;
    case 3: return -0.8090169943749475;
    case 4: return 0.30901699437494745;
    default: return 0.0;
  }
}
template <> __device__ __forceinline__ double root_sin<5>(int k) {
  switch (k) {
    case 0: return 0.0;
    case 1: return 0.9510565162951535;
    case 2: return 0.5877852522924731;
    case 3: return -0.5877852522924731;
    case 4: return -0.9510565162951535;
    default: return 0.0;
  }
}
template <> __device__ __forceinline__ double root_cos<7>(int k) {
  switch (k) {
    case 0: return 1.0;
    case 1: return 0.6234898018587335;
    case 2: return -0.2225209339563144;
    case 3: return -0.9009688679024191;
    case 4: return -0.9009688679024191;
    case 5: return -0.2225209339563144;
    case 6: return 0.6234898018587335;
    default: return 0.0;
  }
}
template <> __device__ __forceinline__ double root_sin<7>(int k) {
  switch (k) {
    case 0: return 0.0;
    case 1: return 0.7818314824680298;
    case 2: return 0.9749279121818236;
    case 3: return 0.4338837391175581;
    case 4: return -0.4338837391175581;
    case 5: return -0.9749279121818236;
    case 6: return -0.7818314824680298;
    default: return 0.0;
  }
}
template <> __device__ __forceinline__ double root_cos<16>(int k) {
  switch (k) {
    case 0: return 1.0;
    case 1: return 0.9238795325112867;
    case 2: return 0.7071067811865476;
    case 3: return 0.3826834323650898;
    case 4: return 2.0670321098263988e-43;
    case 5: return -0.3826834323650898;
    case 6: return -0.7071067811865476;
    case 7: return -0.9238795325112867;
    case 8: return -1.0;
    case 9: return -0.9238795325112867;
    case 10: return -0.7071067811865476;
    case 11: return -0.3826834323650898;
    case 12: return 2.2338764406549882e-41;
    case 13: return 0.3826834323650898;
    case 14: return 0.7071067811865476;
    case 15: return 0.9238795325112867;
    default: return 0.0;
  }
}
template <> __device__ __forceinline__ double root_sin<16>(int k) {
  switch (k) {
    case 0: return 0.0;
    case 1: return 0.3826834323650898;
    case 2: return 0.7071067811865476;
    case 3: return 0.9238795325112867;
    case 4: return 1.0;
    case 5: return 0.9238795325112867;
    case 6: return 0.7071067811865476;
    case 7: return 0.3826834323650898;
    case 8: return 4.1340642196527976e-43;
    case 9: return -0.3826834323650898;
    case 10: return -0.7071067811865476;
    case 11: return -0.9238795325112867;
    case 12: return -1.0;
    case 13: return -0.9238795325112867;
    case 14: return -0.7071067811865476;
    case 15: return -0.3826834323650898;
    default: return 0.0;
  }
}

template <> __device__ __forceinline__ double root_cos<32>(int k) {
  switch (k) {
    case 0: return 1.0;
    case 1: return 0.9807852804032304;
    case 2: return 0.9238795325112867;
    case 3: return 0.8314696123025452;
    case 4: return 0.7071067811865476;
    case 5: return 0.5555702330196022;
    case 6: return 0.3826834323650898;
    case 7: return 0.19509032201612828;
    case 8: return 0.0;
    case 9: return -0.19509032201612828;
    case 10: return -0.3826834323650898;
    case 11: return -0.5555702330196022;
    case 12: return -0.7071067811865476;
    case 13: return -0.8314696123025452;
    case 14: return -0.9238795325112867;
    case 15: return -0.9807852804032304;
    case 16: return -1.0;
    case 17: return -0.9807852804032304;
    case 18: return -0.9238795325112867;
    case 19: return -0.8314696123025452;
    case 20: return -0.7071067811865476;
    case 21: return -0.5555702330196022;
    case 22: return -0.3826834323650898;
    case 23: return -0.19509032201612828;
    case 24: return 0.0;
    case 25: return 0.19509032201612828;
    case 26: return 0.3826834323650898;
    case 27: return 0.5555702330196022;
    case 28: return 0.7071067811865476;
    case 29: return 0.8314696123025452;
    case 30: return 0.9238795325112867;
    case 31: return 0.9807852804032304;
    default: return 0.0;
  }
}
template <> __device__ __forceinline__ double root_sin<32>(int k) {
  switch (k) {
    case 0: return 0.0;
    case 1: return 0.19509032201612828;
    case 2: return 0.3826834323650898;
    case 3: return 0.5555702330196022;
    case 4: return 0.7071067811865476;
    case 5: return 0.8314696123025452;
    case 6: return 0.9238795325112867;
    case 7: return 0.9807852804032304;
    case 8: return 1.0;
    case 9: return 0.9807852804032304;
    case 10: return 0.9238795325112867;
    case 11: return 0.8314696123025452;
    case 12: return 0.7071067811865476;
    case 13: return 0.5555702330196022;
    case 14: return 0.3826834323650898;
    case 15: return 0.19509032201612828;
    case 16: return 0.0;
    case 17: return -0.19509032201612828;
    case 18: return -0.3826834323650898;
    case 19: return -0.5555702330196022;
    case 20: return -0.7071067811865476;
    case 21: return -0.8314696123025452;
    case 22: return -0.9238795325112867;
    case 23: return -0.9807852804032304;
    case 24: return -1.0;
    case 25: return -0.9807852804032304;
    case 26: return -0.9238795325112867;
    case 27: return -0.8314696123025452;
    case 28: return -0.7071067811865476;
    case 29: return -0.5555702330196022;
    case 30: return -0.3826834323650898;
    case 31: return -0.19509032201612828;
    default: return 0.0;
  }
}

}  // namespace fc
