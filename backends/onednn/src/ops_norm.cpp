// BatchNorm (oneDNN batch_normalization, with a following ReLU fused when it alone reads
// the output; running statistics updated here with PyTorch's unbiased variance) and
// LocalResponseNorm (oneDNN lrn across channels for odd sizes; a plain loop for even sizes, whose
// window oneDNN centres differently from PyTorch).
#include "context.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

namespace archetype::onednn::detail {

using dnnl::normalization_flags;
using dnnl::prop_kind;

namespace {

/// Where the values of one (image, channel) plane of a 4-D (or 2-D) layout lie: the offset
/// of element (n, c, 0, 0) for each n and c, and the strides of h and w, which no layout a
/// BatchNorm takes (nchw, nhwc, nChw8c, nChw16c) blocks.
struct ChannelPlanes {
  int n = 1, c = 1, h = 1, w = 1;
  std::vector<std::int64_t> base;  ///< n * c offsets, image-major
  std::int64_t stride_h = 0, stride_w = 0;
  [[nodiscard]] std::int64_t at(int image, int channel) const {
    return base[std::size_t(image) * std::size_t(c) + std::size_t(channel)];
  }
};

ChannelPlanes channel_planes(const memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked || d.ndims < 2 || d.ndims > 4) {
    throw std::runtime_error(
        "archetype::onednn: synchronised BatchNorm met a layout it cannot index");
  }
  const dnnl_blocking_desc_t& b = d.format_desc.blocking;
  std::array<std::int64_t, 4> block{1, 1, 1, 1};
  for (int i = 0; i < b.inner_nblks; ++i) block[std::size_t(b.inner_idxs[i])] *= b.inner_blks[i];
  for (int k = 2; k < d.ndims; ++k) {
    if (block[std::size_t(k)] != 1) {
      throw std::runtime_error(
          "archetype::onednn: synchronised BatchNorm met a spatially blocked layout");
    }
  }
  ChannelPlanes p;
  p.n = int(d.dims[0]);
  p.c = int(d.dims[1]);
  p.h = d.ndims > 2 ? int(d.dims[2]) : 1;
  p.w = d.ndims > 3 ? int(d.dims[3]) : 1;
  p.stride_h = d.ndims > 2 ? b.strides[2] : 0;
  p.stride_w = d.ndims > 3 ? b.strides[3] : 0;
  p.base.resize(std::size_t(p.n) * std::size_t(p.c));
  for (int n = 0; n < p.n; ++n) {
    for (int c = 0; c < p.c; ++c) {
      const std::array<std::int64_t, 2> idx{n, c};
      std::int64_t offset = d.offset0;
      for (int k = 0; k < 2; ++k)
        offset += idx[std::size_t(k)] / block[std::size_t(k)] * b.strides[k];
      // The inner blocks, outermost first: a mixed-radix number of the remainders.
      std::int64_t inner = 0;
      for (int i = 0; i < b.inner_nblks; ++i) {
        const int k = b.inner_idxs[i];
        std::int64_t after = 1;  // the blocks of dimension k inside block i
        for (int j = i + 1; j < b.inner_nblks; ++j)
          after *= b.inner_idxs[j] == k ? b.inner_blks[j] : 1;
        const std::int64_t digit =
            (idx[std::size_t(k)] % block[std::size_t(k)]) / after % b.inner_blks[i];
        inner = inner * b.inner_blks[i] + digit;
      }
      p.base[std::size_t(n) * std::size_t(p.c) + std::size_t(c)] = offset + inner;
    }
  }
  return p;
}

}  // namespace

