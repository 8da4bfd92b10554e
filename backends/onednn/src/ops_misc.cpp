// ReLU (oneDNN eltwise), Add (oneDNN sum; in training, binary add with a following ReLU
// fused when it alone reads the sum), Concat (oneDNN concat; backward: reorders out
// of sub-memories), Resize (oneDNN resampling, linear), Dropout (a loop on the physical
// buffer: elementwise, so any layout), Flatten (a view of plain memory), and the plain
// loops for what oneDNN lacks: PadTo. (ZeroPadShortcut, option A, is a constant 1x1 convolution.)
#include "context.hpp"

#include <archetype/codegen/dropout.hpp>

#include <algorithm>
#include <cstring>
#include <memory>

namespace archetype::onednn::detail {

using dnnl::algorithm;
using dnnl::prop_kind;

void build_plain_op(Context& ctx, const codegen::Op& op, PlainForward forward, PlainBackward backward) {
  const int in = op.inputs[0];
  const int out = op.output;
  const memory::desc x_md = ctx.plain(ctx.tensors[std::size_t(in)].shape);
  const memory::desc y_md = ctx.plain(ctx.tensors[std::size_t(out)].shape);
  memory x = ctx.value_as(in, x_md, ctx.forward);
  memory y = ctx.activation(y_md);
  ctx.forward.push_back(Step{{}, {}, [forward, x, y] { forward(data(x), data(y)); }});
  ctx.define(out, y);
  if (!ctx.training()) return;
  ctx.backward_builders.push_back([&ctx, in, out, x, x_md, y_md, backward] {
    Steps& bs = ctx.backward;
    memory dy = ctx.grad_as(out, y_md, bs);
    Steps post;
    memory dx = ctx.grad_target(in, x_md, post);
    bs.push_back(Step{{}, {}, [backward, x, dy, dx] { backward(data(x), data(dy), data(dx)); }});
    bs.insert(bs.end(), post.begin(), post.end());
  });
}

void build_identity(Context& ctx, const codegen::Op& op) {
  const int in = op.inputs[0];
  const int out = op.output;
  ctx.define(out, ctx.tensors[std::size_t(in)].mem);
  if (!ctx.training()) return;
  ctx.backward_builders.push_back([&ctx, in, out] { ctx.push_grad(in, ctx.grad_any(out), ctx.backward, true); });
}

void build_activation(Context& ctx, const codegen::Op& op) {
  // ReLU, ReLU6 and Sigmoid are differentiated from their outputs (the *_use_dst_for_bwd
  // algorithms: ReLU y > 0 exactly where x > 0, ReLU6 0 < y < 6, Sigmoid y (1 - y)), so
  // that their inputs' values need not be kept for the backward pass (codegen's
  // Tensor::saved); SiLU reads its input.
  const Context::Eltwise e = Context::eltwise(op.layer.op);  // throws for a non-activation
  const float alpha = e.alpha, beta = e.beta;
  algorithm alg = e.alg;
  bool from_dst = true;
  switch (e.alg) {
    case algorithm::eltwise_relu: alg = algorithm::eltwise_relu_use_dst_for_bwd; break;
    case algorithm::eltwise_clip_v2: alg = algorithm::eltwise_clip_v2_use_dst_for_bwd; break;
    case algorithm::eltwise_logistic: alg = algorithm::eltwise_logistic_use_dst_for_bwd; break;
    default: from_dst = false;  // SiLU (swish)
  }
  const int in = op.inputs[0];
  const int out = op.output;
  const memory::desc md = ctx.tensors[std::size_t(in)].md;
  const memory src = ctx.tensors[std::size_t(in)].mem;
  const prop_kind prop = ctx.training() ? prop_kind::forward_training : prop_kind::forward_inference;
  const dnnl::eltwise_forward::desc fd(prop, alg, md, alpha, beta);
  const dnnl::eltwise_forward::primitive_desc fpd(fd, ctx.eng);
  const memory dst = ctx.forward_step(op, dnnl::eltwise_forward(fpd), fpd, src).first;
  if (!ctx.training()) return;
  ctx.backward_builders.push_back([&ctx, in, out, md, src, dst, fpd, alg, alpha, beta, from_dst] {
    const dnnl::eltwise_backward::desc bd(alg, md, fpd.dst_desc(), alpha, beta);
    const dnnl::eltwise_backward::primitive_desc bpd(bd, ctx.eng, fpd);
    ctx.backward_step(in, out, dnnl::eltwise_backward(bpd), bpd,
                      {{from_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, from_dst ? dst : src}}, {}, true);
  });
}

namespace {

/// True when every image of the batch is one contiguous run of `md`'s buffer (the batch is
/// the outermost dimension and is not blocked), so a per-sample loop can run on it.
bool batch_outermost(const memory::desc& md, int batch) {
  if (md.data.format_kind != dnnl_blocked) return false;
  const auto& b = md.data.format_desc.blocking;
  for (int i = 0; i < b.inner_nblks; ++i) {
    if (b.inner_idxs[i] == 0) return false;
  }
  return b.strides[0] * batch == physical_floats(md);
}

/// y = x * m, one mask value per `run` consecutive values (1: elementwise).
void apply_mask(const float* x, float* y, const float* m, std::int64_t count, std::int64_t run) {
  if (run == 1) {
#pragma omp parallel for simd
    for (std::int64_t i = 0; i < count; ++i) y[i] = x[i] * m[i];
    return;
  }
#pragma omp parallel for
  for (std::int64_t n = 0; n < count / run; ++n) {
    const float scale = m[n];
#pragma omp simd
    for (std::int64_t j = n * run; j < (n + 1) * run; ++j) y[j] = x[j] * scale;
  }
}

/// Dropout (`per_sample` false: each value kept with probability 1 - p) and stochastic
/// depth (`per_sample` true: each image's whole tensor), inverted: kept values are scaled
/// by 1 / (1 - p). The forward draws a mask (codegen/dropout.hpp: the draws of every
/// backend); the backward multiplies by the same mask.
void build_random_mask(Context& ctx, const codegen::Op& op, bool per_sample) {
  if (!ctx.training() || !ctx.options.dropout) {  // identity at inference (or when disabled)
    build_identity(ctx, op);
    return;
  }
  const int in = op.inputs[0];
  const int out = op.output;
  memory::desc md = ctx.tensors[std::size_t(in)].md;
  memory src = ctx.tensors[std::size_t(in)].mem;
  const memory::desc plain = ctx.plain(ctx.tensors[std::size_t(in)].shape);
  if (md.data.data_type != dnnl_f32 ||
      (per_sample ? !batch_outermost(md, ctx.batch) : !same_bytes(md, plain))) {
    // bf16, or a layout whose order is not NCHW's (the draws are indexed in NCHW order,
    // codegen/dropout.hpp) or that interleaves images: the loop runs on a plain fp32 copy
    md = plain;
    src = ctx.value_as(in, md, ctx.forward);
  }
  memory dst = ctx.activation(md);
  // Elementwise, so it runs on the buffer directly (padding of a per-sample run stays 0).
  const std::int64_t count = physical_floats(md);
  const std::int64_t run = per_sample ? count / ctx.batch : 1;  // values sharing one draw
  const double p = op.layer.p;
  const auto scale = static_cast<float>(1.0 / (1.0 - p));
  auto mask = std::make_shared<std::vector<float>>(std::size_t(count / run));
  const std::uint64_t seed =
      codegen::dropout::op_seed(ctx.options.dropout_seed, int(ctx.index(op)));
  const std::uint64_t* step = ctx.dropout_step.get();
  ctx.forward.push_back(Step{{}, {}, [=] {
                               const float* x = data(src);
                               float* y = data(dst);
                               float* m = mask->data();
                               const auto draws = std::int64_t(mask->size());
                               const std::uint64_t s = *step;
#pragma omp parallel for
                               for (std::int64_t k = 0; k < draws; ++k) {
                                 m[k] = codegen::dropout::keep(seed, s, std::uint64_t(k), p) ? scale
                                                                                             : 0.f;
                               }
                               apply_mask(x, y, m, count, run);
                             }});
  ctx.define(out, dst);
  ctx.backward_builders.push_back([&ctx, in, out, md, count, run, mask] {
    Steps& bs = ctx.backward;
    memory ddst = ctx.grad_as(out, md, bs);
    Steps post;
    memory dsrc = ctx.grad_target(in, md, post, ddst);
    bs.push_back(Step{{}, {}, [=] {
                        const float* dy = data(ddst);
                        float* dx = data(dsrc);
                        const float* m = mask->data();
                        apply_mask(dy, dx, m, count, run);
                      }});
    bs.insert(bs.end(), post.begin(), post.end());
  });
}

}  // namespace

void build_dropout(Context& ctx, const codegen::Op& op) { build_random_mask(ctx, op, false); }

void build_stochastic_depth(Context& ctx, const codegen::Op& op) { build_random_mask(ctx, op, true); }

void build_flatten(Context& ctx, const codegen::Op& op) {
  const int in = op.inputs[0];
  const int out = op.output;
  const Shape is = ctx.tensors[std::size_t(in)].shape;
  const Shape os = ctx.tensors[std::size_t(out)].shape;
  if (is == os) {
    build_identity(ctx, op);
    return;
  }
  // NCHW order of C*H*W: a view of the plain input.
  memory x = ctx.value_as(in, ctx.plain_act(is), ctx.forward);
  ctx.define(out, ctx.view(x, ctx.plain_act(os)));
  if (!ctx.training()) return;
  ctx.backward_builders.push_back([&ctx, in, out, is, os] {
    memory dy = ctx.grad_as(out, ctx.plain_act(os), ctx.backward);
    ctx.push_grad(in, ctx.view(dy, ctx.plain_act(is)), ctx.backward, true);
  });
}

void build_add(Context& ctx, const codegen::Op& op) {
  const memory::desc md = ctx.tensors[std::size_t(op.inputs[0])].md;
  std::vector<memory> srcs;
  std::vector<memory::desc> mds;
  for (int i = 0; i < op.input_count; ++i) {
    srcs.push_back(ctx.value_as(op.inputs[i], md, ctx.forward));  // all in the first one's layout
    mds.push_back(md);
  }
  if (op.input_count == 2 && op.fusion.activated) {  // inference: Add + activation in one binary primitive
    const dnnl::binary::desc d(algorithm::binary_add, md, md, md);
    const dnnl::binary::primitive_desc pd(d, Context::post_ops(op), ctx.eng);
    memory dst = ctx.activation(pd.dst_desc());
    ctx.forward.push_back(
        Step{dnnl::binary(pd), {{DNNL_ARG_SRC_0, srcs[0]}, {DNNL_ARG_SRC_1, srcs[1]}, {DNNL_ARG_DST, dst}}, {}});
    ctx.define_chain(op, dst);
    return;
  }
  // Training: a ReLU that alone reads a sum of two is fused into it (one binary primitive
  // with a ReLU post-op instead of a sum pass and an eltwise pass, the residual block's
  // ending). The sum itself is never materialised: the ReLU is differentiated from its
  // output, the fused result, and the sum's gradient goes to both summands.
  const codegen::Op* relu = ctx.training() ? ctx.fused_relu(op) : nullptr;
  if (relu != nullptr) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    const dnnl::binary::desc d(algorithm::binary_add, md, md, md);
    const dnnl::binary::primitive_desc pd(d, attr, ctx.eng);
    memory dst = ctx.activation(pd.dst_desc());
    ctx.forward.push_back(
        Step{dnnl::binary(pd), {{DNNL_ARG_SRC_0, srcs[0]}, {DNNL_ARG_SRC_1, srcs[1]}, {DNNL_ARG_DST, dst}}, {}});
    ctx.define(op.output, dst);  // read by nobody else
    ctx.define(relu->output, dst);
    ctx.fused[ctx.index(*relu)] = true;
    ctx.backward_builders.push_back([&ctx, op, result = relu->output, md = pd.dst_desc(), dst] {
      const algorithm alg = algorithm::eltwise_relu_use_dst_for_bwd;
      const dnnl::eltwise_forward::desc fd(prop_kind::forward_training, alg, md, 0.f, 0.f);
      const dnnl::eltwise_forward::primitive_desc fpd(fd, ctx.eng);
      const dnnl::eltwise_backward::desc bd(alg, md, md, 0.f, 0.f);
      const dnnl::eltwise_backward::primitive_desc bpd(bd, ctx.eng, fpd);
      ctx.backward_step(op.output, result, dnnl::eltwise_backward(bpd), bpd, {{DNNL_ARG_DST, dst}}, {}, true);
      memory g = ctx.grad_any(op.output);
      for (int i = 0; i < 2; ++i) ctx.push_grad(op.inputs[i], g, ctx.backward, i == 0);
    });
    return;
  }
  memory dst;
  if (op.input_count == 2) {
    // Two summands (no activation: that case is above): a binary addition. oneDNN 2.6's
    // sum has only its reference kernel for a padded blocked layout (728 channels in
    // nChw16c, say).
    const dnnl::binary::desc d(algorithm::binary_add, md, md, md);
    const dnnl::binary::primitive_desc pd(d, ctx.eng);
    dst = ctx.activation(pd.dst_desc());
    ctx.forward.push_back(
        Step{dnnl::binary(pd), {{DNNL_ARG_SRC_0, srcs[0]}, {DNNL_ARG_SRC_1, srcs[1]}, {DNNL_ARG_DST, dst}}, {}});
  } else {
    const dnnl::sum::primitive_desc pd(md, std::vector<float>(std::size_t(op.input_count), 1.f), mds, ctx.eng);
    dst = ctx.activation(pd.dst_desc());
    Step step{dnnl::sum(pd), {{DNNL_ARG_DST, dst}}, {}};
    for (int i = 0; i < op.input_count; ++i) step.args[DNNL_ARG_MULTIPLE_SRC + i] = srcs[std::size_t(i)];
    ctx.forward.push_back(std::move(step));
  }
  if (op.fusion.activated) {  // inference, more than two summands: the activation in place after the sum
    const Context::Eltwise e = Context::eltwise(op.fusion.activation);
    const dnnl::eltwise_forward::desc rd(prop_kind::forward_inference, e.alg, dst.get_desc(), e.alpha, e.beta);
    const dnnl::eltwise_forward::primitive_desc rpd(rd, ctx.eng);
    ctx.forward.push_back(Step{dnnl::eltwise_forward(rpd), {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}}, {}});
  }
  ctx.define_chain(op, dst);
  if (!ctx.training()) return;
  ctx.backward_builders.push_back([&ctx, op] {
    // Every input receives the whole gradient; the first may take the buffer itself.
    memory g = ctx.grad_any(op.output);
    for (int i = 0; i < op.input_count; ++i) ctx.push_grad(op.inputs[i], g, ctx.backward, i == 0);
  });
}

