// Convolution and Linear: oneDNN convolution / inner_product, forward, backward data and
// backward weights (bias included). Layouts are left to oneDNN (format_tag::any); the
// user-visible parameters and gradients stay plain (PyTorch order) and are reordered into
// or out of the primitives' layouts once per pass. With ConvAlgorithm::winograd / fastest,
// 3x3 stride-1 convolutions use Winograd (where oneDNN has it / where it measures faster;
// on a CPU without AVX-512, where oneDNN has none, our own: winograd.hpp).
#include "context.hpp"
#include "pointwise_depthwise.hpp"
#include "winograd.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace archetype::onednn::detail {

using dnnl::algorithm;
using dnnl::prop_kind;

namespace {

/// The algorithm of each pass: forward, backward data, backward weights.
using ConvChoice = std::array<algorithm, 3>;
constexpr ConvChoice all_direct{algorithm::convolution_direct, algorithm::convolution_direct,
                                algorithm::convolution_direct};
constexpr ConvChoice all_winograd{algorithm::convolution_winograd, algorithm::convolution_winograd,
                                  algorithm::convolution_winograd};

/// The three primitives of one convolution for one algorithm (backwards only in training).
struct ConvPds {
  dnnl::convolution_forward::primitive_desc fwd;
  dnnl::convolution_backward_data::primitive_desc bwd_data;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights;
  ConvChoice choice = all_direct;  ///< the algorithm of each pass
};

struct ConvGeometry {
  memory::desc src, weights, bias, dst;  // format_tag::any, bias x (or empty)
  memory::desc diff_weights;             // fp32 format_tag::any (weights may be bf16)
  memory::dims strides, pad;
  bool has_bias = false;
  dnnl::primitive_attr attr;  // inference: the folded chain's post-ops
  /// Source and destination in layouts fixed beforehand (Context::conv_layouts), not `any`.
  [[nodiscard]] bool fixed() const {
    return src.data.format_kind == dnnl_blocked && dst.data.format_kind == dnnl_blocked;
  }
};

/// Throws dnnl::error when oneDNN has no implementation of an algorithm for this geometry.
/// Passes of different algorithms agree on the layouts of values and gradients only where
/// these are fixed (`ConvGeometry::fixed`); only `choose_conv` mixes them, and only then.
ConvPds make_conv(const Context& ctx, const ConvGeometry& g, const ConvChoice& alg) {
  const prop_kind prop = ctx.training() ? prop_kind::forward_training : prop_kind::forward_inference;
  const auto fd = g.has_bias ? dnnl::convolution_forward::desc(prop, alg[0], g.src, g.weights, g.bias, g.dst,
                                                               g.strides, g.pad, g.pad)
                             : dnnl::convolution_forward::desc(prop, alg[0], g.src, g.weights, g.dst, g.strides,
                                                               g.pad, g.pad);
  ConvPds p;
  p.choice = alg;
  p.fwd = dnnl::convolution_forward::primitive_desc(fd, g.attr, ctx.eng);  // g.attr: user scratchpad
  if (!ctx.training()) return p;
  const dnnl::convolution_backward_data::desc dd(alg[1], g.src, g.weights, g.dst, g.strides, g.pad, g.pad);
  p.bwd_data = dnnl::convolution_backward_data::primitive_desc(dd, Context::user_scratchpad(), ctx.eng, p.fwd);
  const auto wd = g.has_bias ? dnnl::convolution_backward_weights::desc(alg[2], g.src, g.diff_weights, g.bias,
                                                                        g.dst, g.strides, g.pad, g.pad)
                             : dnnl::convolution_backward_weights::desc(alg[2], g.src, g.diff_weights, g.dst,
                                                                        g.strides, g.pad, g.pad);
  p.bwd_weights = dnnl::convolution_backward_weights::primitive_desc(wd, Context::user_scratchpad(), ctx.eng, p.fwd);
  return p;
}

/// Seconds each pass (forward, and both backwards in training; 0 for a pass not built)
/// takes, on zeroed scratch memory: the faster of two runs after one warm-up run.
std::array<double, 3> time_conv(const Context& ctx, const ConvPds& p) {
  // Its own pages, returned to the system at the end: malloc would keep these transient
  // tensors (tens of MB each) in its heap, and the process's peak resident memory with them.
  std::vector<std::shared_ptr<void>> pages;
  auto scratch = [&](const memory::desc& md) {
    const std::size_t bytes = md.get_size();
    if (bytes == 0) return memory(md, ctx.eng, nullptr);
    pages.push_back(Context::map_pages(bytes));
    return memory(md, ctx.eng, pages.back().get());
  };
  std::vector<std::pair<dnnl::primitive, std::unordered_map<int, memory>>> runs;
  runs.push_back({dnnl::convolution_forward(p.fwd),
                  {{DNNL_ARG_SRC, scratch(p.fwd.src_desc())},
                   {DNNL_ARG_WEIGHTS, scratch(p.fwd.weights_desc())},
                   {DNNL_ARG_BIAS, scratch(p.fwd.bias_desc())},
                   {DNNL_ARG_DST, scratch(p.fwd.dst_desc())},
                   {DNNL_ARG_SCRATCHPAD, scratch(p.fwd.scratchpad_desc())}}});
  if (ctx.training()) {
    runs.push_back({dnnl::convolution_backward_data(p.bwd_data),
                    {{DNNL_ARG_DIFF_DST, scratch(p.bwd_data.diff_dst_desc())},
                     {DNNL_ARG_WEIGHTS, scratch(p.bwd_data.weights_desc())},
                     {DNNL_ARG_DIFF_SRC, scratch(p.bwd_data.diff_src_desc())},
                     {DNNL_ARG_SCRATCHPAD, scratch(p.bwd_data.scratchpad_desc())}}});
    runs.push_back({dnnl::convolution_backward_weights(p.bwd_weights),
                    {{DNNL_ARG_SRC, scratch(p.bwd_weights.src_desc())},
                     {DNNL_ARG_DIFF_DST, scratch(p.bwd_weights.diff_dst_desc())},
                     {DNNL_ARG_DIFF_WEIGHTS, scratch(p.bwd_weights.diff_weights_desc())},
                     {DNNL_ARG_DIFF_BIAS, scratch(p.bwd_weights.diff_bias_desc())},
                     {DNNL_ARG_SCRATCHPAD, scratch(p.bwd_weights.scratchpad_desc())}}});
  }
  dnnl::stream stream(ctx.eng);
  std::array<double, 3> best{0, 0, 0};
  for (int rep = 0; rep < 3; ++rep) {
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      runs[i].first.execute(stream, runs[i].second);
      stream.wait();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (rep == 1 || (rep > 1 && seconds < best[i])) best[i] = seconds;  // rep 0: warm-up
    }
  }
  return best;
}

