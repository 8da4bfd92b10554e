#pragma once
// Internal: where an element of an n x C x S tensor (S = h w) lives in NCHW and in
// channels-last (NHWC) memory, for the kernels of kernels_*.cu (device) and for the tests that
// check the arithmetic on the host (cpu.cudnn.Layout.*). A "plane" is n C + c: one channel of
// one image. NCHW holds a plane contiguously; NHWC holds a pixel's channels contiguously, so
// the elements of a plane lie C apart.
#include <cstdint>

#include <archetype/codegen/host_device.hpp>

namespace archetype::cudnn::layout {

/// The offset of element k of `plane`.
ARCHETYPE_HOST_DEVICE inline std::int64_t at(bool nhwc, int channels, std::int64_t plane, std::int64_t S,
                                             std::int64_t k) {
  return nhwc ? ((plane / channels) * S + k) * channels + plane % channels : plane * S + k;
}

/// The plane and the position in it of the element at offset i (the inverse of `at`).
ARCHETYPE_HOST_DEVICE inline void split(bool nhwc, int channels, std::int64_t S, std::int64_t i,
                                        std::int64_t& plane, std::int64_t& k) {
  if (nhwc) {
    const std::int64_t rest = i / channels;
    k = rest % S;
    plane = (rest / S) * channels + i % channels;
  } else {
    plane = i / S;
    k = i % S;
  }
}

/// The channel of the element at offset i.
ARCHETYPE_HOST_DEVICE inline int channel_of(bool nhwc, int channels, std::int64_t S, std::int64_t i) {
  return int(nhwc ? i % channels : (i / S) % channels);
}

/// The plane (n C + c) of the element at offset i: the index of its squeeze-and-excitation gate.
ARCHETYPE_HOST_DEVICE inline std::int64_t plane_of(bool nhwc, int channels, std::int64_t S, std::int64_t i) {
  return nhwc ? (i / (S * channels)) * channels + i % channels : i / S;
}

/// The offset of the j-th element (j in [0, n S): image j / S, position j % S) of channel ch.
ARCHETYPE_HOST_DEVICE inline std::int64_t channel_element(bool nhwc, int channels, std::int64_t S, int ch,
                                                          std::int64_t j) {
  return nhwc ? j * channels + ch : ((j / S) * channels + ch) * S + j % S;
}

}  // namespace archetype::cudnn::layout