void build_batch_norm(Context& ctx, const codegen::Op& op) {
  const int in = op.inputs[0];
  const int out = op.output;
  const Shape s = ctx.tensors[std::size_t(in)].shape;
  const memory::desc md = ctx.tensors[std::size_t(in)].md;  // the producer's layout
  const memory src = ctx.tensors[std::size_t(in)].mem;
  const auto eps = static_cast<float>(ctx.options.batch_norm_epsilon);
  const memory::desc c_md({s.c}, dt::f32, tag::x);
  // A ReLU that alone reads the output is fused (fuse_norm_relu: one pass instead of two,
  // forward and backward); the BatchNorm's own output is then never materialised.
  // In inference the folded program says (codegen::Fusion), in training the plan does.
  const codegen::Op* relu = !ctx.training()
                                ? (op.fusion.activated ? &ctx.ops[ctx.index(op) + 1] : nullptr)
                                : ctx.fused_relu(op);
  normalization_flags flags = normalization_flags::use_scale | normalization_flags::use_shift;
  if (relu != nullptr) flags = flags | normalization_flags::fuse_norm_relu;
  const int result = relu != nullptr ? relu->output : out;

  const bool training = ctx.training();
  // A frozen BatchNorm trains as it infers: the running statistics, left unchanged (the plan
  // decides: codegen::TrainingPlan::batch_statistics).
  const bool batch_statistics = training && ctx.plan.batch_statistics[ctx.index(op)];
  // Synchronised across processes (a BatchNorm that computes batch statistics): the
  // statistics are computed here over every process's batch and given to the primitive as
  // constants (use_global_stats); the backward then adds the terms of the mean and
  // variance's derivatives from global sums (below).
  const auto& all_reduce = ctx.options.batch_norm_all_reduce;
  const bool sync = batch_statistics && all_reduce;
  if (!batch_statistics || sync) flags = flags | normalization_flags::use_global_stats;
  // Values per channel in the global batch.
  const double count =
      double(ctx.batch) * s.h * s.w * (sync ? ctx.options.batch_norm_processes : 1);
  const auto fd = dnnl::batch_normalization_forward::desc(
      training ? prop_kind::forward_training : prop_kind::forward_inference, md, eps, flags);
  const dnnl::batch_normalization_forward::primitive_desc fpd(fd, ctx.eng);
  memory scale = ctx.over_params(c_md, op.param_offset);
  memory shift = ctx.over_params(c_md, op.param_offset + s.c);
  memory mean =
      batch_statistics ? ctx.alloc(fpd.mean_desc()) : ctx.over_buffers(c_md, op.buffer_offset);
  memory var = batch_statistics ? ctx.alloc(fpd.variance_desc())
                                : ctx.over_buffers(c_md, op.buffer_offset + s.c);
  memory dst = ctx.activation(fpd.dst_desc());
  std::shared_ptr<const ChannelPlanes> planes;
  if (sync) {
    planes = std::make_shared<const ChannelPlanes>(channel_planes(md));
    // mean = sum x / count, variance = sum x^2 / count - mean^2 (biased, as the primitive's),
    // summed in double over the processes.
    ctx.forward.push_back(Step{{}, {}, [=, &all_reduce] {
                                 const ChannelPlanes& p = *planes;
                                 const float* x = data(src);
                                 std::vector<double> sums(2 * std::size_t(p.c), 0.0);
#pragma omp parallel for
                                 for (int c = 0; c < p.c; ++c) {
                                   double s1 = 0, s2 = 0;
                                   for (int n = 0; n < p.n; ++n) {
                                     const float* plane = x + p.at(n, c);
                                     for (int h = 0; h < p.h; ++h) {
                                       for (int w = 0; w < p.w; ++w) {
                                         const double v = plane[h * p.stride_h + w * p.stride_w];
                                         s1 += v;
                                         s2 += v * v;
                                       }
                                     }
                                   }
                                   sums[std::size_t(c)] = s1;
                                   sums[std::size_t(p.c + c)] = s2;
                                 }
                                 all_reduce(sums);
                                 float* mu = data(mean);
                                 float* sigma2 = data(var);
                                 for (int c = 0; c < p.c; ++c) {
                                   const double m1 = sums[std::size_t(c)] / count;
                                   mu[c] = float(m1);
                                   sigma2[c] = float(
                                       std::max(0.0, sums[std::size_t(p.c + c)] / count - m1 * m1));
                                 }
                               }});
  }
  Step step{dnnl::batch_normalization_forward(fpd),
            {{DNNL_ARG_SRC, src},
             {DNNL_ARG_DST, dst},
             {DNNL_ARG_SCALE, scale},
             {DNNL_ARG_SHIFT, shift},
             {DNNL_ARG_MEAN, mean},
             {DNNL_ARG_VARIANCE, var}},
            {}};
  memory ws;
  if (relu != nullptr && training) {
    ws = ctx.alloc(fpd.workspace_desc());
    step.args[DNNL_ARG_WORKSPACE] = ws;
  }
  ctx.forward.push_back(std::move(step));
  ctx.define(out, dst);  // read by nobody else when the ReLU is fused
  if (relu != nullptr) {
    ctx.define(result, dst);
    ctx.fused[ctx.index(*relu)] = true;
  }
  if (!training) return;

  // Running statistics (of a BatchNorm that trains), PyTorch's rule: the variance is the unbiased
  // batch variance.
  if (batch_statistics) {
    const double m = ctx.options.batch_norm_momentum;
    const double n = count;
    const double unbias = n > 1 ? n / (n - 1) : 1.0;
    float* running_mean = ctx.buffers + op.buffer_offset;
    float* running_var = running_mean + s.c;
    const int channels = s.c;
    ctx.forward.push_back(Step{{}, {}, [=] {
                                 const float* bm = data(mean);
                                 const float* bv = data(var);
                                 for (int c = 0; c < channels; ++c) {
                                   running_mean[c] = float((1 - m) * running_mean[c] + m * bm[c]);
                                   running_var[c] =
                                       float((1 - m) * running_var[c] + m * bv[c] * unbias);
                                 }
                               }});
  }

  ctx.backward_builders.push_back([&ctx, op, result, md, src, eps, c_md, flags, fpd, scale, shift,
                                   mean, var, ws, planes, count] {
    const int in = op.inputs[0];
    const int c = ctx.tensors[std::size_t(in)].shape.c;
    Steps& bs = ctx.backward;
    // Frozen (use_global_stats): the data gradient is gamma / sqrt(var + eps) times the
    // output's. oneDNN's backward_data takes no scale, so the kernel still sums the scale's
    // and shift's gradients (in the same pass), into a scratch buffer, not the gradients.
    const bool weights = ctx.weight_gradient(op);
    const dnnl::batch_normalization_backward::desc bd(prop_kind::backward, md, md, eps, flags);
    const dnnl::batch_normalization_backward::primitive_desc bpd(bd, ctx.eng, fpd);
    memory ddst = ctx.grad_as(result, bpd.diff_dst_desc(), bs);
    Steps post;
    memory dsrc = ctx.grad_target(in, bpd.diff_src_desc(), post, ddst);  // in place when first
    Step step{dnnl::batch_normalization_backward(bpd),
              {{DNNL_ARG_SRC, src},
               {DNNL_ARG_MEAN, mean},
               {DNNL_ARG_VARIANCE, var},
               {DNNL_ARG_DIFF_DST, ddst},
               {DNNL_ARG_SCALE, scale},
               {DNNL_ARG_SHIFT, shift},
               {DNNL_ARG_DIFF_SRC, dsrc}},
              {}};
    if (weights) {
      step.args[DNNL_ARG_DIFF_SCALE] = ctx.over_grads(c_md, op.param_offset);
      step.args[DNNL_ARG_DIFF_SHIFT] = ctx.over_grads(c_md, op.param_offset + c);
    } else {
      step.args[DNNL_ARG_DIFF_SCALE] = ctx.scratch(c_md);
      step.args[DNNL_ARG_DIFF_SHIFT] = ctx.scratch(c_md);
    }
    if (ws) step.args[DNNL_ARG_WORKSPACE] = ws;
    const memory diff_scale = step.args[DNNL_ARG_DIFF_SCALE];
    const memory diff_shift = step.args[DNNL_ARG_DIFF_SHIFT];
    bs.push_back(std::move(step));
    if (planes) {
      // With constant statistics the primitive gives dx' = gamma / sigma * dy. The full
      // derivative over the global batch of M values per channel is
      //   dx = gamma / sigma * (dy - sum(dy) / M - x_hat * sum(dy * x_hat) / M),
      // and its local diff_shift and diff_scale are this process's sum(dy) and
      // sum(dy * x_hat): summed over the processes, they give the two global terms. The
      // gradient block keeps the local ones (the gradient all-reduce sums those).
      const float* gamma = ctx.params + op.param_offset;
      const auto& all_reduce = ctx.options.batch_norm_all_reduce;
      bs.push_back(Step{{}, {}, [=, &all_reduce] {
                          const ChannelPlanes& p = *planes;
                          const float* dgamma = data(diff_scale);
                          const float* dbeta = data(diff_shift);
                          std::vector<double> sums(2 * std::size_t(c));
                          for (int k = 0; k < c; ++k) {
                            sums[std::size_t(k)] = dbeta[k];
                            sums[std::size_t(c + k)] = dgamma[k];
                          }
                          all_reduce(sums);
                          const float* x = data(src);
                          const float* mu = data(mean);
                          const float* sigma2 = data(var);
                          float* dx = data(dsrc);
#pragma omp parallel for
                          for (int k = 0; k < c; ++k) {
                            const double inv_sigma = 1.0 / std::sqrt(double(sigma2[k]) + eps);
                            const double scale_k = gamma[k] * inv_sigma;
                            const double a = sums[std::size_t(k)] / count;
                            const double b = sums[std::size_t(c + k)] / count * inv_sigma;
                            for (int n = 0; n < p.n; ++n) {
                              const std::int64_t base = p.at(n, k);
                              for (int h = 0; h < p.h; ++h) {
                                for (int w = 0; w < p.w; ++w) {
                                  const std::int64_t i = base + h * p.stride_h + w * p.stride_w;
                                  dx[i] = float(dx[i] - scale_k * (a + (x[i] - mu[k]) * b));
                                }
                              }
                            }
                          }
                        }});
    }
    bs.insert(bs.end(), post.begin(), post.end());
  });
}