/// Whether oneDNN fell back to its reference (naive loop) kernel for one of the passes.
bool uses_reference(const Context& ctx, const ConvPds& p) {
  const auto ref = [](const auto& pd) { return reference_kernel(pd.impl_info_str()); };
  return ref(p.fwd) || (ctx.training() && (ref(p.bwd_data) || ref(p.bwd_weights)));
}

/// What makes two convolutions the same problem for ConvAlgorithm::fastest's timings: the
/// layouts (fixed blocked ones or oneDNN's choice), the folded chain, the geometry.
std::string geometry_key(const codegen::Op& op, bool fixed) {
  const LayerRow& L = op.layer;
  return std::string(fixed ? "blocked:" : "any:") + std::to_string(op.fusion.sum >= 0) +
         std::to_string(op.fusion.activated) + std::to_string(int(op.fusion.activation)) +
         std::to_string(L.in.c) + "x" + std::to_string(L.in.h) + "x" + std::to_string(L.in.w) +
         ">" + std::to_string(L.out.c) + "p" + std::to_string(L.pad_h) + "x" +
         std::to_string(L.pad_w) + (L.bias ? "b" : "");
}

/// The primitives for this convolution: direct, or for a 3x3 stride-1 ungrouped one
/// Winograd when asked for (ConvAlgorithm::winograd), or per pass whichever of the two
/// measured faster for this geometry (ConvAlgorithm::fastest, measured once per distinct
/// geometry; in training, forward, backward data and backward weights each choose).
ConvPds choose_conv(Context& ctx, const codegen::Op& op, const ConvGeometry& g) {
  const LayerRow& L = op.layer;
  const bool candidate =
      ctx.options.conv_algorithm != ConvAlgorithm::direct && winograd_candidate(L);
  if (!candidate) return make_conv(ctx, g, all_direct);
  if (ctx.options.conv_algorithm == ConvAlgorithm::winograd) {
    try {
      return make_conv(ctx, g, all_winograd);
    } catch (const dnnl::error&) {  // no Winograd implementation for this geometry
      return make_conv(ctx, g, all_direct);
    }
  }
  const bool fixed = g.fixed();
  const std::string key = geometry_key(op, fixed);
  auto known = ctx.conv_choices.find(key);
  if (known != ctx.conv_choices.end()) return make_conv(ctx, g, known->second);
  ConvPds chosen = make_conv(ctx, g, all_direct);
  ConvChoice choice = all_direct;
  try {
    const ConvPds winograd = make_conv(ctx, g, all_winograd);
    const std::array<double, 3> tw = time_conv(ctx, winograd);
    const std::array<double, 3> td = time_conv(ctx, chosen);
    // Passes may mix algorithms only where the layouts of values and gradients are fixed
    // (Context::conv_layouts); left to oneDNN, each algorithm's primitives pick their own, and
    // the layer takes one algorithm for all three.
    if (fixed) {
      for (std::size_t i = 0; i < 3; ++i) {
        if (tw[i] < td[i]) choice[i] = algorithm::convolution_winograd;
      }
    } else if (tw[0] + tw[1] + tw[2] < td[0] + td[1] + td[2]) {
      choice = all_winograd;
    }
  } catch (const dnnl::error&) {  // no Winograd implementation for this geometry
  }
  if (choice != all_direct) {
    try {
      chosen = make_conv(ctx, g, choice);
    } catch (const dnnl::error&) {  // oneDNN refused this mix: the layer stays direct
      choice = all_direct;
    }
  }
  ctx.conv_choices[key] = choice;
  return chosen;
}

/// A convolution's parameters as its forward primitive reads them (plain, PyTorch order):
/// the executable's own, or with a folded BatchNorm (Fusion::batch_norm) W' = s W,
/// b' = s (b - mean) + beta with s = gamma / sqrt(var + eps), recomputed from them by steps
/// of `weights_forward` (`weights`: the folded bias is kept, the folded weights only in the
/// primitive's layout).
struct ConvParams {
  memory::desc w_plain, b_md;
  std::int64_t w_count = 0;
  bool bias = false;  ///< the primitive takes a bias (its own, or the folded BatchNorm's)
  memory w, b;        ///< the parameters' weights (unfolded); b: the bias (folded), empty without
  std::function<void(float*)> fold;  ///< with a folded BatchNorm: writes W' (plain) there
};