void build_concat(Context& ctx, const codegen::Op& op) {
  const int out = op.output;
  const Shape os = ctx.tensors[std::size_t(out)].shape;
  std::vector<memory> srcs;
  std::vector<memory::desc> mds;
  for (int i = 0; i < op.input_count; ++i) {
    srcs.push_back(ctx.tensors[std::size_t(op.inputs[i])].mem);
    mds.push_back(ctx.tensors[std::size_t(op.inputs[i])].md);
  }
  dnnl::concat::primitive_desc pd;
  try {
    pd = dnnl::concat::primitive_desc(1, mds, ctx.eng);
  } catch (const dnnl::error&) {  // layouts oneDNN cannot join: go through plain memory
    for (int i = 0; i < op.input_count; ++i) {
      const Shape s = ctx.tensors[std::size_t(op.inputs[i])].shape;
      mds[std::size_t(i)] = ctx.plain(s);
      srcs[std::size_t(i)] = ctx.value_as(op.inputs[i], mds[std::size_t(i)], ctx.forward);
    }
    pd = dnnl::concat::primitive_desc(ctx.plain(os), 1, mds, ctx.eng);
  }
  memory dst = ctx.activation(pd.dst_desc());
  Step step{dnnl::concat(pd), {{DNNL_ARG_DST, dst}}, {}};
  for (int i = 0; i < op.input_count; ++i) step.args[DNNL_ARG_MULTIPLE_SRC + i] = srcs[std::size_t(i)];
  ctx.forward.push_back(std::move(step));
  ctx.define(out, dst);
  if (!ctx.training()) return;
  ctx.backward_builders.push_back([&ctx, op, os] {
    Steps& bs = ctx.backward;
    // Each input's gradient is a channel slice of the output's: a sub-memory, when the
    // gradient's layout allows slicing there (channel blocks), else of its plain copy.
    auto slices = [&](const memory::desc& g_md) {
      std::vector<memory::desc> subs;
      int offset = 0;
      for (int i = 0; i < op.input_count; ++i) {
        const Shape s = ctx.tensors[std::size_t(op.inputs[i])].shape;
        memory::desc sub = g_md.submemory_desc(ctx.dims(s), {0, offset, 0, 0}, true);
        if (sub.data.ndims == 0) return std::vector<memory::desc>{};  // cannot slice there
        subs.push_back(sub);
        offset += s.c;
      }
      return subs;
    };
    memory g = ctx.grad_any(op.output);
    std::vector<memory::desc> subs = slices(g.get_desc());
    if (subs.empty()) {
      g = ctx.grad_as(op.output, ctx.plain(os), bs);
      subs = slices(g.get_desc());
    }
    for (int i = 0; i < op.input_count; ++i) {
      const int t = op.inputs[i];
      memory sub = ctx.view(g, subs[std::size_t(i)]);
      Steps post;
      memory target = ctx.grad_target(t, ctx.tensors[std::size_t(t)].md, post);
      bs.push_back(ctx.copy(sub, target));
      bs.insert(bs.end(), post.begin(), post.end());
    }
  });
}

