#include "reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

namespace archetype::gradcheck {
namespace {

using codegen::Op;
using std::int64_t;

/// One tensor of the batch: NCHW, row-major.
struct Tensor4 {
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<double> v;

  Tensor4() = default;
  Tensor4(int n_, Shape s) : n(n_), c(s.c), h(s.h), w(s.w), v(std::size_t(int64_t{n_} * s.elements()), 0.0) {}
  double& at(int i, int ch, int y, int x) { return v[index(i, ch, y, x)]; }
  [[nodiscard]] double at(int i, int ch, int y, int x) const { return v[index(i, ch, y, x)]; }
  [[nodiscard]] std::size_t index(int i, int ch, int y, int x) const {
    return std::size_t(((int64_t{i} * c + ch) * h + y) * w + x);
  }
};

std::string where(const Op& op) {
  return std::string{op.layer.path.view()} + " (" + std::string{op.layer.kind.view()} + ")";
}

void conv(const Op& op, const Tensor4& x, Tensor4& y, const double* p) {
  const LayerRow& r = op.layer;
  const int groups = r.groups;
  const int cg = x.c / groups;  // input channels per group
  const int og = y.c / groups;  // output channels per group
  const int kh = r.kernel_h, kw = r.kernel_w;
  const double* weight = p;
  const double* bias = r.bias ? p + int64_t{y.c} * cg * kh * kw : nullptr;
  for (int n = 0; n < y.n; ++n)
    for (int o = 0; o < y.c; ++o) {
      const int g = o / og;
      for (int oy = 0; oy < y.h; ++oy)
        for (int ox = 0; ox < y.w; ++ox) {
          double s = bias ? bias[o] : 0.0;
          for (int ci = 0; ci < cg; ++ci)
            for (int ky = 0; ky < kh; ++ky) {
              const int iy = oy * r.stride_h - r.pad_h + ky;
              if (iy < 0 || iy >= x.h) continue;
              for (int kx = 0; kx < kw; ++kx) {
                const int ix = ox * r.stride_w - r.pad_w + kx;
                if (ix < 0 || ix >= x.w) continue;
                s += weight[((int64_t{o} * cg + ci) * kh + ky) * kw + kx] * x.at(n, g * cg + ci, iy, ix);
              }
            }
          y.at(n, o, oy, ox) = s;
        }
    }
}

void batch_norm(const Tensor4& x, Tensor4& y, const double* p, const double* running, bool training) {
  const double* gamma = p;
  const double* beta = p + x.c;
  const double count = double(x.n) * x.h * x.w;
  for (int c = 0; c < x.c; ++c) {
    double mean = 0.0, var = 0.0;
    if (training) {
      for (int n = 0; n < x.n; ++n)
        for (int i = 0; i < x.h; ++i)
          for (int j = 0; j < x.w; ++j) mean += x.at(n, c, i, j);
      mean /= count;
      for (int n = 0; n < x.n; ++n)
        for (int i = 0; i < x.h; ++i)
          for (int j = 0; j < x.w; ++j) var += (x.at(n, c, i, j) - mean) * (x.at(n, c, i, j) - mean);
      var /= count;  // biased, as PyTorch normalises with
    } else {
      mean = running ? running[c] : 0.0;
      var = running ? running[x.c + c] : 1.0;
    }
    const double inv = 1.0 / std::sqrt(var + batch_norm_epsilon);
    for (int n = 0; n < x.n; ++n)
      for (int i = 0; i < x.h; ++i)
        for (int j = 0; j < x.w; ++j) y.at(n, c, i, j) = gamma[c] * (x.at(n, c, i, j) - mean) * inv + beta[c];
  }
}

// PyTorch: div = avg over channels [c - size/2, c + (size-1)/2] (zero padded) of x^2;
// y = x / (k + alpha * div)^beta.
void lrn(const LayerRow& r, const Tensor4& x, Tensor4& y) {
  const int size = r.lrn_size;
  for (int n = 0; n < x.n; ++n)
    for (int c = 0; c < x.c; ++c)
      for (int i = 0; i < x.h; ++i)
        for (int j = 0; j < x.w; ++j) {
          double sum = 0.0;
          for (int d = c - size / 2; d <= c + (size - 1) / 2; ++d) {
            if (d < 0 || d >= x.c) continue;
            sum += x.at(n, d, i, j) * x.at(n, d, i, j);
          }
          y.at(n, c, i, j) = x.at(n, c, i, j) / std::pow(r.k + r.alpha / size * sum, r.beta);
        }
}

void max_pool(const LayerRow& r, const Tensor4& x, Tensor4& y, KinkMargins& margins) {
  for (int n = 0; n < x.n; ++n)
    for (int c = 0; c < x.c; ++c)
      for (int oy = 0; oy < y.h; ++oy)
        for (int ox = 0; ox < y.w; ++ox) {
          const int y0 = std::max(oy * r.stride_h - r.pad_h, 0);
          const int y1 = std::min(oy * r.stride_h - r.pad_h + r.kernel_h, x.h);
          const int x0 = std::max(ox * r.stride_w - r.pad_w, 0);
          const int x1 = std::min(ox * r.stride_w - r.pad_w + r.kernel_w, x.w);
          double best = -std::numeric_limits<double>::infinity();
          double second = best;
          for (int i = y0; i < y1; ++i)
            for (int j = x0; j < x1; ++j) {
              const double v = x.at(n, c, i, j);
              if (v > best) {
                second = best;
                best = v;
              } else if (v > second) {
                second = v;
              }
            }
          if (y0 >= y1 || x0 >= x1) throw std::logic_error("reference: empty max-pool window");
          margins.max_pool = std::min(margins.max_pool, best - second);
          y.at(n, c, oy, ox) = best;
        }
}

// PyTorch's avg_pool2d, count_include_pad = true: the divisor is the window clipped to the
// padded input (so a ceil-mode window that hangs past the padding counts fewer cells).
void avg_pool(const LayerRow& r, const Tensor4& x, Tensor4& y) {
  for (int n = 0; n < x.n; ++n)
    for (int c = 0; c < x.c; ++c)
      for (int oy = 0; oy < y.h; ++oy)
        for (int ox = 0; ox < y.w; ++ox) {
          int y0 = oy * r.stride_h - r.pad_h;
          int x0 = ox * r.stride_w - r.pad_w;
          int y1 = std::min(y0 + r.kernel_h, x.h + r.pad_h);
          int x1 = std::min(x0 + r.kernel_w, x.w + r.pad_w);
          const double divisor = double(y1 - y0) * (x1 - x0);
          y0 = std::max(y0, 0);
          x0 = std::max(x0, 0);
          y1 = std::min(y1, x.h);
          x1 = std::min(x1, x.w);
          double s = 0.0;
          for (int i = y0; i < y1; ++i)
            for (int j = x0; j < x1; ++j) s += x.at(n, c, i, j);
          y.at(n, c, oy, ox) = s / divisor;
        }
}

void adaptive_avg_pool(const Tensor4& x, Tensor4& y) {
  auto start = [](int i, int in, int out) { return (i * in) / out; };                 // floor
  auto end = [](int i, int in, int out) { return ((i + 1) * in + out - 1) / out; };  // ceil
  for (int n = 0; n < x.n; ++n)
    for (int c = 0; c < x.c; ++c)
      for (int oy = 0; oy < y.h; ++oy)
        for (int ox = 0; ox < y.w; ++ox) {
          const int y0 = start(oy, x.h, y.h), y1 = end(oy, x.h, y.h);
          const int x0 = start(ox, x.w, y.w), x1 = end(ox, x.w, y.w);
          double s = 0.0;
          for (int i = y0; i < y1; ++i)
            for (int j = x0; j < x1; ++j) s += x.at(n, c, i, j);
          y.at(n, c, oy, ox) = s / (double(y1 - y0) * (x1 - x0));
        }
}

void linear(const LayerRow& r, const Tensor4& x, Tensor4& y, const double* p) {
  const int in = x.c * x.h * x.w;  // flat by the DSL's rule (C x 1 x 1)
  const double* bias = r.bias ? p + int64_t{y.c} * in : nullptr;
  for (int n = 0; n < x.n; ++n)
    for (int o = 0; o < y.c; ++o) {
      double s = bias ? bias[o] : 0.0;
      for (int i = 0; i < in; ++i) s += p[int64_t{o} * in + i] * x.v[std::size_t(int64_t{n} * in + i)];
      y.v[std::size_t(int64_t{n} * y.c + o)] = s;
    }
}

// x[:, :, ::s, ::s], then (Out - C) / 2 zero channels on each side.
void zero_pad_shortcut(const LayerRow& r, const Tensor4& x, Tensor4& y) {
  const int pad = (y.c - x.c) / 2;
  for (int n = 0; n < y.n; ++n)
    for (int c = 0; c < x.c; ++c)
      for (int i = 0; i < y.h; ++i)
        for (int j = 0; j < y.w; ++j) y.at(n, c + pad, i, j) = x.at(n, c, i * r.stride_h, j * r.stride_w);
}

void pad_to(const Tensor4& x, Tensor4& y) {
  const int top = (y.h - x.h) / 2, left = (y.w - x.w) / 2;
  for (int n = 0; n < x.n; ++n)
    for (int c = 0; c < x.c; ++c)
      for (int i = 0; i < x.h; ++i)
        for (int j = 0; j < x.w; ++j) y.at(n, c, i + top, j + left) = x.at(n, c, i, j);
}

// PyTorch's upsample_bilinear2d, align_corners = false, output size given:
// source = (dst + 0.5) * in / out - 0.5, clamped at 0; the upper neighbour is clamped to
// the last row/column.
void resize(const Tensor4& x, Tensor4& y) {
  struct Tap {
    int i0, i1;
    double l0, l1;
  };
  auto taps = [](int in, int out) {
    std::vector<Tap> t(static_cast<std::size_t>(out));
    const double scale = double(in) / out;
    for (int d = 0; d < out; ++d) {
      double src = (d + 0.5) * scale - 0.5;
      if (src < 0) src = 0;
      const int i0 = int(src);
      const int i1 = i0 < in - 1 ? i0 + 1 : i0;
      const double l1 = src - i0;
      t[std::size_t(d)] = Tap{i0, i1, 1.0 - l1, l1};
    }
    return t;
  };
  const std::vector<Tap> ty = taps(x.h, y.h), tx = taps(x.w, y.w);
  for (int n = 0; n < x.n; ++n)
    for (int c = 0; c < x.c; ++c)
      for (int i = 0; i < y.h; ++i)
        for (int j = 0; j < y.w; ++j) {
          const Tap& a = ty[std::size_t(i)];
          const Tap& b = tx[std::size_t(j)];
          y.at(n, c, i, j) = a.l0 * (b.l0 * x.at(n, c, a.i0, b.i0) + b.l1 * x.at(n, c, a.i0, b.i1)) +
                             a.l1 * (b.l0 * x.at(n, c, a.i1, b.i0) + b.l1 * x.at(n, c, a.i1, b.i1));
        }
}

}  // namespace

std::vector<double> reference_forward(const codegen::ProgramView& program, int batch,
                                      const std::vector<double>& params,
                                      const std::vector<double>& input, bool training,
                                      const std::vector<double>& buffers, KinkMargins* margins) {
  if (batch < 1) throw std::invalid_argument("reference_forward: batch must be positive");
  if (std::int64_t(params.size()) != program.params)
    throw std::invalid_argument("reference_forward: parameter block has the wrong size");
  if (!buffers.empty() && std::int64_t(buffers.size()) != program.buffers)
    throw std::invalid_argument("reference_forward: buffer block has the wrong size");
  const Shape in_shape = program.tensors[std::size_t(program.input)].shape;
  if (std::int64_t(input.size()) != batch * in_shape.elements())
    throw std::invalid_argument("reference_forward: input has the wrong size");

  KinkMargins local;
  KinkMargins& m = margins ? *margins : local;
  std::vector<Tensor4> t(program.tensors.size());
  t[std::size_t(program.input)] = Tensor4(batch, in_shape);
  t[std::size_t(program.input)].v = input;

  for (const Op& op : program.ops) {
    const LayerRow& r = op.layer;
    const Tensor4& x = t[std::size_t(op.inputs[0])];
    Tensor4 y(batch, program.tensors[std::size_t(op.output)].shape);
    const double* p = params.data() + op.param_offset;
    switch (r.op) {
      case LayerKind::conv: conv(op, x, y, p); break;
      case LayerKind::batch_norm:
        batch_norm(x, y, p, buffers.empty() ? nullptr : buffers.data() + op.buffer_offset, training);
        break;
      case LayerKind::local_response_norm: lrn(r, x, y); break;
      case LayerKind::relu:
        for (std::size_t i = 0; i < x.v.size(); ++i) {
          y.v[i] = x.v[i] > 0 ? x.v[i] : 0.0;
          m.relu = std::min(m.relu, std::abs(x.v[i]));
        }
        break;
      case LayerKind::relu6:
        for (std::size_t i = 0; i < x.v.size(); ++i) {
          y.v[i] = std::min(std::max(x.v[i], 0.0), 6.0);
          m.relu = std::min({m.relu, std::abs(x.v[i]), std::abs(x.v[i] - 6.0)});
        }
        break;
      case LayerKind::sigmoid:
        for (std::size_t i = 0; i < x.v.size(); ++i) y.v[i] = 1.0 / (1.0 + std::exp(-x.v[i]));
        break;
      case LayerKind::silu:
        for (std::size_t i = 0; i < x.v.size(); ++i) y.v[i] = x.v[i] / (1.0 + std::exp(-x.v[i]));
        break;
      case LayerKind::scale: {
        const Tensor4& g = t[std::size_t(op.inputs[1])];
        if (g.c != x.c || g.h != 1 || g.w != 1) throw std::logic_error("reference: Scale gate shape at " + where(op));
        for (int n = 0; n < x.n; ++n)
          for (int c = 0; c < x.c; ++c)
            for (int i = 0; i < x.h; ++i)
              for (int j = 0; j < x.w; ++j) y.at(n, c, i, j) = x.at(n, c, i, j) * g.at(n, c, 0, 0);
        break;
      }
      case LayerKind::stochastic_depth:
      case LayerKind::dropout:
        if (training && r.p > 0)
          throw std::invalid_argument("reference_forward: a random mask (p > 0) in training at " + where(op));
        y.v = x.v;
        break;
      case LayerKind::max_pool: max_pool(r, x, y, m); break;
      case LayerKind::avg_pool: avg_pool(r, x, y); break;
      case LayerKind::global_avg_pool:
        for (int n = 0; n < x.n; ++n)
          for (int c = 0; c < x.c; ++c) {
            double s = 0.0;
            for (int i = 0; i < x.h; ++i)
              for (int j = 0; j < x.w; ++j) s += x.at(n, c, i, j);
            y.at(n, c, 0, 0) = s / (double(x.h) * x.w);
          }
        break;
      case LayerKind::adaptive_avg_pool: adaptive_avg_pool(x, y); break;
      case LayerKind::flatten: y.v = x.v; break;
      case LayerKind::linear: linear(r, x, y, p); break;
      case LayerKind::zero_pad_shortcut: zero_pad_shortcut(r, x, y); break;
      case LayerKind::pad_to: pad_to(x, y); break;
      case LayerKind::resize: resize(x, y); break;
      case LayerKind::add:
        for (int k = 0; k < op.input_count; ++k) {
          const Tensor4& b = t[std::size_t(op.inputs[k])];
          if (b.v.size() != y.v.size()) throw std::logic_error("reference: Add shapes differ at " + where(op));
          for (std::size_t i = 0; i < y.v.size(); ++i) y.v[i] += b.v[i];
        }
        break;
      case LayerKind::concat: {
        int base = 0;
        for (int k = 0; k < op.input_count; ++k) {
          const Tensor4& b = t[std::size_t(op.inputs[k])];
          for (int n = 0; n < batch; ++n)
            for (int c = 0; c < b.c; ++c)
              for (int i = 0; i < b.h; ++i)
                for (int j = 0; j < b.w; ++j) y.at(n, base + c, i, j) = b.at(n, c, i, j);
          base += b.c;
        }
        if (base != y.c) throw std::logic_error("reference: Concat channels do not add up at " + where(op));
        break;
      }
      default: throw std::logic_error("reference: unknown op kind at " + where(op));
    }
    t[std::size_t(op.output)] = std::move(y);
  }
  return std::move(t[std::size_t(program.output)].v);
}

double reference_softmax_cross_entropy(std::span<const double> logits, int batch, int classes,
                                       std::span<const int> labels) {
  if (std::int64_t(logits.size()) != std::int64_t{batch} * classes || std::int64_t(labels.size()) != batch)
    throw std::invalid_argument("reference_softmax_cross_entropy: sizes differ");
  double loss = 0.0;
  for (int n = 0; n < batch; ++n) {
    const double* z = logits.data() + std::int64_t{n} * classes;
    const int label = labels[std::size_t(n)];
    if (label < 0 || label >= classes) throw std::out_of_range("reference_softmax_cross_entropy: label");
    const double top = *std::max_element(z, z + classes);
    double sum = 0.0;
    for (int c = 0; c < classes; ++c) sum += std::exp(z[c] - top);
    loss += top + std::log(sum) - z[label];
  }
  return loss / batch;
}

}  // namespace archetype::gradcheck