ConvParams conv_params(Context& ctx, const codegen::Op& op) {
  const LayerRow& L = op.layer;
  const Shape is = ctx.tensors[std::size_t(op.inputs[0])].shape;
  const Shape os = ctx.tensors[std::size_t(op.output)].shape;
  const int g = L.groups;
  const bool fold_bn = op.fusion.batch_norm >= 0;
  const memory::dims wdims = g == 1 ? memory::dims{os.c, is.c, L.kernel_h, L.kernel_w}
                                    : memory::dims{g, os.c / g, is.c / g, L.kernel_h, L.kernel_w};
  ConvParams p{memory::desc(wdims, dt::f32, g == 1 ? tag::oihw : tag::goihw),
               memory::desc({os.c}, dt::f32, tag::x),
               std::int64_t{os.c} * (is.c / g) * L.kernel_h * L.kernel_w,
               L.bias || fold_bn,
               {},
               {},
               {}};
  p.w = ctx.over_params(p.w_plain, op.param_offset);
  if (L.bias) p.b = ctx.over_params(p.b_md, op.param_offset + p.w_count);
  if (!fold_bn) return p;
  const codegen::Op& bn = ctx.ops[std::size_t(op.fusion.batch_norm)];
  memory b_folded = ctx.alloc(p.b_md);
  const float* gamma = ctx.params + bn.param_offset;
  const float* beta = gamma + os.c;
  const float* mean = ctx.buffers + bn.buffer_offset;
  const float* var = mean + os.c;
  const float* w0 = data(p.w);
  const float* b0 = L.bias ? data(p.b) : nullptr;
  const double eps = ctx.options.batch_norm_epsilon;
  const std::int64_t per_channel = p.w_count / os.c;
  const int channels = os.c;
  const auto scale = [=](int c) { return double(gamma[c]) / std::sqrt(double(var[c]) + eps); };
  ctx.weights_forward.push_back(
      Step{{}, {}, [=] {
             float* b1 = data(b_folded);
             for (int c = 0; c < channels; ++c) {
               b1[c] = float(scale(c) * ((b0 != nullptr ? b0[c] : 0.0) - mean[c]) + beta[c]);
             }
           }});
  p.fold = [=](float* w1) {
    for (int c = 0; c < channels; ++c) {
      const float sf = float(scale(c));
      for (std::int64_t i = 0; i < per_channel; ++i)
        w1[c * per_channel + i] = w0[c * per_channel + i] * sf;
    }
  };
  p.b = b_folded;
  return p;
}

/// The forward primitive's weights in layout `md`: the parameters themselves, or a copy
/// reordered once per update (Context::weights_as); with a folded BatchNorm, a copy that a
/// step of `weights_forward` writes by folding into a temporary plain block and reordering
/// it (the plain folded block is not kept: ResNet-50 holds 100 MB less).
memory conv_weights(Context& ctx, const ConvParams& p, const memory::desc& md) {
  if (!p.fold) return ctx.weights_as(p.w, md, ctx.weights_forward);
  memory w = ctx.alloc(md);
  const auto fold = p.fold;
  if (md == p.w_plain) {
    ctx.weights_forward.push_back(Step{{}, {}, [fold, w] { fold(data(w)); }});
    return w;
  }
  const memory::desc plain = p.w_plain;
  const dnnl::engine eng = ctx.eng;
  ctx.weights_forward.push_back(Step{{}, {}, [fold, w, plain, eng]() mutable {
                                       memory folded(plain, eng);  // freed at the end of the step
                                       fold(data(folded));
                                       dnnl::stream stream(eng);
                                       dnnl::reorder(folded, w).execute(stream, folded, w);
                                       stream.wait();
                                     }});
  return w;
}

/// Inference: the 1x1 convolution chain `op` and the depthwise chain after it
/// (Fusion::depthwise) as one oneDNN convolution with the depthwise post-op (`append_dw`):
/// the 1x1 chain's result is computed a few rows at a time and never stored. Records nothing
/// and returns false where oneDNN has no kernel of its own for the pair (its composed
/// fallback, `ref_fused_convolution`, only runs the two primitives one after the other).
bool build_pointwise_depthwise(Context& ctx, const codegen::Op& op) {
  const codegen::Op& dw = ctx.ops[std::size_t(op.fusion.depthwise)];
  const int in = op.inputs[0];
  const Shape is = ctx.tensors[std::size_t(in)].shape;
  const Shape ms = ctx.tensors[std::size_t(op.output)].shape;
  const Shape os = ctx.tensors[std::size_t(dw.output)].shape;
  const memory::desc w_any({ms.c, is.c, 1, 1}, ctx.act(), tag::any);
  const memory::desc b_md({ms.c}, dt::f32, tag::x);
  // Blocked (nChw16c, or nChw8c without AVX-512): oneDNN 2.6's fused kernel (jit_1x1 with a
  // depthwise post-op) takes no other layout for its own, and computes wrong values over
  // channels-last tensors (every element off, tests/backends/onednn/depthwise_fusion_test.cpp):
  // where neighbours are channels-last, a reorder runs on each side of the pair.
  const memory::desc src_md(ctx.dims(is), ctx.act(), blocked_tag());
  const memory::desc mid_md(ctx.dims(ms), ctx.act(), blocked_tag());
  dnnl::post_ops po;
  Context::append_activation(po, op);
  po.append_dw(ctx.act(), dt::f32, ctx.act(), dw.layer.kernel_h, dw.layer.stride_h, dw.layer.pad_h,
               0, {});
  const bool silu_after = ctx.silu_after(dw);  // the one between the two stays a post-op
  if (!silu_after) Context::append_activation(po, dw);
  dnnl::primitive_attr attr = Context::user_scratchpad();
  attr.set_post_ops(po);
  dnnl::convolution_forward::primitive_desc fpd;
  try {
    // Always with a bias (zeros where the 1x1 has none): oneDNN 2.6's fused kernel
    // crashes without one.
    const dnnl::convolution_forward::desc fd(prop_kind::forward_inference,
                                             algorithm::convolution_direct, src_md, w_any, b_md,
                                             mid_md, {1, 1}, {0, 0}, {0, 0});
    fpd = dnnl::convolution_forward::primitive_desc(fd, attr, ctx.eng);
  } catch (const dnnl::error&) {
    return false;
  }
  if (reference_kernel(fpd.impl_info_str())) return false;

  const ConvParams pw = conv_params(ctx, op);
  const ConvParams dp = conv_params(ctx, dw);
  memory src = ctx.value_as(in, fpd.src_desc(), ctx.forward);
  memory w = conv_weights(ctx, pw, fpd.weights_desc());
  const int dw_arg = DNNL_ARG_ATTR_POST_OP_DW;
  memory dw_w =
      conv_weights(ctx, dp, fpd.query_md(dnnl::query::exec_arg_md, dw_arg | DNNL_ARG_WEIGHTS));
  const auto zeros = [&ctx](const memory::desc& md, int n) {
    memory m = ctx.alloc(md);
    std::fill_n(data(m), n, 0.f);
    return m;
  };
  const memory pw_b = pw.bias ? pw.b : zeros(pw.b_md, ms.c);
  const memory dw_b = dp.bias ? dp.b : zeros(dp.b_md, os.c);  // the post-op always adds one
  memory dst = ctx.activation(fpd.dst_desc());
  Step step{dnnl::convolution_forward(fpd),
            {{DNNL_ARG_SRC, src},
             {DNNL_ARG_WEIGHTS, w},
             {DNNL_ARG_BIAS, pw_b},
             {DNNL_ARG_DST, dst},
             {dw_arg | DNNL_ARG_WEIGHTS, dw_w},
             {dw_arg | DNNL_ARG_BIAS, dw_b}},
            {}};
  ctx.forward.push_back(std::move(step));
  if (silu_after) ctx.forward.push_back(Context::silu_step(dst));
  ctx.define_chain(dw, dst);
  ++ctx.depthwise_fusions;
  return true;
}

