// Elementwise ops on kernels_eltwise.cu and kernels_dropout.cu: the activations (ReLU, ReLU6,
// SiLU, Sigmoid) and Dropout / StochasticDepth (masks drawn from the counter-based generator,
// so the backward redraws the forward's mask instead of storing it).
#include "context.hpp"

namespace archetype::cudnn::detail {

template <class T>
void Impl::build_activation(int o) {
  const LayerKind k = ops[std::size_t(o)].layer.op;
  const Operands<T> io = operands<T>(o);
  const kernels::Activation a = k == LayerKind::relu    ? kernels::Activation::relu
                                : k == LayerKind::relu6 ? kernels::Activation::relu6
                                : k == LayerKind::silu  ? kernels::Activation::silu
                                                        : kernels::Activation::sigmoid;
  cudaStream_t st = stream;
  forward_steps.push_back(
      [st, a, io] { kernels::activation_forward(st, a, io.X, io.Y, io.n_out); });
  const T* from = a == kernels::Activation::silu ? io.X : io.Y;  // plan.cpp keeps the one read
  if (io.dX != nullptr) {
    set_backward(o, io.dY, [st, a, from, io] {
      kernels::activation_backward(st, a, from, io.dY, io.dX, io.n_out, io.acc);
    });
  }
}

// Active ones only (plan.cpp makes the inactive ones views).
template <class T>
void Impl::build_dropout(int o) {
  const LayerRow& L = ops[std::size_t(o)].layer;
  const Operands<T> io = operands<T>(o);
  // StochasticDepth drops whole images: runs of one image's elements share a draw.
  const std::int64_t run = L.op == LayerKind::stochastic_depth ? io.is.elements() : 1;
  const double p = L.p;
  const std::uint64_t seed = codegen::dropout::op_seed(options.dropout_seed, o);
  const std::uint64_t* step = dropout_step();
  cudaStream_t st = stream;
  forward_steps.push_back([st, io, run, p, seed, step] {
    kernels::dropout_forward(st, io.X, io.Y, io.n_out, run, p, seed, step);
  });
  if (io.dX != nullptr) {
    set_backward(o, io.dY, [st, io, run, p, seed, step] {
      kernels::dropout_backward(st, io.dY, io.dX, io.n_out, run, p, seed, step, io.acc);
    });
  }
}

template void Impl::build_activation<float>(int o);
template void Impl::build_activation<Bf16>(int o);
template void Impl::build_dropout<float>(int o);
template void Impl::build_dropout<Bf16>(int o);

}  // namespace archetype::cudnn::detail
