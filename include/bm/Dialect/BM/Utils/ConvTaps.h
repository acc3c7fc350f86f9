//===- ConvTaps.h - The taps of a convolution that reach its input -------===//
//
// A convolution with padding may have taps that read the padding for every
// output position (a 3x3 kernel with padding 1 on a 1x1 image: all but the
// centre). Their products are zeros, so the im2col lowerings of bm.conv2d
// (bm-conv-to-matmul) and of float32 convolutions (bm-vectorize-linalg)
// leave them out of K.
//
//===----------------------------------------------------------------------===//

#ifndef BM_DIALECT_BM_UTILS_CONVTAPS_H
#define BM_DIALECT_BM_UTILS_CONVTAPS_H

#include <algorithm>
#include <cstdint>

namespace mlir::bm {

/// The taps [first, last) of one spatial dimension that read the input
/// (rows 0 .. size-1) for some output position o < outSize: output o, tap k
/// reads row o * stride - pad + k * dilation. The set is contiguous (a
/// tap's rows shift with k). `last` is 0 (and `first` is `kernel`) when no
/// tap reads the input.
struct LiveTaps {
  int64_t first = 0, last = 0;
};

inline LiveTaps liveTaps(int64_t outSize, int64_t size, int64_t kernel,
                         int64_t stride, int64_t pad, int64_t dilation) {
  LiveTaps taps{kernel, 0};
  for (int64_t k = 0; k < kernel; ++k)
    for (int64_t o = 0; o < outSize; ++o) {
      int64_t row = o * stride - pad + k * dilation;
      if (row >= 0 && row < size) {
        taps.first = std::min(taps.first, k);
        taps.last = std::max(taps.last, k + 1);
        break;
      }
    }
  return taps;
}

} // namespace mlir::bm

#endif // BM_DIALECT_BM_UTILS_CONVTAPS_H
