// Ops that join branches, on kernels_merge.cu: Add (residual sums), Concat (along
// the channels), Scale (squeeze-and-excitation's gating: y = x * g, one g per image and
// channel) and ZeroPadShortcut (ResNet's option A: strided, zero channels on both sides),
// forward and backward.
#include "context.hpp"

#include <stdexcept>
#include <utility>
#include <vector>

namespace archetype::cudnn::detail {

template <class T>
void Impl::build_add(int o) {
  const codegen::Op& op = ops[std::size_t(o)];
  const Operands<T> io = operands<T>(o);
  kernels::Sources<T> sources;
  sources.count = op.input_count;
  for (int i = 0; i < op.input_count; ++i) sources.data[i] = value<T>(op.inputs[i]);
  cudaStream_t st = stream;
  T* Y = io.Y;
  T* dY = io.dY;
  const std::int64_t n_out = io.n_out;
  forward_steps.push_back([st, sources, Y, n_out] { kernels::sum_forward(st, sources, Y, n_out); });
  std::vector<std::pair<T*, bool>> targets;  // every input receives the whole gradient
  for (int i = 0; i < op.input_count; ++i) {
    if (T* d = training() ? input_gradient_of<T>(o, i) : nullptr) {
      targets.emplace_back(d, accumulate(o, i));
    }
  }
  if (!targets.empty()) {
    set_backward(o, dY, [st, dY, targets, n_out] {
      for (const auto& [d, a] : targets) kernels::copy_or_add(st, dY, d, n_out, a);
    });
  }
}

template <class T>
void Impl::build_concat(int o) {
  const codegen::Op& op = ops[std::size_t(o)];
  const Operands<T> io = operands<T>(o);
  struct Part {
    kernels::Slice slice;
    const T* x;
    T* dx;
    bool acc;
  };
  std::vector<Part> parts;
  int offset = 0;
  for (int i = 0; i < op.input_count; ++i) {
    const Shape s = shape(op.inputs[i]);
    const kernels::Slice slice{batch, s.c, io.os.c, offset, std::int64_t{s.h} * s.w, nhwc};
    parts.push_back({slice, value<T>(op.inputs[i]),
                     training() ? input_gradient_of<T>(o, i) : nullptr,
                     training() && accumulate(o, i)});
    offset += s.c;
  }
  if (offset != io.os.c) {
    throw std::logic_error("concat: the inputs' channels do not add up to the output's");
  }
  cudaStream_t st = stream;
  T* Y = io.Y;
  T* dY = io.dY;
  forward_steps.push_back([st, parts, Y] {
    for (const Part& p : parts) kernels::concat_forward(st, p.slice, p.x, Y);
  });
  set_backward(o, dY, [st, parts, dY] {
    for (const Part& p : parts) {
      if (p.dx != nullptr) kernels::concat_backward(st, p.slice, dY, p.dx, p.acc);
    }
  });
}

template <class T>
void Impl::build_scale(int o) {
  const Operands<T> io = operands<T>(o);
  const T* G = value<T>(ops[std::size_t(o)].inputs[1]);
  const std::int64_t planes = std::int64_t{batch} * io.is.c;
  const std::int64_t plane = std::int64_t{io.is.h} * io.is.w;
  const int channels = io.is.c;
  const bool cl = nhwc;
  cudaStream_t st = stream;
  forward_steps.push_back([st, io, G, planes, plane, channels, cl] {
    kernels::scale_forward(st, io.X, G, io.Y, planes, plane, channels, cl);
  });
  T* dG = training() ? input_gradient_of<T>(o, 1) : nullptr;
  const bool acc_g = training() && accumulate(o, 1);
  if (io.dX != nullptr || dG != nullptr) {
    set_backward(o, io.dY, [st, io, G, dG, acc_g, planes, plane, channels, cl] {
      kernels::scale_backward(st, io.X, G, io.dY, io.dX, io.acc, dG, acc_g, planes, plane, channels,
                              cl);
    });
  }
}

template <class T>
void Impl::build_zero_pad_shortcut(int o) {
  const Operands<T> io = operands<T>(o);
  const Shape is = io.is, os = io.os;
  const kernels::ZeroPad g{
      batch, is.c, is.h, is.w, os.c, os.h, os.w, ops[std::size_t(o)].layer.stride_h, nhwc};
  build_kernels(o, io, g, kernels::zero_pad_forward<T>, kernels::zero_pad_backward<T>);
}

template void Impl::build_add<float>(int o);
template void Impl::build_add<Bf16>(int o);
template void Impl::build_concat<float>(int o);
template void Impl::build_concat<Bf16>(int o);
template void Impl::build_scale<float>(int o);
template void Impl::build_scale<Bf16>(int o);
template void Impl::build_zero_pad_shortcut<float>(int o);
template void Impl::build_zero_pad_shortcut<Bf16>(int o);

}  // namespace archetype::cudnn::detail