namespace {

/// PyTorch's LocalResponseNorm on plain NCHW: channel c averages channels
/// [c - size/2, c + (size-1)/2]. Used for even sizes.
void build_lrn_loop(Context& ctx, const codegen::Op& op) {
  const LayerRow& L = op.layer;
  const Shape s = ctx.tensors[std::size_t(op.inputs[0])].shape;
  const int n_img = ctx.batch;
  const int size = L.lrn_size;
  const float alpha = float(L.alpha), beta = float(L.beta), k = float(L.k);
  const std::int64_t hw = std::int64_t{s.h} * s.w;
  const std::int64_t total = n_img * s.c * hw;
  // Saved by the forward for the backward: the scale (k + alpha/n sum x^2).
  auto saved_scale = std::make_shared<std::vector<float>>(std::size_t(total));
  auto forward = [=](const float* x, float* y) {
    float* sc = saved_scale->data();
#pragma omp parallel for
    for (int n = 0; n < n_img; ++n) {
      for (int c = 0; c < s.c; ++c) {
        const int lo = std::max(0, c - size / 2), hi = std::min(s.c - 1, c + (size - 1) / 2);
        float* scale = sc + (std::int64_t{n} * s.c + c) * hw;
        for (std::int64_t p = 0; p < hw; ++p) scale[p] = 0.f;
        for (int j = lo; j <= hi; ++j) {
          const float* xj = x + (std::int64_t{n} * s.c + j) * hw;
          for (std::int64_t p = 0; p < hw; ++p) scale[p] += xj[p] * xj[p];
        }
        const float* xc = x + (std::int64_t{n} * s.c + c) * hw;
        float* yc = y + (std::int64_t{n} * s.c + c) * hw;
        for (std::int64_t p = 0; p < hw; ++p) {
          scale[p] = k + alpha / float(size) * scale[p];
          yc[p] = xc[p] * std::pow(scale[p], -beta);
        }
      }
    }
  };
  auto backward = [=](const float* x, const float* dy, float* dx) {
    const float* sc = saved_scale->data();
    const float f = 2.f * alpha * beta / float(size);
#pragma omp parallel for
    for (int n = 0; n < n_img; ++n) {
      for (int j = 0; j < s.c; ++j) {
        // Channels c whose window holds j: c in [j - (size-1)/2, j + size/2].
        const int lo = std::max(0, j - (size - 1) / 2), hi = std::min(s.c - 1, j + size / 2);
        const std::int64_t bj = (std::int64_t{n} * s.c + j) * hw;
        for (std::int64_t p = 0; p < hw; ++p) dx[bj + p] = dy[bj + p] * std::pow(sc[bj + p], -beta);
        for (int c = lo; c <= hi; ++c) {
          const std::int64_t bc = (std::int64_t{n} * s.c + c) * hw;
          for (std::int64_t p = 0; p < hw; ++p) {
            dx[bj + p] -=
                f * x[bj + p] * dy[bc + p] * x[bc + p] * std::pow(sc[bc + p], -beta - 1.f);
          }
        }
      }
    }
  };
  build_plain_op(ctx, op, forward, backward);
}

}  // namespace