/// The working memory our kernels share (Context::kernel_scratch), grown to `floats` at
/// least.
std::shared_ptr<std::vector<float>> kernel_scratch(Context& ctx, std::int64_t floats) {
  if (ctx.kernel_scratch->size() < std::size_t(floats))
    ctx.kernel_scratch->resize(std::size_t(floats));
  return ctx.kernel_scratch;
}

/// Our kernel's activation for what a folded chain ends in; false where it has none.
bool own_activation(const codegen::Op& head, Activation& a) {
  if (head.fusion.sum >= 0) return false;
  if (!head.fusion.activated) {
    a = Activation::none;
    return true;
  }
  switch (head.fusion.activation) {
    case LayerKind::relu:
      a = Activation::relu;
      return true;
    case LayerKind::relu6:
      a = Activation::relu6;
      return true;
    case LayerKind::silu:
      a = Activation::silu;
      return true;
    default:
      return false;
  }
}

/// Inference: the 1x1 convolution chain `op` and the depthwise chain after it as our own
/// kernel (pointwise_depthwise.hpp, Options::own_depthwise_pairs), reading the source in
/// its layout where that is channels-last or nChw16c, writing the plan's layout. Records
/// nothing and returns false where the kernel does not apply.
bool build_own_pair(Context& ctx, const codegen::Op& op) {
  const codegen::Op& dw = ctx.ops[std::size_t(op.fusion.depthwise)];
  Activation first = Activation::none, second = Activation::none;
  if (!ctx.options.own_depthwise_pairs || ctx.training() || ctx.act() != dt::f32 ||
      !own_activation(op, first) || !own_activation(dw, second)) {
    return false;
  }
  const int in = op.inputs[0];
  const Shape is = ctx.tensors[std::size_t(in)].shape;
  const Shape ms = ctx.tensors[std::size_t(op.output)].shape;
  const Shape os = ctx.tensors[std::size_t(dw.output)].shape;
  const LayerRow& L = dw.layer;
  PointwiseDepthwise g{.batch = ctx.batch,
                       .in_channels = is.c,
                       .channels = ms.c,
                       .height = ms.h,
                       .width = ms.w,
                       .kernel = L.kernel_h,
                       .stride = L.stride_h,
                       .pad = L.pad_h,
                       .first = first,
                       .second = second};
  if (L.kernel_w != L.kernel_h || L.stride_w != L.stride_h || L.pad_w != L.pad_h ||
      g.out_height() != os.h || g.out_width() != os.w || os.c != ms.c ||
      !pointwise_depthwise_available(g)) {
    return false;
  }
  // The source as it is where the kernel reads that layout (no reorder), else channels-last.
  const auto layout = [&ctx](Shape s, tag t) { return memory::desc(ctx.dims(s), dt::f32, t); };
  const bool src_blocked = ctx.tensors[std::size_t(in)].md == layout(is, tag::nChw16c);
  memory src = ctx.value_as(in, layout(is, src_blocked ? tag::nChw16c : tag::nhwc), ctx.forward);
  const bool dst_blocked = ctx.blocked_layout();
  if (dst_blocked && blocked_tag() != tag::nChw16c) return false;  // its blocks: 16 channels
  memory dst = ctx.activation(layout(os, dst_blocked ? tag::nChw16c : tag::nhwc));
  g.set_layouts(src_blocked, dst_blocked);

  // The weights (BatchNorm folded in) packed by a step of weights_forward, the biases
  // (zeros where a chain has none) as conv_params gives them.
  const ConvParams pw = conv_params(ctx, op);
  const ConvParams dp = conv_params(ctx, dw);
  const auto floats = [&ctx](std::int64_t n) {
    return ctx.alloc(memory::desc({n}, dt::f32, tag::x));
  };
  const auto bias = [&](const ConvParams& p, int n) {
    if (p.bias) return p.b;
    memory m = floats(n);
    std::fill_n(data(m), n, 0.f);
    return m;
  };
  const memory b1 = bias(pw, ms.c), b2 = bias(dp, os.c);
  const memory packed1 = floats(pw.w_count), packedd = floats(dp.w_count);
  const auto plain = [](const ConvParams& p) {
    return [p](std::vector<float>& tmp) -> const float* {
      if (!p.fold) return data(p.w);
      tmp.resize(std::size_t(p.w_count));
      p.fold(tmp.data());
      return tmp.data();
    };
  };
  ctx.weights_forward.push_back(Step{{}, {}, [g, w1 = plain(pw), wd = plain(dp), packed1, packedd] {
                                       std::vector<float> t1, td;
                                       pack_pointwise_depthwise(g, w1(t1), wd(td), data(packed1),
                                                                data(packedd));
                                     }});
  const int threads = ctx.threads();
  auto scratch = kernel_scratch(ctx, pointwise_depthwise_scratch(g) * threads);
  ctx.forward.push_back(Step{{}, {}, [=] {
                               pointwise_depthwise(g, data(src), data(packed1), data(b1),
                                                   data(packedd), data(b2), data(dst),
                                                   scratch->data(), threads);
                             }});
  ctx.define_chain(dw, dst);
  ++ctx.depthwise_fusions;
  return true;
}