void build_resize(Context& ctx, const codegen::Op& op) {
  const int in = op.inputs[0];
  const int out = op.output;
  const Shape os = ctx.tensors[std::size_t(out)].shape;
  const memory::desc src_md = ctx.tensors[std::size_t(in)].md;
  const memory src = ctx.tensors[std::size_t(in)].mem;
  const prop_kind prop = ctx.training() ? prop_kind::forward_training : prop_kind::forward_inference;
  // oneDNN's linear resampling maps dst x to src (x + 0.5) * in / out - 0.5, clamped at the
  // edges: F.interpolate(mode="bilinear", align_corners=False).
  const dnnl::resampling_forward::desc fd(prop, algorithm::resampling_linear, src_md, ctx.any(os));
  const dnnl::resampling_forward::primitive_desc fpd(fd, ctx.eng);
  ctx.forward_step(op, dnnl::resampling_forward(fpd), fpd, src);
  if (!ctx.training()) return;
  const memory::desc dst_md = fpd.dst_desc();
  ctx.backward_builders.push_back([&ctx, in, out, src_md, dst_md, fpd] {
    const dnnl::resampling_backward::desc bd(algorithm::resampling_linear, src_md, dst_md);
    const dnnl::resampling_backward::primitive_desc bpd(bd, ctx.eng, fpd);
    ctx.backward_step(in, out, dnnl::resampling_backward(bpd), bpd, {});
  });
}

