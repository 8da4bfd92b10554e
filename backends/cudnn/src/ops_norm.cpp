// Normalisation: BatchNorm (cuDNN for fp32, kernels_norm.cu for bf16) and
// LocalResponseNorm (kernels_norm.cu; NCHW only), forward and backward.
#include "context.hpp"

#include <algorithm>

namespace archetype::cudnn::detail {

// BatchNorm with cuDNN (spatial mode). Training normalises with the batch statistics and
// updates the running ones as PyTorch does: exponentialAverageFactor = momentum, and cuDNN
// stores the unbiased variance in the running variance (as PyTorch, which calls the same
// function). The backward reads the mean and inverse standard deviation cuDNN saved.
void Impl::build_batch_norm(int o) {
  const codegen::Op& op = ops[std::size_t(o)];
  const int in = op.inputs[0], out = op.output;
  const Shape s = shape(in);
  auto x = tensor_desc(batch, s.c, s.h, s.w);
  auto bn = make_descriptor(cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor,
                            "cudnnCreateTensorDescriptor");
  check(cudnnDeriveBNTensorDescriptor(bn.get(), x.get(), CUDNN_BATCHNORM_SPATIAL),
        "cudnnDeriveBNTensorDescriptor");
  const double eps = std::max(options.batch_norm_epsilon, CUDNN_BN_MIN_EPSILON);
  const double momentum = options.batch_norm_momentum;
  float* X = value<float>(in);
  float* Y = value<float>(out);
  float* gamma = params.as<float>() + op.param_offset;
  float* beta = gamma + s.c;
  float* mean = buffers.as<float>() + op.buffer_offset;
  float* var = mean + s.c;
  if (!training()) {
    forward_steps.push_back([this, x, bn, X, Y, gamma, beta, mean, var, eps] {
      check(cudnnBatchNormalizationForwardInference(dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero,
                                                    x.get(), X, x.get(), Y, bn.get(), gamma, beta,
                                                    mean, var, eps),
            "cudnnBatchNormalizationForwardInference");
    });
    return;
  }
  float* saved =
      op_buffer(2 * std::int64_t{s.c}, "batch-norm saved statistics");  // mean, 1/sqrt(var + eps)
  forward_steps.push_back(
      [this, x, bn, X, Y, gamma, beta, mean, var, saved, eps, momentum, c = s.c] {
        check(cudnnBatchNormalizationForwardTraining(dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero,
                                                     x.get(), X, x.get(), Y, bn.get(), gamma, beta,
                                                     momentum, mean, var, eps, saved, saved + c),
              "cudnnBatchNormalizationForwardTraining");
      });
  float* dY = gradient<float>(out);
  if (dY == nullptr) return;
  float* dGamma = grads.as<float>() + op.param_offset;
  float* dBeta = dGamma + s.c;
  float* dX = input_gradient_of<float>(o, 0);
  const bool acc = dX != nullptr && accumulate(o, 0);
  // cuDNN always writes an input gradient: one nobody needs goes to a buffer of its own.
  if (dX == nullptr) dX = op_buffer(count(in), "batch-norm discarded input gradient");
  backward_of[std::size_t(o)] = [this, x, bn, X, gamma, dGamma, dBeta, dY, dX, acc, saved, eps,
                                 c = s.c] {
    check(cudnnBatchNormalizationBackward(dnn, CUDNN_BATCHNORM_SPATIAL, &one, acc ? &one : &zero,
                                          &one, &zero, x.get(), X, x.get(), dY, x.get(), dX,
                                          bn.get(), gamma, dGamma, dBeta, eps, saved, saved + c),
          "cudnnBatchNormalizationBackward");
  };
}

// BatchNorm on bf16 data: kernels_norm.cu (statistics in double, fp32 parameters
// and running statistics, PyTorch's definitions), as PyTorch, which does not call cuDNN's
// batch norm for bfloat16 either.
void Impl::build_batch_norm_bf16(int o) {
  const codegen::Op& op = ops[std::size_t(o)];
  const int in = op.inputs[0], out = op.output;
  const Shape s = shape(in);
  kernels::BatchNormShape g = kernels::batch_norm_shape(batch, s.c, std::int64_t{s.h} * s.w, nhwc);
  // With a ReLU absorbed (plan.fused_relu), this op writes the ReLU's output, and its backward
  // starts from the ReLU's output gradient, masked by that output.
  const int relu = plan.fused_relu[std::size_t(o)];
  const int written = relu >= 0 ? ops[std::size_t(relu)].output : out;
  g.relu = relu >= 0;
  const double eps = options.batch_norm_epsilon;
  const double momentum = options.batch_norm_momentum;
  const Bf16* X = value<Bf16>(in);
  Bf16* Y = value<Bf16>(written);
  const float* gamma = params.as<float>() + op.param_offset;
  const float* beta = gamma + s.c;
  float* mean = buffers.as<float>() + op.buffer_offset;
  float* var = mean + s.c;
  cudaStream_t st = stream;
  if (!training()) {
    forward_steps.push_back([st, g, X, Y, gamma, beta, mean, var, eps] {
      kernels::batch_norm_forward_inference(st, g, X, Y, gamma, beta, mean, var, eps);
    });
    return;
  }
  float* saved =
      op_buffer(2 * std::int64_t{s.c}, "batch-norm saved statistics");  // mean, 1/sqrt(var + eps)
  auto* partial =
      reinterpret_cast<double*>(op_buffer(2 * g.partial_doubles(), "batch-norm partial sums"));
  forward_steps.push_back([st, g, X, Y, gamma, beta, mean, var, saved, partial, momentum, eps] {
    kernels::batch_norm_forward_training(st, g, X, Y, gamma, beta, mean, var, saved, partial,
                                         momentum, eps);
  });
  const Bf16* dY = gradient<Bf16>(written);
  if (dY == nullptr) return;
  float* dGamma = grads.as<float>() + op.param_offset;
  float* dBeta = dGamma + s.c;
  Bf16* dX = input_gradient_of<Bf16>(o, 0);
  const bool acc = dX != nullptr && accumulate(o, 0);
  float* coefficients = op_buffer(2 * std::int64_t{s.c}, "batch-norm gradient coefficients");
  backward_of[std::size_t(o)] = [st, g, X, Y, dY, dX, acc, gamma, saved, dGamma, dBeta, partial,
                                 coefficients] {
    kernels::batch_norm_backward(st, g, X, Y, dY, dX, acc, gamma, saved, dGamma, dBeta, partial,
                                 coefficients);
  };
}

template <class T>
void Impl::build_lrn(int o) {
  const LayerRow& L = ops[std::size_t(o)].layer;
  const Operands<T> io = operands<T>(o);
  const std::int64_t plane = std::int64_t{io.is.h} * io.is.w;
  const kernels::Lrn g{batch,          io.is.c,       plane,     L.lrn_size,
                       float(L.alpha), float(L.beta), float(L.k)};
  build_kernels(o, io, g, kernels::lrn_forward<T>, kernels::lrn_backward<T>);
}

template void Impl::build_lrn<float>(int o);
template void Impl::build_lrn<Bf16>(int o);

}  // namespace archetype::cudnn::detail
