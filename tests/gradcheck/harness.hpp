#pragma once
/// \file
/// \brief The gradient-check harness: run a tiny net on the oneDNN backend (fp32) and on the
/// double-precision reference, differentiate the reference by central finite differences,
/// and compare forward outputs, input gradients and every parameter gradient.
///
/// The scalar that is differentiated is a fixed random projection of the output,
/// L = sum(w ⊙ out), so that d(L)/d(out) = w is handed to the backend with
/// `set_output_gradient(w)` and every output element contributes with its own weight (a
/// sum with equal weights would hide errors that cancel, e.g. in BatchNorm).

#include "reference.hpp"

#include <archetype/backends/onednn/executable.hpp>
#include <archetype/codegen/program.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace archetype::gradcheck {

// Tolerances (fp32 backend against a double reference):
// - The reference's central differences are exact to ~1e-9 here: truncation is
//   O(h^2 * L''') ~ 1e-12 with h = 1e-6 (relative) and round-off is eps_double * |L| / h
//   ~ 1e-16 * 10 / 1e-6 = 1e-9; so every difference we see is the backend's.
// - The backend computes in fp32 (unit round-off 6e-8). Each value of these tiny nets is a
//   sum of at most a few hundred O(1) products, through a handful of layers, so its
//   accumulated error stays well below 1e-5 relative (worst case n * eps ~ 3e-5 for a
//   500-term sum). BatchNorm's backward subtracts two means of similar size, which can lose
//   another one or two digits. 1e-3 * max(1, |reference|) leaves that margin and more, while
//   every error of the kinds we hunt (a sign flip, a missing accumulation, a wrong divisor,
//   a wrong window) is O(|gradient|) = O(0.1 .. 10) here because the inputs, weights and the
//   projection w are all O(1) and the test asserts that the reference gradient is not tiny.
// - Forward outputs: 1e-4 * max(1, |reference|) (the design's fp32 parity figure).
// - Besides elementwise checks, each block (input gradient, each weight/bias/gamma/beta)
//   must agree in norm: ||got - want|| <= 1e-3 ||want||, which catches small systematic
//   errors spread over many elements that an elementwise absolute floor would miss.
inline constexpr double forward_tolerance = 1e-4;
inline constexpr double gradient_tolerance = 1e-3;
inline constexpr double block_norm_tolerance = 1e-3;
/// Finite-difference step, relative to max(1, |value|).
inline constexpr double fd_step = 1e-6;
/// Smallest allowed distance to a ReLU kink or a max-pool tie at the base point: the
/// perturbations (1e-6 times O(1) sensitivities) must never cross one.
inline constexpr double kink_margin = 1e-3;

enum class InputKind {
  uniform,         ///< U(-1, 1)
  away_from_zero,  ///< ±U(0.1, 1): no ReLU kink within reach
  distinct,        ///< a shuffled grid with spacing 2 / n: no max-pool ties
  clipping,        ///< ±U(0.1, 1) or U(6.5, 9) (one in three): both ReLU6 kinks out of reach
};

struct Case {
  int batch = 2;
  InputKind input = InputKind::uniform;
  std::uint64_t seed = 1;
};

/// A named slice of the parameter block: `conv1 weight`, `bn beta`, …
struct ParamBlock {
  std::string name;
  std::int64_t offset = 0;
  std::int64_t size = 0;
  LayerKind kind = LayerKind::conv;
  bool is_bias = false;   ///< conv/linear bias, BatchNorm beta
  bool is_gamma = false;  ///< BatchNorm gamma
  std::int64_t fan_in = 1;
};

inline std::vector<ParamBlock> parameter_blocks(const codegen::ProgramView& p) {
  std::vector<ParamBlock> blocks;
  for (const codegen::Op& op : p.ops) {
    const LayerRow& r = op.layer;
    if (r.params == 0) continue;
    const std::string path = std::string{r.path.view()} + " (" + std::string{r.kind.view()} + ")";
    if (r.op == LayerKind::conv || r.op == LayerKind::linear) {
      const std::int64_t fan_in = r.op == LayerKind::conv
                                      ? std::int64_t{r.in.c / r.groups} * r.kernel_h * r.kernel_w
                                      : r.in.elements();
      const std::int64_t weights = std::int64_t{r.out.c} * fan_in;
      blocks.push_back({path + " weight", op.param_offset, weights, r.op, false, false, fan_in});
      if (r.bias) blocks.push_back({path + " bias", op.param_offset + weights, r.out.c, r.op, true, false, fan_in});
    } else if (r.op == LayerKind::batch_norm) {
      blocks.push_back({path + " gamma", op.param_offset, r.in.c, r.op, false, true, 1});
      blocks.push_back({path + " beta", op.param_offset + r.in.c, r.in.c, r.op, true, false, 1});
    } else {
      ADD_FAILURE() << "harness: parameters of an unexpected op kind at " << path;
    }
  }
  std::int64_t total = 0;
  for (const ParamBlock& b : blocks) total += b.size;
  EXPECT_EQ(total, p.params) << "harness: parameter blocks do not cover the block";
  return blocks;
}

