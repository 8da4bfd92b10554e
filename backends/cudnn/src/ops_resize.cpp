// Changes of the spatial size on kernels_resize.cu: PadTo (each plane centred in a
// larger one, zeros around) and Resize (bilinear), forward and backward. NCHW only
// (has_channels_last_kernel).
#include "context.hpp"

namespace archetype::cudnn::detail {

template <class T>
void Impl::build_pad_to(int o) {
  const Operands<T> io = operands<T>(o);
  const kernels::PadTo g{batch * io.is.c, io.is.h, io.is.w, io.os.h, io.os.w};
  build_kernels(o, io, g, kernels::pad_to_forward<T>, kernels::pad_to_backward<T>);
}

template <class T>
void Impl::build_resize(int o) {
  const Operands<T> io = operands<T>(o);
  const kernels::Resize g{batch * io.is.c, io.is.h, io.is.w, io.os.h, io.os.w};
  build_kernels(o, io, g, kernels::resize_forward<T>, kernels::resize_backward<T>);
}

template void Impl::build_pad_to<float>(int o);
template void Impl::build_pad_to<Bf16>(int o);
template void Impl::build_resize<float>(int o);
template void Impl::build_resize<Bf16>(int o);

}  // namespace archetype::cudnn::detail
