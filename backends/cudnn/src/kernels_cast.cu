// Precision and layout conversions at the edges (kernels.hpp; context.cpp): fp32 <-> bf16,
// and NCHW <-> channels-last with the conversion in the same pass.
#include "kernels_launch.cuh"

namespace archetype::cudnn::kernels {

namespace {

template <class From, class To>
__global__ void cast_kernel(const From* src, To* dst, std::int64_t count) {
  ARCHETYPE_GRID_STRIDE(i, count) { put(dst, i, ld(src, i)); }
}

/// dst (n x c x S) = src in the other layout, converted: to_nhwc: src NCHW, dst NHWC.
template <class From, class To>
__global__ void transpose_cast_kernel(const From* src, To* dst, std::int64_t n, int c,
                                      std::int64_t S, bool to_nhwc) {
  ARCHETYPE_GRID_STRIDE(i, n * c * S) {
    std::int64_t plane = 0, k = 0;
    split(to_nhwc, c, S, i, plane, k);  // i in dst's layout
    put(dst, i, ld(src, at(!to_nhwc, c, plane, S, k)));
  }
}

}  // namespace

template <class From, class To>
void cast(cudaStream_t stream, const From* src, To* dst, std::int64_t n) {
  cast_kernel<<<blocks_for(n), threads, 0, stream>>>(src, dst, n);
  check_launch("precision cast");
}

template <class From, class To>
void transpose_cast(cudaStream_t stream, const From* src, To* dst, std::int64_t n, int c,
                    std::int64_t plane, bool to_nhwc) {
  transpose_cast_kernel<<<blocks_for(n * c * plane), threads, 0, stream>>>(src, dst, n, c, plane,
                                                                           to_nhwc);
  check_launch("layout and precision cast");
}

template void cast<float, Bf16>(cudaStream_t, const float*, Bf16*, std::int64_t);
template void cast<Bf16, float>(cudaStream_t, const Bf16*, float*, std::int64_t);
template void transpose_cast<float, Bf16>(cudaStream_t, const float*, Bf16*, std::int64_t, int,
                                          std::int64_t, bool);
template void transpose_cast<Bf16, float>(cudaStream_t, const Bf16*, float*, std::int64_t, int,
                                          std::int64_t, bool);

}  // namespace archetype::cudnn::kernels