/// Elementwise and block-norm comparison of a backend result with the reference.
struct Comparison {
  std::int64_t mismatches = 0;
  double max_scaled_error = 0.0;  ///< max |got - want| / max(1, |want|)
  double norm_want = 0.0, norm_diff = 0.0;
  std::string first;  ///< the first mismatch, in words

  [[nodiscard]] bool norm_ok(double rel) const { return norm_diff <= rel * norm_want; }
  [[nodiscard]] bool ok(double rel_norm = block_norm_tolerance) const { return mismatches == 0 && norm_ok(rel_norm); }
};

inline Comparison compare(std::span<const float> got, std::span<const double> want, double tolerance) {
  Comparison c;
  if (got.size() != want.size()) {
    c.mismatches = 1;
    c.first = "size " + std::to_string(got.size()) + " instead of " + std::to_string(want.size());
    return c;
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double diff = std::abs(double(got[i]) - want[i]);
    const double scaled = diff / std::max(1.0, std::abs(want[i]));
    c.max_scaled_error = std::max(c.max_scaled_error, std::isnan(diff) ? 1e300 : scaled);
    c.norm_want += want[i] * want[i];
    c.norm_diff += diff * diff;
    if (!(scaled <= tolerance)) {
      if (c.mismatches == 0) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "[%zu]: got %.8g, want %.8g", i, double(got[i]), want[i]);
        c.first = buf;
      }
      ++c.mismatches;
    }
  }
  c.norm_want = std::sqrt(c.norm_want);
  c.norm_diff = std::sqrt(c.norm_diff);
  if (std::isnan(c.norm_diff)) c.norm_diff = 1e300;
  return c;
}

/// Everything one check computed, kept for the assertions and for tests of the harness.
struct CheckRun {
  std::vector<float> params, input, projection;  // what both sides were fed (fp32 values)
  std::vector<double> ref_output, fd_input, fd_params;
  std::vector<float> got_output, got_input_grad, got_params_grad;
  KinkMargins margins;
  std::vector<ParamBlock> blocks;
  double repeat_error = 0.0;  ///< how far a repeated step strays from the first (scaled)
};

inline std::vector<float> random_input(std::int64_t n, InputKind kind, std::mt19937_64& rng) {
  std::vector<float> x(static_cast<std::size_t>(n));
  std::uniform_real_distribution<double> u(-1.0, 1.0), mag(0.1, 1.0);
  switch (kind) {
    case InputKind::uniform:
      for (float& v : x) v = float(u(rng));
      break;
    case InputKind::away_from_zero:
      for (float& v : x) v = float((u(rng) < 0 ? -1.0 : 1.0) * mag(rng));
      break;
    case InputKind::clipping:
      for (std::int64_t i = 0; i < n; ++i) {
        x[std::size_t(i)] = i % 3 == 2 ? float(6.5 + 2.5 * (u(rng) + 1.0) / 2.0)
                                       : float((u(rng) < 0 ? -1.0 : 1.0) * mag(rng));
      }
      break;
    case InputKind::distinct: {
      for (std::int64_t i = 0; i < n; ++i) x[std::size_t(i)] = float(-1.0 + 2.0 * (double(i) + 0.5) / double(n));
      std::shuffle(x.begin(), x.end(), rng);
      break;
    }
  }
  return x;
}

/// Random parameters with O(1) activations: weights U(±sqrt(3 / fan_in)) (unit variance
/// through a layer), biases and betas U(±0.5), gammas U(0.5, 1.5) (never 1, so a backward
/// that forgets gamma is caught).
inline std::vector<float> random_parameters(const std::vector<ParamBlock>& blocks, std::int64_t total,
                                            std::mt19937_64& rng) {
  std::vector<float> p(std::size_t(total), 0.0f);
  for (const ParamBlock& b : blocks) {
    const double bound = b.is_bias ? 0.5 : b.is_gamma ? 0.5 : std::sqrt(3.0 / double(b.fan_in));
    const double center = b.is_gamma ? 1.0 : 0.0;
    std::uniform_real_distribution<double> u(center - bound, center + bound);
    for (std::int64_t i = 0; i < b.size; ++i) p[std::size_t(b.offset + i)] = float(u(rng));
  }
  return p;
}

