// Scale (squeeze-and-excitation's channel gating): y = x * g, g one value per image and
// channel. Forward: a oneDNN binary multiplication broadcasting g over H x W (in inference
// in x's own buffer when nothing after it reads x). Backward:
// dg = sum over H x W of dy * x (a binary multiplication, then an average pooling), and
// dx = dy * g (the forward's broadcast multiplication, in place in dy's buffer).
#include "context.hpp"

namespace archetype::onednn::detail {

using dnnl::algorithm;

void build_scale(Context& ctx, const codegen::Op& op) {
  const int x_t = op.inputs[0];
  const int g_t = op.inputs[1];
  const int out = op.output;
  const Shape gs = ctx.tensors[std::size_t(g_t)].shape;
  const memory::desc x_md = ctx.tensors[std::size_t(x_t)].md;
  const memory x = ctx.tensors[std::size_t(x_t)].mem;
  // N x C x 1 x 1, broadcast over H x W, in x's channel layout: oneDNN's optimized binary
  // and pooling kernels want both sides alike (with a plain gate over a blocked x, they
  // fall back to the reference ones: EfficientNet-B0 on an AVX2 CPU, whose direct
  // convolutions write nChw8c, spent 178 of 196 ms a batch-1 step in them). For a multiple
  // of 16 channels the four layouts are the same bytes, so the gate is read through a view
  // (Context::value_as).
  memory::desc g_md = ctx.plain_act(gs);
  const Shape xs = ctx.tensors[std::size_t(x_t)].shape;
  for (const tag t : {tag::nChw16c, tag::nChw8c, tag::nhwc}) {  // the first naming x's layout
    if (same_bytes(x_md, memory::desc(ctx.dims(xs), ctx.act(), t))) {
      g_md = memory::desc(ctx.dims(gs), ctx.act(), t);
      break;
    }
  }
  const memory g = ctx.value_as(g_t, g_md, ctx.forward);
  const dnnl::binary::desc fd(algorithm::binary_mul, x_md, g_md, x_md);
  const dnnl::binary::primitive_desc fpd(fd, ctx.eng);
  // Inference: in place in x's buffer where nothing after this op reads x or a view of it
  // (the squeeze, an average pooling of x, runs before it): the multiplication then
  // streams x once in and once out, and writes no new buffer (EfficientNet-B0, batch 32:
  // 20 -> 9 ms of a 238 ms step).
  const auto read_later = [&] {
    if (x_t == ctx.output || x_t == 0) return true;
    const auto x_buffer = ctx.buffer_of.find(x.get());
    if (x_buffer == ctx.buffer_of.end()) return true;  // not a pooled value: leave it
    for (std::size_t o = ctx.index(op) + 1; o < ctx.ops.size(); ++o) {
      const codegen::Op& later = ctx.ops[o];
      for (int i = 0; i < later.input_count; ++i) {
        const memory& m = ctx.tensors[std::size_t(later.inputs[i])].mem;
        if (later.inputs[i] == x_t) return true;
        if (!m) continue;
        const auto b = ctx.buffer_of.find(m.get());
        if (b != ctx.buffer_of.end() && b->second == x_buffer->second) return true;
      }
    }
    return false;
  };
  const bool in_place = !ctx.training() && x_md == fpd.dst_desc() && !read_later();
  memory y = in_place ? x : ctx.activation(fpd.dst_desc());
  ctx.forward.push_back(Step{dnnl::binary(fpd), {{DNNL_ARG_SRC_0, x}, {DNNL_ARG_SRC_1, g}, {DNNL_ARG_DST, y}}, {}});
  ctx.define(out, y);
  if (!ctx.training()) return;
  ctx.backward_builders.push_back([&ctx, x_t, g_t, out, x_md, g_md, x, g, fpd] {
    Steps& bs = ctx.backward;
    memory dy = ctx.grad_as(out, x_md, bs);
    if (ctx.needs_grad[std::size_t(g_t)]) {
      // dy * x * (H W), then averaged over H x W by a pooling: the sum. (oneDNN 2.6 has
      // its reduction for blocked layouts only as a reference kernel, ~100x slower.)
      const memory::dims xd = x_md.dims();
      memory product = ctx.scratch(x_md);
      dnnl::post_ops times_area;
      times_area.append_eltwise(1.f, algorithm::eltwise_linear, float(xd[2] * xd[3]), 0.f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(times_area);
      const dnnl::binary::desc pd(algorithm::binary_mul, x_md, x_md, x_md);
      bs.push_back(Step{dnnl::binary(dnnl::binary::primitive_desc(pd, attr, ctx.eng)),
                        {{DNNL_ARG_SRC_0, dy}, {DNNL_ARG_SRC_1, x}, {DNNL_ARG_DST, product}}, {}});
      const dnnl::pooling_forward::desc rd(dnnl::prop_kind::forward_inference, algorithm::pooling_avg_include_padding,
                                           x_md, g_md, {1, 1}, {xd[2], xd[3]}, {0, 0}, {0, 0});
      const dnnl::pooling_forward::primitive_desc rpd(rd, ctx.eng);
      Steps post;
      memory dg = ctx.grad_target(g_t, g_md, post);
      bs.push_back(Step{dnnl::pooling_forward(rpd), {{DNNL_ARG_SRC, product}, {DNNL_ARG_DST, dg}}, {}});
      bs.insert(bs.end(), post.begin(), post.end());
    }
    if (ctx.needs_grad[std::size_t(x_t)]) {
      Steps post;
      memory dx = ctx.grad_target(x_t, x_md, post, dy);
      bs.push_back(Step{dnnl::binary(fpd), {{DNNL_ARG_SRC_0, dy}, {DNNL_ARG_SRC_1, g}, {DNNL_ARG_DST, dx}}, {}});
      bs.insert(bs.end(), post.begin(), post.end());
    }
  });
}

}  // namespace archetype::onednn::detail
