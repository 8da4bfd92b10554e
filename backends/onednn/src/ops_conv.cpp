// Convolution and Linear: oneDNN convolution / inner_product, forward, backward data and
// backward weights (bias included). Layouts are left to oneDNN (format_tag::any); the
// user-visible parameters and gradients stay plain (PyTorch order) and are reordered into
// or out of the primitives' layouts once per pass.
#include "context.hpp"

namespace archetype::onednn::detail {

using dnnl::algorithm;
using dnnl::prop_kind;

void build_conv(Context& ctx, const codegen::Op& op) {
  const LayerRow& L = op.layer;
  const int in = op.inputs[0];
  const int out = op.output;
  const Shape is = ctx.tensors[std::size_t(in)].shape;
  const Shape os = ctx.tensors[std::size_t(out)].shape;
  const int g = L.groups;

  const memory::dims wdims = g == 1 ? memory::dims{os.c, is.c, L.kernel_h, L.kernel_w}
                                    : memory::dims{g, os.c / g, is.c / g, L.kernel_h, L.kernel_w};
  const memory::desc w_plain(wdims, dt::f32, g == 1 ? tag::oihw : tag::goihw);
  const memory::desc w_any(wdims, dt::f32, tag::any);
  const memory::desc b_md({os.c}, dt::f32, tag::x);
  const std::int64_t w_count = std::int64_t{os.c} * (is.c / g) * L.kernel_h * L.kernel_w;
  const memory::dims strides{L.stride_h, L.stride_w};
  const memory::dims pad{L.pad_h, L.pad_w};
  const algorithm alg = algorithm::convolution_direct;
  const prop_kind prop = ctx.training() ? prop_kind::forward_training : prop_kind::forward_inference;

  const auto fd = L.bias ? dnnl::convolution_forward::desc(prop, alg, ctx.any(is), w_any, b_md,
                                                           ctx.any(os), strides, pad, pad)
                         : dnnl::convolution_forward::desc(prop, alg, ctx.any(is), w_any,
                                                           ctx.any(os), strides, pad, pad);
  const dnnl::convolution_forward::primitive_desc fpd(fd, ctx.eng);

  memory src = ctx.value_as(in, fpd.src_desc(), ctx.forward);
  memory w_user = ctx.over_params(w_plain, op.param_offset);
  memory w = ctx.weights_as(w_user, fpd.weights_desc(), ctx.weights_forward);
  memory dst = ctx.alloc(fpd.dst_desc());
  Step step{dnnl::convolution_forward(fpd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}}, {}};
  if (L.bias) step.args[DNNL_ARG_BIAS] = ctx.over_params(b_md, op.param_offset + w_count);
  ctx.forward.push_back(std::move(step));
  ctx.define(out, dst);
  if (!ctx.training()) return;

  ctx.backward_builders.push_back([&ctx, op, is, os, w_plain, w_any, b_md, w_count, strides, pad,
                                   alg, fpd, w_user, w] {
    const bool bias = op.layer.bias;
    const int in = op.inputs[0];
    const int out = op.output;
    Steps& bs = ctx.backward;

    // Weights (and bias) gradient.
    const auto wd = bias ? dnnl::convolution_backward_weights::desc(alg, ctx.any(is), w_any, b_md,
                                                                   ctx.any(os), strides, pad, pad)
                         : dnnl::convolution_backward_weights::desc(alg, ctx.any(is), w_any,
                                                                   ctx.any(os), strides, pad, pad);
    const dnnl::convolution_backward_weights::primitive_desc wpd(wd, ctx.eng, fpd);
    memory src_w = ctx.value_as(in, wpd.src_desc(), bs);
    memory ddst_w = ctx.grad_as(out, wpd.diff_dst_desc(), bs);
    memory dw_user = ctx.over_grads(w_plain, op.param_offset);
    const bool dw_plain = wpd.diff_weights_desc() == w_plain;
    memory dw = dw_plain ? dw_user : ctx.alloc(wpd.diff_weights_desc());
    Step ws{dnnl::convolution_backward_weights(wpd),
            {{DNNL_ARG_SRC, src_w}, {DNNL_ARG_DIFF_DST, ddst_w}, {DNNL_ARG_DIFF_WEIGHTS, dw}}, {}};
    if (bias) ws.args[DNNL_ARG_DIFF_BIAS] = ctx.over_grads(b_md, op.param_offset + w_count);
    bs.push_back(std::move(ws));
    if (!dw_plain) bs.push_back(ctx.copy(dw, dw_user));

    // Data gradient; its weights are reordered once per backward pass when their layout
    // differs from the forward one.
    const dnnl::convolution_backward_data::desc dd(alg, ctx.any(is), w_any, ctx.any(os), strides, pad, pad);
    const dnnl::convolution_backward_data::primitive_desc dpd(dd, ctx.eng, fpd);
    memory ddst_d = ctx.grad_as(out, dpd.diff_dst_desc(), bs);
    memory wb = dpd.weights_desc() == fpd.weights_desc()
                    ? w
                    : ctx.weights_as(w_user, dpd.weights_desc(), ctx.weights_backward);
    Steps post;
    memory dsrc = ctx.grad_target(in, dpd.diff_src_desc(), post);
    bs.push_back(Step{dnnl::convolution_backward_data(dpd),
                      {{DNNL_ARG_DIFF_DST, ddst_d}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, dsrc}}, {}});
    bs.insert(bs.end(), post.begin(), post.end());
  });
}

