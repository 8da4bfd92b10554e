// Changes of the spatial size on the kernels of kernels.cu: PadTo (each plane centred in a
// larger one, zeros around) and Resize (bilinear), forward and backward. NCHW only
// (has_channels_last_kernel).
#include "context.hpp"

namespace archetype::cudnn::detail {

template <class T>
void Impl::build_pad_to(int o) {
  const Operands<T> io = operands<T>(o);
  const kernels::PadTo g{batch * io.is.c, io.is.h, io.is.w, io.os.h, io.os.w};
  cudaStream_t st = stream;
  forward_steps.push_back([st, g, io] { kernels::pad_to_forward(st, g, io.X, io.Y); });
  if (io.dX != nullptr) {
    set_backward(o, io.dY, [st, g, io] { kernels::pad_to_backward(st, g, io.dY, io.dX, io.acc); });
  }
}

template <class T>
void Impl::build_resize(int o) {
  const Operands<T> io = operands<T>(o);
  const kernels::Resize g{batch * io.is.c, io.is.h, io.is.w, io.os.h, io.os.w};
  cudaStream_t st = stream;
  forward_steps.push_back([st, g, io] { kernels::resize_forward(st, g, io.X, io.Y); });
  if (io.dX != nullptr) {
    set_backward(o, io.dY, [st, g, io] { kernels::resize_backward(st, g, io.dY, io.dX, io.acc); });
  }
}

template void Impl::build_pad_to<float>(int o);
template void Impl::build_pad_to<Bf16>(int o);
template void Impl::build_resize<float>(int o);
template void Impl::build_resize<Bf16>(int o);

}  // namespace archetype::cudnn::detail
