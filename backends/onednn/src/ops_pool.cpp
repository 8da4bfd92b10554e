// Pooling: MaxPool (oneDNN pooling_max, workspace for the backward), AvgPool (oneDNN
// pooling_avg_include_padding = PyTorch's count_include_pad; a plain loop when ceil mode
// lets the last window run past the right padding, where PyTorch's divisor is smaller),
// GlobalAvgPool (pooling_avg with the kernel = the input size), AdaptiveAvgPool (identity,
// global, uniform bins as pooling, otherwise a plain loop with PyTorch's bins).
#include "context.hpp"

#include <algorithm>

namespace archetype::onednn::detail {

using dnnl::algorithm;
using dnnl::prop_kind;

namespace {

/// Right padding that gives PyTorch's output size (ceil mode may need more than `pad`).
int right_pad(int in, int out, int k, int s, int pad) { return std::max(pad, (out - 1) * s + k - in - pad); }

/// PyTorch's avg_pool2d (count_include_pad = true, ceil mode) on plain memory.
void build_avg_pool_loop(Context& ctx, const codegen::Op& op) {
  const LayerRow& L = op.layer;
  const Shape is = ctx.tensors[std::size_t(op.inputs[0])].shape;
  const Shape os = ctx.tensors[std::size_t(op.output)].shape;
  const int planes = ctx.batch * is.c;
  const int kh = L.kernel_h, kw = L.kernel_w, sh = L.stride_h, sw = L.stride_w, ph = L.pad_h, pw = L.pad_w;
  // Window of output index o along one axis: [start, end) clipped to the input, and the
  // divisor's extent (clipped to the input plus its padding).
  struct Window {
    int start, end, extent;
  };
  auto window = [](int o, int k, int s, int p, int in) {
    int start = o * s - p;
    int end = std::min(start + k, in + p);
    const int extent = end - start;
    return Window{std::max(start, 0), std::min(end, in), extent};
  };
  auto forward = [=](const float* x, float* y) {
#pragma omp parallel for
    for (int pl = 0; pl < planes; ++pl) {
      const float* xp = x + std::int64_t{pl} * is.h * is.w;
      float* yp = y + std::int64_t{pl} * os.h * os.w;
      for (int oh = 0; oh < os.h; ++oh) {
        const Window wh = window(oh, kh, sh, ph, is.h);
        for (int ow = 0; ow < os.w; ++ow) {
          const Window ww = window(ow, kw, sw, pw, is.w);
          float sum = 0.f;
          for (int i = wh.start; i < wh.end; ++i) {
            for (int j = ww.start; j < ww.end; ++j) sum += xp[i * is.w + j];
          }
          yp[oh * os.w + ow] = sum / float(wh.extent * ww.extent);
        }
      }
    }
  };
  auto backward = [=](const float*, const float* dy, float* dx) {
#pragma omp parallel for
    for (int pl = 0; pl < planes; ++pl) {
      float* xp = dx + std::int64_t{pl} * is.h * is.w;
      const float* yp = dy + std::int64_t{pl} * os.h * os.w;
      std::fill(xp, xp + std::int64_t{is.h} * is.w, 0.f);
      for (int oh = 0; oh < os.h; ++oh) {
        const Window wh = window(oh, kh, sh, ph, is.h);
        for (int ow = 0; ow < os.w; ++ow) {
          const Window ww = window(ow, kw, sw, pw, is.w);
          const float g = yp[oh * os.w + ow] / float(wh.extent * ww.extent);
          for (int i = wh.start; i < wh.end; ++i) {
            for (int j = ww.start; j < ww.end; ++j) xp[i * is.w + j] += g;
          }
        }
      }
    }
  };
  build_plain_op(ctx, op, forward, backward);
}

/// PyTorch's adaptive_avg_pool2d on plain memory: bin i spans
/// [floor(i * in / out), ceil((i + 1) * in / out)).
void build_adaptive_loop(Context& ctx, const codegen::Op& op) {
  const Shape is = ctx.tensors[std::size_t(op.inputs[0])].shape;
  const Shape os = ctx.tensors[std::size_t(op.output)].shape;
  const int planes = ctx.batch * is.c;
  auto lo = [](int i, int in, int out) { return (i * in) / out; };
  auto hi = [](int i, int in, int out) { return ((i + 1) * in + out - 1) / out; };
  auto forward = [=](const float* x, float* y) {
#pragma omp parallel for
    for (int pl = 0; pl < planes; ++pl) {
      const float* xp = x + std::int64_t{pl} * is.h * is.w;
      float* yp = y + std::int64_t{pl} * os.h * os.w;
      for (int oh = 0; oh < os.h; ++oh) {
        const int h0 = lo(oh, is.h, os.h), h1 = hi(oh, is.h, os.h);
        for (int ow = 0; ow < os.w; ++ow) {
          const int w0 = lo(ow, is.w, os.w), w1 = hi(ow, is.w, os.w);
          float sum = 0.f;
          for (int i = h0; i < h1; ++i) {
            for (int j = w0; j < w1; ++j) sum += xp[i * is.w + j];
          }
          yp[oh * os.w + ow] = sum / float((h1 - h0) * (w1 - w0));
        }
      }
    }
  };
  auto backward = [=](const float*, const float* dy, float* dx) {
#pragma omp parallel for
    for (int pl = 0; pl < planes; ++pl) {
      float* xp = dx + std::int64_t{pl} * is.h * is.w;
      const float* yp = dy + std::int64_t{pl} * os.h * os.w;
      std::fill(xp, xp + std::int64_t{is.h} * is.w, 0.f);
      for (int oh = 0; oh < os.h; ++oh) {
        const int h0 = lo(oh, is.h, os.h), h1 = hi(oh, is.h, os.h);
        for (int ow = 0; ow < os.w; ++ow) {
          const int w0 = lo(ow, is.w, os.w), w1 = hi(ow, is.w, os.w);
          const float g = yp[oh * os.w + ow] / float((h1 - h0) * (w1 - w0));
          for (int i = h0; i < h1; ++i) {
            for (int j = w0; j < w1; ++j) xp[i * is.w + j] += g;
          }
        }
      }
    }
  };
  build_plain_op(ctx, op, forward, backward);
}

}  // namespace

void build_pooling(Context& ctx, const codegen::Op& op, algorithm alg, int kh, int kw, int sh, int sw,
                   int ph, int pw) {
  const int in = op.inputs[0];
  const int out = op.output;
  const Shape is = ctx.tensors[std::size_t(in)].shape;
  const Shape os = ctx.tensors[std::size_t(out)].shape;
  const memory::desc src_md = ctx.tensors[std::size_t(in)].md;
  const memory src = ctx.tensors[std::size_t(in)].mem;
  const memory::dims strides{sh, sw}, kernel{kh, kw}, pad_l{ph, pw};
  const memory::dims pad_r{right_pad(is.h, os.h, kh, sh, ph), right_pad(is.w, os.w, kw, sw, pw)};
  const prop_kind prop = ctx.training() ? prop_kind::forward_training : prop_kind::forward_inference;

  const dnnl::pooling_forward::desc fd(prop, alg, src_md, ctx.any(os), strides, kernel, pad_l, pad_r);
  const dnnl::pooling_forward::primitive_desc fpd(fd, ctx.eng);
  const memory ws = ctx.forward_step(op, dnnl::pooling_forward(fpd), fpd, src).second;
  if (!ctx.training()) return;

  const memory::desc dst_md = fpd.dst_desc();
  ctx.backward_builders.push_back([&ctx, in, out, alg, src_md, dst_md, strides, kernel, pad_l, pad_r, fpd, ws] {
    const dnnl::pooling_backward::desc bd(alg, src_md, dst_md, strides, kernel, pad_l, pad_r);
    const dnnl::pooling_backward::primitive_desc bpd(bd, ctx.eng, fpd);
    ctx.backward_step(in, out, dnnl::pooling_backward(bpd), bpd, {}, ws);
  });
}

void build_max_pool(Context& ctx, const codegen::Op& op) {
  const LayerRow& L = op.layer;
  build_pooling(ctx, op, algorithm::pooling_max, L.kernel_h, L.kernel_w, L.stride_h, L.stride_w, L.pad_h,
                L.pad_w);
}

void build_avg_pool(Context& ctx, const codegen::Op& op) {
  const LayerRow& L = op.layer;
  const Shape is = ctx.tensors[std::size_t(op.inputs[0])].shape;
  const Shape os = ctx.tensors[std::size_t(op.output)].shape;
  // oneDNN divides by the whole kernel; PyTorch clips the divisor at input + padding,
  // which only matters when a ceil-mode window runs past the right padding.
  if (right_pad(is.h, os.h, L.kernel_h, L.stride_h, L.pad_h) > L.pad_h ||
      right_pad(is.w, os.w, L.kernel_w, L.stride_w, L.pad_w) > L.pad_w) {
    build_avg_pool_loop(ctx, op);
    return;
  }
  build_pooling(ctx, op, algorithm::pooling_avg_include_padding, L.kernel_h, L.kernel_w, L.stride_h,
                L.stride_w, L.pad_h, L.pad_w);
}

void build_global_avg_pool(Context& ctx, const codegen::Op& op) {
  const Shape is = ctx.tensors[std::size_t(op.inputs[0])].shape;
  build_pooling(ctx, op, algorithm::pooling_avg_include_padding, is.h, is.w, 1, 1, 0, 0);
}

void build_adaptive_avg_pool(Context& ctx, const codegen::Op& op) {
  const Shape is = ctx.tensors[std::size_t(op.inputs[0])].shape;
  const Shape os = ctx.tensors[std::size_t(op.output)].shape;
  if (is.h == os.h && is.w == os.w) {
    build_identity(ctx, op);
  } else if (is.h % os.h == 0 && is.w % os.w == 0) {  // uniform bins (1x1 included)
    const int kh = is.h / os.h, kw = is.w / os.w;
    build_pooling(ctx, op, algorithm::pooling_avg_include_padding, kh, kw, kh, kw, 0, 0);
  } else {
    build_adaptive_loop(ctx, op);
  }
}

}  // namespace archetype::onednn::detail