void build_lrn(Context& ctx, const codegen::Op& op) {
  const LayerRow& L = op.layer;
  if (L.lrn_size % 2 == 0) {
    build_lrn_loop(ctx, op);
    return;
  }
  const int in = op.inputs[0];
  const int out = op.output;
  const memory::desc md = ctx.tensors[std::size_t(in)].md;
  const memory src = ctx.tensors[std::size_t(in)].mem;
  const auto size = memory::dim{L.lrn_size};
  const float alpha = float(L.alpha), beta = float(L.beta), k = float(L.k);
  const prop_kind prop =
      ctx.training() ? prop_kind::forward_training : prop_kind::forward_inference;
  const dnnl::lrn_forward::desc fd(prop, dnnl::algorithm::lrn_across_channels, md, size, alpha,
                                   beta, k);
  const dnnl::lrn_forward::primitive_desc fpd(fd, ctx.eng);
  const memory ws = ctx.forward_step(op, dnnl::lrn_forward(fpd), fpd, src).second;
  if (!ctx.training()) return;

  ctx.backward_builders.push_back([&ctx, in, out, md, src, size, alpha, beta, k, fpd, ws] {
    const dnnl::lrn_backward::desc bd(dnnl::algorithm::lrn_across_channels, md, md, size, alpha,
                                      beta, k);
    const dnnl::lrn_backward::primitive_desc bpd(bd, ctx.eng, fpd);
    ctx.backward_step(in, out, dnnl::lrn_backward(bpd), bpd, {{DNNL_ARG_SRC, src}}, ws);
  });
}

}  // namespace archetype::onednn::detail