/// Seconds `run` takes: the faster of two runs after a warm-up (as `time_conv`).
double best_seconds(const std::function<void()>& run) {
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    run();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rep == 1 || (rep > 1 && seconds < best)) best = seconds;  // rep 0: warm-up
  }
  return best;
}

/// `n` floats of pages of their own (returned to the system when released), written first:
/// read untouched, pages would all be the system's one zero page, always in the cache, and
/// U (4x the weights: 38 MB for 512 channels each side) would time as if it never left it
/// (ResNet-18-CIFAR at batch 1: 0.41 against 0.85 ms at 512 channels, where with U in
/// memory the kernel takes twice direct's).
std::shared_ptr<void> filled_pages(std::size_t n) {
  auto p = Context::map_pages(n * sizeof(float));
  std::fill_n(static_cast<float*>(p.get()), n, 1e-3f);
  return p;
}

float* floats(const std::shared_ptr<void>& p) { return static_cast<float*>(p.get()); }

/// Seconds our Winograd kernel takes for `w`, from `src` to `dst`.
double time_own_winograd(const Context& ctx, const Winograd3x3& w, const memory::desc& src,
                         const memory::desc& dst) {
  const int threads = ctx.threads();
  const auto x = filled_pages(src.get_size() / sizeof(float)),
             y = Context::map_pages(dst.get_size());
  const auto u = filled_pages(std::size_t(winograd_weights_floats(w)));
  const auto bias = filled_pages(std::size_t(w.out_channels));
  const auto scratch = filled_pages(std::size_t(winograd_scratch(w, threads)));
  return best_seconds([&] {
    winograd(w, floats(x), floats(u), floats(bias), floats(y), floats(scratch), threads);
  });
}

/// Seconds our Winograd weights gradient takes for `w` (source `src`, output gradient `dst`).
double time_own_winograd_gradient(const Context& ctx, const Winograd3x3& w, const memory::desc& src,
                                  const memory::desc& dst) {
  const int threads = ctx.threads();
  const auto x = filled_pages(src.get_size() / sizeof(float));
  const auto dy = filled_pages(dst.get_size() / sizeof(float));
  const auto dw = filled_pages(std::size_t(w.out_channels) * std::size_t(w.in_channels) * 9);
  const auto db = filled_pages(std::size_t(w.out_channels));
  const auto scratch = filled_pages(std::size_t(winograd_gradient_scratch(w)));
  return best_seconds([&] {
    winograd_weights_gradient(w, floats(x), floats(dy), floats(dw), floats(db), floats(scratch),
                              threads);
  });
}

/// Our Winograd kernel's geometry (winograd.hpp, Options::own_winograd) for the convolution
/// chain `op` over the nChw8c values of `g` (a plan blocked by 8 channels: a CPU without
/// AVX-512), in fp32; with `backward_data`, for its data gradient instead (training, pad 1:
/// dx = dy convolved with the weights transposed and flipped, pad 1). Empty where the
/// kernel does not apply (an activation other than ReLU, other layouts, ...).
std::optional<Winograd3x3> own_winograd_geometry(const Context& ctx, const codegen::Op& op,
                                                 const ConvGeometry& g, bool backward_data) {
  const LayerRow& L = op.layer;
  const codegen::Fusion& fusion = op.fusion;  // inference only
  if (!ctx.options.own_winograd || ctx.act() != dt::f32 || !winograd_candidate(L) ||
      L.pad_h != L.pad_w || blocked_tag() != tag::nChw8c ||
      (fusion.activated && fusion.activation != LayerKind::relu) || ctx.silu_after(op) ||
      (backward_data && L.pad_h != 1)) {
    return std::nullopt;
  }
  const Shape is = ctx.tensors[std::size_t(op.inputs[0])].shape;
  const Shape os = ctx.tensors[std::size_t(op.output)].shape;
  const auto blocked = [&ctx](Shape s) { return memory::desc(ctx.dims(s), dt::f32, tag::nChw8c); };
  if (g.src != blocked(is) || g.dst != blocked(os)) return std::nullopt;
  const Shape from = backward_data ? os : is, to = backward_data ? is : os;
  const Winograd3x3 w{.batch = ctx.batch,
                      .in_channels = from.c,
                      .out_channels = to.c,
                      .height = from.h,
                      .width = from.w,
                      .pad = L.pad_h,
                      .sum = !backward_data && fusion.sum >= 0,
                      .relu = !backward_data && fusion.activated};
  if (!winograd_available(w) || w.out_height() != to.h || w.out_width() != to.w) {
    return std::nullopt;
  }
  return w;
}

/// Whether a pass (`key`) runs our kernel: always under ConvAlgorithm::winograd; under
/// fastest where `own_seconds()` measured less than oneDNN's `direct_seconds()` for the
/// pass (once per key).
bool own_winograd_chosen(Context& ctx, const std::string& key,
                         const std::function<double()>& own_seconds,
                         const std::function<double()>& direct_seconds) {
  if (ctx.options.conv_algorithm == ConvAlgorithm::winograd) return true;
  if (ctx.options.conv_algorithm != ConvAlgorithm::fastest) return false;
  auto known = ctx.own_winograd_choices.find(key);
  if (known == ctx.own_winograd_choices.end()) {
    known = ctx.own_winograd_choices.emplace(key, own_seconds() < direct_seconds()).first;
  }
  return known->second;
}