// Option A: y[n, c + pad, i, j] = x[n, c, i*s, j*s], the other channels 0. As a 1x1
// convolution of stride s whose constant weights pick input channel c for output channel
// c + pad, it runs on oneDNN in the blocked layout of its neighbours (no reorder to plain
// NCHW and back, as plain loops needed), and exactly: each output is 1 * x plus zeros. In
// inference the residual sum after it is the next convolution's in-place sum post-op, into
// this output's buffer. Its backward is the same convolution's backward data (no weight
// gradient, and nothing of the forward pass is read).
void build_zero_pad_shortcut(Context& ctx, const codegen::Op& op) {
  const int in = op.inputs[0];
  const Shape is = ctx.tensors[std::size_t(in)].shape;
  const Shape os = ctx.tensors[std::size_t(op.output)].shape;
  const int pad = (os.c - is.c) / 2;
  const memory::dims wdims{os.c, is.c, 1, 1}, strides{op.layer.stride_h, op.layer.stride_w}, zero{0, 0};
  const memory::desc w_plain(wdims, dt::f32, tag::oihw);
  const memory::desc w_any(wdims, ctx.act(), tag::any);
  const prop_kind prop = ctx.training() ? prop_kind::forward_training : prop_kind::forward_inference;
  const auto [src_md, dst_md] = ctx.conv_layouts(is, os);
  const dnnl::convolution_forward::desc fd(prop, algorithm::convolution_direct, src_md, w_any, dst_md, strides,
                                           zero, zero);
  // Inference: the residual sum after it and that sum's activation as post-ops (codegen's
  // fold: the sum goes in place into the body's output buffer).
  const dnnl::convolution_forward::primitive_desc fpd(fd, Context::post_ops(op), ctx.eng);
  memory w_user = ctx.alloc(w_plain);  // the selection: w[c + pad][c] = 1
  float* w = data(w_user);
  std::fill_n(w, std::size_t(os.c) * std::size_t(is.c), 0.f);
  for (int c = 0; c < is.c; ++c) w[std::size_t(c + pad) * std::size_t(is.c) + std::size_t(c)] = 1.f;
  memory wf = ctx.weights_as(w_user, fpd.weights_desc(), ctx.weights_forward);
  memory src = ctx.value_as(in, fpd.src_desc(), ctx.forward);
  memory dst = op.fusion.sum >= 0 ? ctx.value_as(op.fusion.sum, fpd.dst_desc(), ctx.forward)
                                  : ctx.activation(fpd.dst_desc());
  ctx.forward.push_back(
      Step{dnnl::convolution_forward(fpd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wf}, {DNNL_ARG_DST, dst}}, {}});
  ctx.define_chain(op, dst);
  if (!ctx.training()) return;
  ctx.backward_builders.push_back([&ctx, in, out = op.output, src_md, dst_md, w_any, strides, zero, fpd, w_user, wf] {
    if (!ctx.needs_grad[std::size_t(in)]) return;
    const dnnl::convolution_backward_data::desc dd(algorithm::convolution_direct, src_md, w_any, dst_md, strides,
                                                   zero, zero);
    const dnnl::convolution_backward_data::primitive_desc dpd(dd, ctx.eng, fpd);
    memory wb = dpd.weights_desc() == fpd.weights_desc()
                    ? wf
                    : ctx.weights_as(w_user, dpd.weights_desc(), ctx.weights_backward);
    Steps& bs = ctx.backward;
    memory ddst = ctx.grad_as(out, dpd.diff_dst_desc(), bs);
    Steps post;
    memory dsrc = ctx.grad_target(in, dpd.diff_src_desc(), post);
    bs.push_back(Step{dnnl::convolution_backward_data(dpd),
                      {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, dsrc}}, {}});
    bs.insert(bs.end(), post.begin(), post.end());
  });
}

