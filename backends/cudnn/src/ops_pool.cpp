// Pooling on kernels_pool.cu: MaxPool, AvgPool, and GlobalAvgPool and
// AdaptiveAvgPool (adaptive bins), forward and backward.
#include "context.hpp"

namespace archetype::cudnn::detail {

template <class T>
void Impl::build_pool(int o) {
  const LayerRow& L = ops[std::size_t(o)].layer;
  const Operands<T> io = operands<T>(o);
  const Shape is = io.is, os = io.os;
  kernels::Pool g;
  g.planes = batch * is.c;
  g.in_h = is.h, g.in_w = is.w, g.out_h = os.h, g.out_w = os.w;
  g.kernel_h = L.kernel_h, g.kernel_w = L.kernel_w, g.stride_h = L.stride_h,
  g.stride_w = L.stride_w;
  g.pad_h = L.pad_h, g.pad_w = L.pad_w;
  g.adaptive = L.op == LayerKind::global_avg_pool || L.op == LayerKind::adaptive_avg_pool;
  g.channels = is.c;
  g.nhwc = nhwc;
  if (L.op == LayerKind::max_pool) {
    build_kernels(o, io, g, kernels::max_pool_forward<T>, kernels::max_pool_backward<T>);
  } else {
    build_kernels(o, io, g, kernels::avg_pool_forward<T>, kernels::avg_pool_backward<T>);
  }
}

template void Impl::build_pool<float>(int o);
template void Impl::build_pool<Bf16>(int o);

}  // namespace archetype::cudnn::detail