/// Seconds our kernel `w` takes from `src` to `dst`, weighed by the memory its U keeps:
/// where U takes more than 16 MB (38 MB at 512 channels each side), the kernel must run 2x
/// faster to be worth it. ResNet-50 at batch 1: its 512-channel layers ran 1.46x faster
/// (2.8 -> 1.9 ms each) for 75 MB more RSS.
std::function<double()> own_winograd_cost(const Context& ctx, const Winograd3x3& w,
                                          const memory::desc& src, const memory::desc& dst) {
  return [&ctx, w, src, dst] {
    const bool large = winograd_weights_floats(w) * std::int64_t{sizeof(float)} > (16 << 20);
    return time_own_winograd(ctx, w, src, dst) * (large ? 2.0 : 1.0);
  };
}

/// The forward step of the convolution chain `op` as our kernel `w` over `g`'s layouts:
/// U = G w G^T packed by a step of weights_forward from the weights (BatchNorm folded in).
void build_own_winograd(Context& ctx, const codegen::Op& op, const Winograd3x3& w,
                        const ConvGeometry& g, const ConvParams& params) {
  const codegen::Fusion& fusion = op.fusion;
  memory src = ctx.value_as(op.inputs[0], g.src, ctx.forward);
  // An in-place residual sum: the kernel adds the summand's values it overwrites.
  memory dst =
      fusion.sum >= 0 ? ctx.value_as(fusion.sum, g.dst, ctx.forward) : ctx.activation(g.dst);
  memory u = ctx.alloc(memory::desc({winograd_weights_floats(w)}, dt::f32, tag::x));
  ctx.weights_forward.push_back(Step{{}, {}, [w, params, u] {
                                       std::vector<float> folded;
                                       const float* plain = data(params.w);
                                       if (params.fold) {
                                         folded.resize(std::size_t(params.w_count));
                                         params.fold(folded.data());
                                         plain = folded.data();
                                       }
                                       pack_winograd(w, plain, data(u));
                                     }});
  const memory bias = params.bias ? params.b : memory();
  const int threads = ctx.threads();
  auto scratch = kernel_scratch(ctx, winograd_scratch(w, threads));
  ctx.forward.push_back(Step{{}, {}, [=] {
                               winograd(w, data(src), data(u), bias ? data(bias) : nullptr,
                                        data(dst), scratch->data(), threads);
                             }});
  ctx.define_chain(op, dst);
}

/// Training: the data gradient's step of a convolution as our kernel `w`
/// (own_winograd_geometry with backward_data), reading d(out) and writing d(in) in `g`'s
/// layouts. Its U (from the weights transposed and flipped) is packed right before it into
/// a pooled buffer, live during this op's backward steps only (Context::scratch).
void build_own_winograd_backward_data(Context& ctx, const codegen::Op& op, const Winograd3x3& w,
                                      const ConvGeometry& g, const memory& w_user) {
  Steps& bs = ctx.backward;
  memory ddst = ctx.grad_as(op.output, g.dst, bs);
  Steps post;
  memory dsrc = ctx.grad_target(op.inputs[0], g.src, post);
  memory u = ctx.scratch(memory::desc({winograd_weights_floats(w)}, dt::f32, tag::x));
  const int threads = ctx.threads();
  auto scratch = kernel_scratch(ctx, winograd_scratch(w, threads));
  bs.push_back(Step{{}, {}, [w, w_user, u] {
                      // The forward's weights [K][C][3][3] as [C][K][3][3], each 3x3 turned
                      // by 180 degrees (w.in_channels = K, w.out_channels = C).
                      pack_winograd(w, data(w_user), data(u), true);
                    }});
  bs.push_back(Step{{}, {}, [=] {
                      winograd(w, data(ddst), data(u), nullptr, data(dsrc), scratch->data(),
                               threads);
                    }});
  bs.insert(bs.end(), post.begin(), post.end());
}

/// Training: the weights (and bias) gradient's step of a convolution as our kernel `w`
/// (winograd_weights_gradient), reading the source and d(out) in `g`'s layouts and writing
/// the plain gradients where the optimizer reads them.
void build_own_winograd_weights_gradient(Context& ctx, const codegen::Op& op, const Winograd3x3& w,
                                         const ConvGeometry& g, const memory::desc& w_plain,
                                         const memory::desc& b_md, std::int64_t w_count) {
  Steps& bs = ctx.backward;
  memory src = ctx.value_as(op.inputs[0], g.src, bs);
  memory ddst = ctx.grad_as(op.output, g.dst, bs);
  memory dw = ctx.over_grads(w_plain, op.param_offset);
  memory db = op.layer.bias ? ctx.over_grads(b_md, op.param_offset + w_count) : memory();
  const int threads = ctx.threads();
  auto scratch = kernel_scratch(ctx, winograd_gradient_scratch(w));
  bs.push_back(Step{{}, {}, [=] {
                      winograd_weights_gradient(w, data(src), data(ddst), data(dw),
                                                db ? data(db) : nullptr, scratch->data(), threads);
                    }});
}

void build_conv_alone(Context& ctx, const codegen::Op& op);

}  // namespace

void build_conv(Context& ctx, const codegen::Op& op) {
  if (op.fusion.depthwise >= 0) {
    // oneDNN's fused kernel runs only over blocked values (Options::fuse_depthwise), and
    // there ties or wins on pairs without SiLU (MobileNetV2's ReLU6); ours takes the others.
    const auto silu = [](const codegen::Op& head) {
      return head.fusion.activated && head.fusion.activation == LayerKind::silu;
    };
    const bool onednn_first =
        ctx.blocked_layout() && !silu(op) && !silu(ctx.ops[std::size_t(op.fusion.depthwise)]);
    if (onednn_first && build_pointwise_depthwise(ctx, op)) return;
    if (build_own_pair(ctx, op)) return;
    if (!onednn_first && ctx.blocked_layout() && build_pointwise_depthwise(ctx, op)) return;
  }
  build_conv_alone(ctx, op);
  // The depthwise convolution that could not be fused: built now, in its place.
  if (op.fusion.depthwise >= 0) build_conv_alone(ctx, ctx.ops[std::size_t(op.fusion.depthwise)]);
}