void build_pad_to(Context& ctx, const codegen::Op& op) {
  const Shape is = ctx.tensors[std::size_t(op.inputs[0])].shape;
  const Shape os = ctx.tensors[std::size_t(op.output)].shape;
  const int planes = ctx.batch * is.c;
  const int top = (os.h - is.h) / 2, left = (os.w - is.w) / 2;
  const std::int64_t in_plane = std::int64_t{is.h} * is.w, out_plane = std::int64_t{os.h} * os.w;
  auto forward = [=](const float* x, float* y) {
#pragma omp parallel for
    for (int pl = 0; pl < planes; ++pl) {
      float* yp = y + pl * out_plane;
      const float* xp = x + pl * in_plane;
      std::fill(yp, yp + out_plane, 0.f);
      for (int i = 0; i < is.h; ++i) {
        std::copy(xp + i * is.w, xp + (i + 1) * is.w, yp + (i + top) * os.w + left);
      }
    }
  };
  auto backward = [=](const float*, const float* dy, float* dx) {
#pragma omp parallel for
    for (int pl = 0; pl < planes; ++pl) {
      const float* yp = dy + pl * out_plane;
      float* xp = dx + pl * in_plane;
      for (int i = 0; i < is.h; ++i) {
        std::copy(yp + (i + top) * os.w + left, yp + (i + top) * os.w + left + is.w, xp + i * is.w);
      }
    }
  };
  build_plain_op(ctx, op, forward, backward);
}

}  // namespace archetype::onednn::detail
