#include <archetype/runtime/optimizer.hpp>

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace archetype::runtime {

Optimizer Optimizer::sgd(std::size_t parameters, const SgdOptions& options) {
  Optimizer o;
  o.kind_ = Kind::sgd;
  o.sgd_ = options;
  o.size_ = parameters;
  o.state_.assign(options.momentum != 0.0 ? parameters : 0, 0.0f);
  return o;
}

Optimizer Optimizer::adam(std::size_t parameters, const AdamOptions& options) {
  Optimizer o;
  o.kind_ = Kind::adam;
  o.adam_ = options;
  o.size_ = parameters;
  o.state_.assign(2 * parameters, 0.0f);
  return o;
}

Optimizer Optimizer::from(std::size_t parameters, const codegen::OptimizerSpec& spec) {
  Optimizer o = spec.kind == codegen::OptimizerSpec::Kind::sgd
                    ? sgd(parameters, SgdOptions{spec.momentum, spec.nesterov, spec.weight_decay})
                    : adam(parameters, AdamOptions{spec.beta1, spec.beta2, spec.epsilon,
                                                   spec.weight_decay, spec.decoupled});
  o.set_ranges(spec.ranges);
  return o;
}

void Optimizer::set_ranges(std::vector<codegen::ParameterRange> ranges) {
  for (const codegen::ParameterRange& r : ranges) {
    if (r.offset < 0 || r.size < 0 || std::size_t(r.offset + r.size) > size_) {
      throw std::invalid_argument("optimizer: the range [" + std::to_string(r.offset) + ", " +
                                  std::to_string(r.offset + r.size) + ") is outside the " +
                                  std::to_string(size_) + " parameters");
    }
  }
  ranges_ = std::move(ranges);
}

void Optimizer::step(std::span<float> p, std::span<const float> g, double lr_d) {
  if (p.size() != size_ || g.size() != size_) {
    throw std::invalid_argument("optimizer: parameter block has " + std::to_string(p.size()) +
                                " values and gradients " + std::to_string(g.size()) +
                                ", expected " + std::to_string(size_));
  }
  ++steps_;
  if (ranges_.empty()) {
    update(0, size_, p.data(), g.data(), float(lr_d));
    return;
  }
  for (const codegen::ParameterRange& r : ranges_) {
    update(std::size_t(r.offset), std::size_t(r.size), p.data(), g.data(), float(lr_d * r.factor));
  }
}

// One run [first, first + n) of the block: the state of parameter i is at i (Adam's second
// moment at size_ + i).
void Optimizer::update(std::size_t first, std::size_t n, float* p, const float* g, float lr) {
  float* __restrict__ pp = p + first;
  const float* __restrict__ gp = g + first;
  if (kind_ == Kind::sgd) {
    const auto wd = float(sgd_.weight_decay);
    const auto mu = float(sgd_.momentum);
    if (mu == 0.0f) {
      for (std::size_t i = 0; i < n; ++i) pp[i] -= lr * (gp[i] + wd * pp[i]);
      return;
    }
    float* __restrict__ v = state_.data() + first;
    // torch.optim.SGD: the first step sets the buffer to the gradient (dampening 0).
    const bool first = steps_ == 1;
    if (sgd_.nesterov) {
      for (std::size_t i = 0; i < n; ++i) {
        float d = gp[i] + wd * pp[i];
        v[i] = first ? d : mu * v[i] + d;
        pp[i] -= lr * (d + mu * v[i]);
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        float d = gp[i] + wd * pp[i];
        v[i] = first ? d : mu * v[i] + d;
        pp[i] -= lr * v[i];
      }
    }
    return;
  }
  // Adam / AdamW (torch.optim, amsgrad off).
  const auto b1 = float(adam_.beta1);
  const auto b2 = float(adam_.beta2);
  const auto eps = float(adam_.epsilon);
  const auto wd = float(adam_.weight_decay);
  const auto t = double(steps_);
  const auto bias1 = float(1.0 - std::pow(adam_.beta1, t));
  const auto bias2_sqrt = float(std::sqrt(1.0 - std::pow(adam_.beta2, t)));
  const float step_size = lr / bias1;
  float* __restrict__ m = state_.data() + first;
  float* __restrict__ v = state_.data() + size_ + first;
  const bool decoupled = adam_.decoupled;
  for (std::size_t i = 0; i < n; ++i) {
    float gi = gp[i];
    if (decoupled) {
      pp[i] *= 1.0f - lr * wd;
    } else {
      gi += wd * pp[i];
    }
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    pp[i] -= step_size * m[i] / (std::sqrt(v[i]) / bias2_sqrt + eps);
  }
}

std::string Optimizer::describe() const {
  char text[160];
  if (kind_ == Kind::sgd) {
    std::snprintf(text, sizeof text, "SGD (momentum %g%s, weight decay %g)", sgd_.momentum,
                  sgd_.nesterov ? ", Nesterov" : "", sgd_.weight_decay);
  } else {
    std::snprintf(text, sizeof text, "%s (betas %g, %g, weight decay %g)",
                  adam_.decoupled ? "AdamW" : "Adam", adam_.beta1, adam_.beta2, adam_.weight_decay);
  }
  return text;
}

}  // namespace archetype::runtime