namespace {

void build_conv_alone(Context& ctx, const codegen::Op& op) {
  const LayerRow& L = op.layer;
  const codegen::Fusion& fusion = op.fusion;  // inference only
  const int in = op.inputs[0];
  const Shape is = ctx.tensors[std::size_t(in)].shape;
  const Shape os = ctx.tensors[std::size_t(op.output)].shape;
  const auto [src_md, dst_md] = ctx.conv_layouts(is, os);
  const bool silu_after = ctx.silu_after(op);
  ConvParams params = conv_params(ctx, op);
  const memory::desc w_plain = params.w_plain;
  const memory::desc b_md = params.b_md;
  const std::int64_t w_count = params.w_count;
  const bool bias = params.bias;
  ConvGeometry geometry{src_md,
                        memory::desc(w_plain.dims(), ctx.act(), tag::any),
                        bias ? b_md : memory::desc(),
                        dst_md,
                        memory::desc(w_plain.dims(), ctx.act(), tag::any),
                        {L.stride_h, L.stride_w},
                        {L.pad_h, L.pad_w},
                        bias,
                        Context::user_scratchpad(Context::post_ops(op, !silu_after))};
  ConvPds pds = choose_conv(ctx, op, geometry);
  if (geometry.fixed() && uses_reference(ctx, pds)) {
    // No optimized kernel takes the blocked layout for this geometry: let oneDNN choose.
    geometry.src = ctx.any(is);
    geometry.dst = ctx.any(os);
    pds = choose_conv(ctx, op, geometry);
  }
  // Our Winograd kernel for the forward and (training) the data gradient, where it applies
  // and is chosen; oneDNN's direct times measured once for both choices.
  const std::string key = geometry_key(op, true);
  std::optional<std::array<double, 3>> direct_times;
  const auto direct = [&](std::size_t pass) {
    return [&, pass] {
      if (!direct_times) direct_times = time_conv(ctx, pds);
      return (*direct_times)[pass];
    };
  };
  std::optional<Winograd3x3> own_fwd = own_winograd_geometry(ctx, op, geometry, false);
  if (own_fwd && !own_winograd_chosen(ctx, "forward:" + key,
                                      own_winograd_cost(ctx, *own_fwd, geometry.src, geometry.dst),
                                      direct(0))) {
    own_fwd.reset();
  }
  std::optional<Winograd3x3> own_bwd;
  if (ctx.training() && ctx.needs_grad[std::size_t(in)]) {
    own_bwd = own_winograd_geometry(ctx, op, geometry, true);
    if (own_bwd && !own_winograd_chosen(
                       ctx, "backward data:" + key,
                       own_winograd_cost(ctx, *own_bwd, geometry.dst, geometry.src), direct(1))) {
      own_bwd.reset();
    }
  }
  // The weights gradient: its dU is transient scratch (Context::kernel_scratch), so no
  // weighing by memory.
  std::optional<Winograd3x3> own_dw;
  if (ctx.training() && ctx.weight_gradient(op)) {
    own_dw = own_winograd_geometry(ctx, op, geometry, false);
    if (own_dw) own_dw->sum = own_dw->relu = false;
    if (own_dw &&
        !own_winograd_chosen(
            ctx, "backward weights:" + key,
            [&] { return time_own_winograd_gradient(ctx, *own_dw, geometry.src, geometry.dst); },
            direct(2))) {
      own_dw.reset();
    }
  }
  const auto winograd = [](algorithm a) { return a == algorithm::convolution_winograd; };
  if (own_fwd || own_bwd || own_dw || winograd(pds.choice[0]) ||
      (ctx.training() && (winograd(pds.choice[1]) || winograd(pds.choice[2])))) {
    ++ctx.winograd_convolutions;
  }
  const auto& fpd = pds.fwd;
  memory w_user = params.w;
  memory b_user = params.b;
  memory w;  // the weights in the forward primitive's layout (none where ours runs it)
  if (own_fwd) {
    build_own_winograd(ctx, op, *own_fwd, geometry, params);
  } else {
    memory src = ctx.value_as(in, fpd.src_desc(), ctx.forward);
    w = conv_weights(ctx, params, fpd.weights_desc());
    // An in-place residual sum writes into the summand's buffer (dead after this op).
    memory dst = fusion.sum >= 0 ? ctx.value_as(fusion.sum, fpd.dst_desc(), ctx.forward)
                                 : ctx.activation(fpd.dst_desc());
    Step step{dnnl::convolution_forward(fpd),
              {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}},
              {}};
    if (bias) step.args[DNNL_ARG_BIAS] = b_user;
    ctx.forward.push_back(std::move(step));
    if (silu_after) ctx.forward.push_back(Context::silu_step(dst));
    ctx.define_chain(op, dst);
  }
  if (!ctx.training()) return;