inline std::vector<double> widen(std::span<const float> v) { return {v.begin(), v.end()}; }

/// Central differences of L(params, input) = sum(w ⊙ reference_forward(...)) in double.
inline void finite_differences(const codegen::ProgramView& program, int batch, CheckRun& r) {
  const std::vector<double> w = widen(r.projection);
  std::vector<double> p = widen(r.params), x = widen(r.input);
  auto loss = [&] {
    const std::vector<double> out = reference_forward(program, batch, p, x, true);
    double l = 0.0;
    for (std::size_t i = 0; i < out.size(); ++i) l += w[i] * out[i];
    return l;
  };
  auto differentiate = [&](std::vector<double>& v, std::vector<double>& grad) {
    grad.assign(v.size(), 0.0);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double v0 = v[i];
      const double h = fd_step * std::max(1.0, std::abs(v0));
      v[i] = v0 + h;
      const double plus = loss();
      v[i] = v0 - h;
      const double minus = loss();
      v[i] = v0;
      grad[i] = (plus - minus) / (2 * h);
    }
  };
  differentiate(x, r.fd_input);
  differentiate(p, r.fd_params);
}

/// Runs one check's computations (no assertions beyond set-up): reference forward and
/// finite differences, backend forward and backward.
inline CheckRun compute(const codegen::ProgramView& program, const Case& c) {
  CheckRun r;
  std::mt19937_64 rng(c.seed);
  const Shape in = program.tensors[std::size_t(program.input)].shape;
  const Shape out = program.tensors[std::size_t(program.output)].shape;
  r.blocks = parameter_blocks(program);
  r.params = random_parameters(r.blocks, program.params, rng);
  r.input = random_input(c.batch * in.elements(), c.input, rng);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  r.projection.resize(std::size_t(c.batch * out.elements()));
  for (float& v : r.projection) v = float(u(rng));

  r.ref_output = reference_forward(program, c.batch, widen(r.params), widen(r.input), true, {}, &r.margins);
  finite_differences(program, c.batch, r);

  // Three steps on one Executable: the real one, a decoy (other input, other output
  // gradient), the real one again. The third must reproduce the first: backward()
  // overwrites the gradients (no accumulation across steps) and no op keeps stale state.
  onednn::Executable exe(program, c.batch, onednn::Mode::training);
  std::span<float> params = exe.parameters();
  EXPECT_EQ(std::int64_t(params.size()), program.params);
  std::copy(r.params.begin(), r.params.end(), params.begin());
  struct Step {
    std::vector<float> out, gin, gp;
  };
  auto step = [&](const std::vector<float>& x, const std::vector<float>& w) {
    Step s;
    std::span<const float> y = exe.forward(x);
    s.out.assign(y.begin(), y.end());
    exe.set_output_gradient(w);
    exe.backward();
    std::span<const float> gx = exe.input_gradient();
    s.gin.assign(gx.begin(), gx.end());
    std::span<float> gp = exe.gradients();
    s.gp.assign(gp.begin(), gp.end());
    return s;
  };
  Step first = step(r.input, r.projection);
  std::vector<float> decoy_x = random_input(std::int64_t(r.input.size()), InputKind::uniform, rng);
  std::vector<float> decoy_w = random_input(std::int64_t(r.projection.size()), InputKind::uniform, rng);
  step(decoy_x, decoy_w);
  const Step again = step(r.input, r.projection);
  auto max_diff = [](const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return 1e300;
    double m = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i)
      m = std::max(m, std::abs(double(a[i]) - b[i]) / std::max(1.0, std::abs(double(b[i]))));
    return m;
  };
  r.repeat_error = std::max({max_diff(again.out, first.out), max_diff(again.gin, first.gin), max_diff(again.gp, first.gp)});
  r.got_output = std::move(first.out);
  r.got_input_grad = std::move(first.gin);
  r.got_params_grad = std::move(first.gp);
  return r;
}