void build_linear(Context& ctx, const codegen::Op& op) {
  const LayerRow& L = op.layer;
  const int in = op.inputs[0];
  const int out = op.output;
  const Shape is = ctx.tensors[std::size_t(in)].shape;
  const Shape os = ctx.tensors[std::size_t(out)].shape;

  // Source and weights 4-D (C x 1 x 1, so that a blocked producer needs no reorder),
  // destination 2-D (batch x Out), viewed as a plain 4-D tensor Out x 1 x 1.
  const memory::dims wdims{os.c, is.c, is.h, is.w};
  const memory::desc w_plain(wdims, dt::f32, tag::oihw);
  const memory::desc w_any(wdims, dt::f32, tag::any);
  const memory::desc b_md({os.c}, dt::f32, tag::x);
  const memory::desc dst2(memory::dims{ctx.batch, os.c}, dt::f32, tag::nc);
  const std::int64_t w_count = std::int64_t{os.c} * is.c * is.h * is.w;
  const prop_kind prop = ctx.training() ? prop_kind::forward_training : prop_kind::forward_inference;

  const auto fd = L.bias ? dnnl::inner_product_forward::desc(prop, ctx.any(is), w_any, b_md, dst2)
                         : dnnl::inner_product_forward::desc(prop, ctx.any(is), w_any, dst2);
  const dnnl::inner_product_forward::primitive_desc fpd(fd, ctx.eng);

  memory src = ctx.value_as(in, fpd.src_desc(), ctx.forward);
  memory w_user = ctx.over_params(w_plain, op.param_offset);
  memory w = ctx.weights_as(w_user, fpd.weights_desc(), ctx.weights_forward);
  memory dst = ctx.alloc(ctx.plain(os));
  Step step{dnnl::inner_product_forward(fpd),
            {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, ctx.view(dst, dst2)}}, {}};
  if (L.bias) step.args[DNNL_ARG_BIAS] = ctx.over_params(b_md, op.param_offset + w_count);
  ctx.forward.push_back(std::move(step));
  ctx.define(out, dst);
  if (!ctx.training()) return;

  ctx.backward_builders.push_back([&ctx, op, is, os, w_plain, w_any, b_md, dst2, w_count, fpd, w_user, w] {
    const bool bias = op.layer.bias;
    const int in = op.inputs[0];
    const int out = op.output;
    Steps& bs = ctx.backward;
    memory ddst = ctx.view(ctx.grad_as(out, ctx.plain(os), bs), dst2);

    const auto wd = bias ? dnnl::inner_product_backward_weights::desc(ctx.any(is), w_any, b_md, dst2)
                         : dnnl::inner_product_backward_weights::desc(ctx.any(is), w_any, dst2);
    const dnnl::inner_product_backward_weights::primitive_desc wpd(wd, ctx.eng, fpd);
    memory src_w = ctx.value_as(in, wpd.src_desc(), bs);
    memory dw_user = ctx.over_grads(w_plain, op.param_offset);
    const bool dw_plain = wpd.diff_weights_desc() == w_plain;
    memory dw = dw_plain ? dw_user : ctx.alloc(wpd.diff_weights_desc());
    Step ws{dnnl::inner_product_backward_weights(wpd),
            {{DNNL_ARG_SRC, src_w}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dw}}, {}};
    if (bias) ws.args[DNNL_ARG_DIFF_BIAS] = ctx.over_grads(b_md, op.param_offset + w_count);
    bs.push_back(std::move(ws));
    if (!dw_plain) bs.push_back(ctx.copy(dw, dw_user));

    const dnnl::inner_product_backward_data::desc dd(ctx.any(is), w_any, dst2);
    const dnnl::inner_product_backward_data::primitive_desc dpd(dd, ctx.eng, fpd);
    memory wb = dpd.weights_desc() == fpd.weights_desc()
                    ? w
                    : ctx.weights_as(w_user, dpd.weights_desc(), ctx.weights_backward);
    Steps post;
    memory dsrc = ctx.grad_target(in, dpd.diff_src_desc(), post);
    bs.push_back(Step{dnnl::inner_product_backward_data(dpd),
                      {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, dsrc}}, {}});
    bs.insert(bs.end(), post.begin(), post.end());
  });
}

}  // namespace archetype::onednn::detail
