// The optimizer step on the device (kernels.hpp; context.cpp): SGD (momentum, Nesterov,
// weight decay) and Adam/AdamW over the flat parameter block, with runtime::Optimizer's float
// arithmetic, skipped when the loss is not finite.
#include "kernels_launch.cuh"

namespace archetype::cudnn::kernels {

namespace {

// __fmul_rn / __fadd_rn / __fsub_rn: no contraction into fused multiply-adds, so each
// operation rounds as the host loop's (runtime/src/optimizer.cpp, compiled without FMA).

__global__ void sgd_kernel(OptimizerStep o, float* p, const float* g, float* v, std::int64_t n,
                           const float* lr_ptr, const std::int64_t* steps, const float* loss) {
  if (loss != nullptr && !isfinite(*loss)) return;
  const float lr = *lr_ptr;
  const float wd = o.weight_decay, mu = o.momentum;
  const bool first = *steps == 0;
  ARCHETYPE_GRID_STRIDE(i, n) {
    const float d = __fadd_rn(g[i], __fmul_rn(wd, p[i]));
    if (v == nullptr) {
      p[i] = __fsub_rn(p[i], __fmul_rn(lr, d));
      continue;
    }
    const float vi = first ? d : __fadd_rn(__fmul_rn(mu, v[i]), d);
    v[i] = vi;
    p[i] = __fsub_rn(p[i], __fmul_rn(lr, o.nesterov ? __fadd_rn(d, __fmul_rn(mu, vi)) : vi));
  }
}

__global__ void adam_kernel(OptimizerStep o, float* p, const float* g, float* m, float* v,
                            std::int64_t n, const float* lr_ptr, const std::int64_t* steps,
                            const float* loss) {
  if (loss != nullptr && !isfinite(*loss)) return;
  const float lr = *lr_ptr;
  const double t = double(*steps + 1);
  const float b1 = float(o.beta1), b2 = float(o.beta2), eps = o.epsilon, wd = o.weight_decay;
  const float bias1 = float(1.0 - pow(o.beta1, t));
  const float bias2_sqrt = float(sqrt(1.0 - pow(o.beta2, t)));
  const float step_size = __fdiv_rn(lr, bias1);
  ARCHETYPE_GRID_STRIDE(i, n) {
    float gi = g[i];
    float pi = p[i];
    if (o.decoupled) {
      pi = __fmul_rn(pi, __fsub_rn(1.0f, __fmul_rn(lr, wd)));
    } else {
      gi = __fadd_rn(gi, __fmul_rn(wd, pi));
    }
    const float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(__fsub_rn(1.0f, b1), gi));
    const float vi =
        __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(__fsub_rn(1.0f, b2), gi), gi));
    m[i] = mi;
    v[i] = vi;
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bias2_sqrt), eps);
    p[i] = __fsub_rn(pi, __fdiv_rn(__fmul_rn(step_size, mi), denom));
  }
}

__global__ void count_step_kernel(std::int64_t* steps, const float* loss) {
  if (loss == nullptr || isfinite(*loss)) *steps += 1;
}

}  // namespace

void optimizer_step(cudaStream_t stream, const OptimizerStep& o, float* params, const float* grads,
                    float* state, std::int64_t n, const float* lr, std::int64_t* steps,
                    const float* loss) {
  if (o.adam) {
    adam_kernel<<<blocks_for(n), threads, 0, stream>>>(o, params, grads, state, state + n, n, lr,
                                                       steps, loss);
  } else {
    sgd_kernel<<<blocks_for(n), threads, 0, stream>>>(o, params, grads, state, n, lr, steps, loss);
  }
  check_launch("optimizer step");
  count_step_kernel<<<1, 1, 0, stream>>>(steps, loss);
  check_launch("optimizer step counter");
}

}  // namespace archetype::cudnn::kernels