  ctx.backward_builders.push_back([&ctx, op, w_plain, b_md, w_count, pds, w_user, w, own_bwd,
                                   own_dw, geometry] {
    const bool bias = op.layer.bias;
    const int in = op.inputs[0];
    const int out = op.output;
    Steps& bs = ctx.backward;

    // Weights (and bias) gradient, unless the layer is frozen.
    if (own_dw) {
      build_own_winograd_weights_gradient(ctx, op, *own_dw, geometry, w_plain, b_md, w_count);
    } else if (ctx.weight_gradient(op)) {
      const auto& wpd = pds.bwd_weights;
      memory src_w = ctx.value_as(in, wpd.src_desc(), bs);
      memory ddst_w = ctx.grad_as(out, wpd.diff_dst_desc(), bs);
      memory dw_user = ctx.over_grads(w_plain, op.param_offset);
      const bool dw_plain = wpd.diff_weights_desc() == w_plain;
      memory dw = dw_plain ? dw_user : ctx.scratch(wpd.diff_weights_desc());
      Step ws{dnnl::convolution_backward_weights(wpd),
              {{DNNL_ARG_SRC, src_w}, {DNNL_ARG_DIFF_DST, ddst_w}, {DNNL_ARG_DIFF_WEIGHTS, dw}},
              {}};
      if (bias) ws.args[DNNL_ARG_DIFF_BIAS] = ctx.over_grads(b_md, op.param_offset + w_count);
      bs.push_back(std::move(ws));
      if (!dw_plain) bs.push_back(ctx.copy(dw, dw_user));
    }

    // Data gradient (unless nothing upstream needs it); its weights are reordered once per
    // backward pass, right before it into a pooled buffer, when their layout differs from
    // the forward one.
    if (!ctx.needs_grad[std::size_t(in)]) return;
    if (own_bwd) {
      build_own_winograd_backward_data(ctx, op, *own_bwd, geometry, w_user);
      return;
    }
    const auto& dpd = pds.bwd_data;
    memory ddst_d = ctx.grad_as(out, dpd.diff_dst_desc(), bs);
    memory wb = w && dpd.weights_desc() == pds.fwd.weights_desc()
                    ? w
                    : ctx.weights_transient(w_user, dpd.weights_desc(), bs);
    Steps post;
    memory dsrc = ctx.grad_target(in, dpd.diff_src_desc(), post);
    bs.push_back(Step{dnnl::convolution_backward_data(dpd),
                      {{DNNL_ARG_DIFF_DST, ddst_d}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, dsrc}}, {}});
    bs.insert(bs.end(), post.begin(), post.end());
  });
}

}  // namespace

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
  const memory::desc w_any(wdims, ctx.act(), tag::any);
  const memory::desc dw_any(wdims, dt::f32, tag::any);  // parameter gradients stay fp32
  const memory::desc b_md({os.c}, dt::f32, tag::x);
  const memory::desc dst2(memory::dims{ctx.batch, os.c}, ctx.act(), tag::nc);
  const std::int64_t w_count = std::int64_t{os.c} * is.c * is.h * is.w;
  const prop_kind prop = ctx.training() ? prop_kind::forward_training : prop_kind::forward_inference;

  const auto fd = L.bias ? dnnl::inner_product_forward::desc(prop, ctx.any(is), w_any, b_md, dst2)
                         : dnnl::inner_product_forward::desc(prop, ctx.any(is), w_any, dst2);
  const dnnl::inner_product_forward::primitive_desc fpd(fd, Context::post_ops(op), ctx.eng);

  memory src = ctx.value_as(in, fpd.src_desc(), ctx.forward);
  memory w_user = ctx.over_params(w_plain, op.param_offset);
  memory w = ctx.weights_as(w_user, fpd.weights_desc(), ctx.weights_forward);
  memory dst = ctx.activation(ctx.plain_act(os));
  Step step{dnnl::inner_product_forward(fpd),
            {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, ctx.view(dst, dst2)}}, {}};
  if (L.bias) step.args[DNNL_ARG_BIAS] = ctx.over_params(b_md, op.param_offset + w_count);
  ctx.forward.push_back(std::move(step));
  ctx.define_chain(op, dst);
  if (!ctx.training()) return;

  ctx.backward_builders.push_back([&ctx, op, is, os, w_plain, w_any, dw_any, b_md, dst2, w_count, fpd, w_user, w] {
    const bool bias = op.layer.bias;
    const int in = op.inputs[0];
    const int out = op.output;
    Steps& bs = ctx.backward;
    memory ddst = ctx.view(ctx.grad_as(out, ctx.plain_act(os), bs), dst2);

    if (ctx.weight_gradient(op)) {  // unless the layer is frozen
      const auto wd =
          bias ? dnnl::inner_product_backward_weights::desc(ctx.any(is), dw_any, b_md, dst2)
               : dnnl::inner_product_backward_weights::desc(ctx.any(is), dw_any, dst2);
      const dnnl::inner_product_backward_weights::primitive_desc wpd(wd, ctx.eng, fpd);
      memory src_w = ctx.value_as(in, wpd.src_desc(), bs);
      memory dw_user = ctx.over_grads(w_plain, op.param_offset);
      const bool dw_plain = wpd.diff_weights_desc() == w_plain;
      memory dw = dw_plain ? dw_user : ctx.scratch(wpd.diff_weights_desc());
      Step ws{dnnl::inner_product_backward_weights(wpd),
              {{DNNL_ARG_SRC, src_w}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dw}},
              {}};
      if (bias) ws.args[DNNL_ARG_DIFF_BIAS] = ctx.over_grads(b_md, op.param_offset + w_count);
      bs.push_back(std::move(ws));
      if (!dw_plain) bs.push_back(ctx.copy(dw, dw_user));
    }

    if (!ctx.needs_grad[std::size_t(in)]) return;  // nothing upstream needs the data gradient
    const dnnl::inner_product_backward_data::desc dd(ctx.any(is), w_any, dst2);
    const dnnl::inner_product_backward_data::primitive_desc dpd(dd, ctx.eng, fpd);
    memory wb = dpd.weights_desc() == fpd.weights_desc()
                    ? w
                    : ctx.weights_transient(w_user, dpd.weights_desc(), bs);
    Steps post;
    memory dsrc = ctx.grad_target(in, dpd.diff_src_desc(), post);
    bs.push_back(Step{dnnl::inner_product_backward_data(dpd),
                      {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, dsrc}}, {}});
    bs.insert(bs.end(), post.begin(), post.end());
  });
}

}  // namespace archetype::onednn::detail