/// Prints one line per check (the figures the report quotes) and asserts everything.
inline void expect_matches(const CheckRun& r, const char* name) {
  // The check is only meaningful when no perturbation can cross a kink or a tie.
  EXPECT_GT(r.margins.relu, kink_margin) << name << ": a ReLU input is too close to 0; change the seed";
  EXPECT_GT(r.margins.max_pool, kink_margin) << name << ": a max-pool window has a near tie; change the seed";

  EXPECT_LE(r.repeat_error, 1e-6) << name << ": the same step after a different one gives other results "
                                    "(gradients accumulated across backward() calls, or stale state)";

  const Comparison fwd = compare(r.got_output, r.ref_output, forward_tolerance);
  EXPECT_TRUE(fwd.ok(forward_tolerance)) << name << " forward: " << fwd.mismatches << " mismatches, first "
                                         << fwd.first << ", max scaled error " << fwd.max_scaled_error;

  const Comparison gin = compare(r.got_input_grad, r.fd_input, gradient_tolerance);
  EXPECT_GT(gin.norm_want, 1e-2) << name << ": the reference input gradient is too small to test anything";
  EXPECT_TRUE(gin.ok()) << name << " input gradient: " << gin.mismatches << " mismatches, first " << gin.first
                        << ", max scaled error " << gin.max_scaled_error << ", |diff| " << gin.norm_diff
                        << " vs |want| " << gin.norm_want;

  double max_param_error = 0.0;
  ASSERT_EQ(r.got_params_grad.size(), r.fd_params.size()) << name << ": gradients() has the wrong size";
  for (const ParamBlock& b : r.blocks) {
    const auto got = std::span<const float>(r.got_params_grad).subspan(std::size_t(b.offset), std::size_t(b.size));
    const auto want = std::span<const double>(r.fd_params).subspan(std::size_t(b.offset), std::size_t(b.size));
    const Comparison g = compare(got, want, gradient_tolerance);
    max_param_error = std::max(max_param_error, g.max_scaled_error);
    EXPECT_GT(g.norm_want, 1e-2) << name << " " << b.name << ": the reference gradient is too small to test anything";
    EXPECT_TRUE(g.ok()) << name << " gradient of " << b.name << ": " << g.mismatches << " of " << b.size
                        << " mismatch, first " << g.first << ", max scaled error " << g.max_scaled_error
                        << ", |diff| " << g.norm_diff << " vs |want| " << g.norm_want;
  }
  std::printf("[gradcheck] %-28s forward %.2e  input-grad %.2e  param-grad %.2e  (%zu params, margins relu %.1e pool %.1e)\n",
              name, fwd.max_scaled_error, gin.max_scaled_error, max_param_error, r.fd_params.size(),
              r.margins.relu > 1e299 ? 0.0 : r.margins.relu, r.margins.max_pool > 1e299 ? 0.0 : r.margins.max_pool);
}

/// Inference-mode forward of net `N` (BatchNorm with random running statistics, Dropout
/// off, whatever the backend folds) against the reference.
template <class N>
void check_inference(const char* name, std::uint64_t seed = 1) {
  const codegen::ProgramView program = codegen::program_v<N>.view();
  std::mt19937_64 rng(seed);
  const std::vector<float> params = random_parameters(parameter_blocks(program), program.params, rng);
  std::vector<float> buffers(std::size_t(program.buffers));
  std::uniform_real_distribution<double> mean(-0.5, 0.5), var(0.5, 2.0);
  for (const codegen::Op& op : program.ops) {
    if (op.layer.op != LayerKind::batch_norm) continue;
    const int c = op.layer.in.c;
    for (int i = 0; i < c; ++i) {
      buffers[std::size_t(op.buffer_offset + i)] = float(mean(rng));
      buffers[std::size_t(op.buffer_offset + c + i)] = float(var(rng));
    }
  }
  const int batch = 2;
  const std::vector<float> x =
      random_input(batch * program.tensors[std::size_t(program.input)].shape.elements(), InputKind::uniform, rng);
  const std::vector<double> want = reference_forward(program, batch, widen(params), widen(x), false, widen(buffers));
  try {
    onednn::Executable exe(program, batch, onednn::Mode::inference);
    ASSERT_EQ(std::int64_t(exe.parameters().size()), program.params);
    ASSERT_EQ(std::int64_t(exe.buffers().size()), program.buffers);
    std::copy(params.begin(), params.end(), exe.parameters().begin());
    std::copy(buffers.begin(), buffers.end(), exe.buffers().begin());
    const std::span<const float> y = exe.forward(x);
    const Comparison c = compare(std::vector<float>(y.begin(), y.end()), want, forward_tolerance);
    EXPECT_TRUE(c.ok(forward_tolerance)) << name << " inference forward: " << c.mismatches << " mismatches, first "
                                         << c.first << ", max scaled error " << c.max_scaled_error;
    std::printf("[gradcheck] %-28s inference forward %.2e\n", name, c.max_scaled_error);
  } catch (const std::exception& e) {
    FAIL() << name << ": threw " << e.what();
  }
}

/// The whole check for net `N`.
template <class N>
void check(const char* name, const Case& c = {}) {
  const codegen::ProgramView program = codegen::program_v<N>.view();
  CheckRun r;
  try {
    r = compute(program, c);
  } catch (const std::exception& e) {
    FAIL() << name << ": threw " << e.what();
  }
  expect_matches(r, name);
}

}  // namespace archetype::gradcheck
