#pragma once
/// \file
/// \brief PyTorch's default initialisation of a Program's flat parameter and buffer blocks,
/// the same for every backend (so that a seed starts a CPU and a GPU run alike).

#include <archetype/codegen/program.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <string>

namespace archetype::codegen {

/// PyTorch's default initialisation, reproducible from `seed`: Conv and Linear weights and
/// biases uniform in ±1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)); BatchNorm gamma 1,
/// beta 0; running mean 0, running variance 1. Throws std::invalid_argument when the blocks
/// are not the program's sizes.
inline void initialize_parameters(const ProgramView& program, std::span<float> parameters, std::span<float> buffers,
                                  std::uint64_t seed) {
  if (std::int64_t(parameters.size()) != program.params || std::int64_t(buffers.size()) != program.buffers) {
    throw std::invalid_argument("initialize_parameters: expected " + std::to_string(program.params) +
                                " parameters and " + std::to_string(program.buffers) + " buffers, got " +
                                std::to_string(parameters.size()) + " and " + std::to_string(buffers.size()));
  }
  std::mt19937_64 rng(seed);
  auto uniform = [&](std::int64_t offset, std::int64_t count, double bound) {
    std::uniform_real_distribution<double> u(-bound, bound);
    for (std::int64_t i = 0; i < count; ++i) parameters[std::size_t(offset + i)] = float(u(rng));
  };
  for (const Op& op : program.ops) {
    const LayerRow& L = op.layer;
    switch (L.op) {
      case LayerKind::conv:
      case LayerKind::linear: {
        // kaiming_uniform(a = sqrt(5)) gives 1/sqrt(fan_in) for the weights, as for the bias.
        const std::int64_t fan_in =
            L.op == LayerKind::conv ? std::int64_t{L.in.c / L.groups} * L.kernel_h * L.kernel_w : L.in.elements();
        const double bound = 1.0 / std::sqrt(double(fan_in));
        const std::int64_t weights = L.params - (L.bias ? L.out.c : 0);
        uniform(op.param_offset, weights, bound);
        if (L.bias) uniform(op.param_offset + weights, L.out.c, bound);
        break;
      }
      case LayerKind::batch_norm: {
        const auto c = std::size_t(L.in.c);
        const auto p = std::size_t(op.param_offset), b = std::size_t(op.buffer_offset);
        std::fill_n(parameters.begin() + std::ptrdiff_t(p), c, 1.f);
        std::fill_n(parameters.begin() + std::ptrdiff_t(p + c), c, 0.f);
        std::fill_n(buffers.begin() + std::ptrdiff_t(b), c, 0.f);
        std::fill_n(buffers.begin() + std::ptrdiff_t(b + c), c, 1.f);
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace archetype::codegen
