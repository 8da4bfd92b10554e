#pragma once
/// \file
/// \brief A naive double-precision executor of a `codegen::ProgramView`: the reference the
/// gradient checks differentiate by central finite differences and compare the oneDNN
/// backend against. Every op is a plain loop written from PyTorch's definition; nothing is
/// fused, nothing is blocked, nothing is clever, so that it can be read and trusted.
///
/// Data layout is the backends': NCHW, row-major, batch first; parameters and buffers are
/// the flat blocks of `codegen/program.hpp` (PyTorch `state_dict` order).

#include <archetype/codegen/program.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace archetype::gradcheck {

/// Distances to the non-differentiable points the forward pass went near, so that a
/// gradient check can assert that its finite-difference step never crosses one (a check
/// that straddles a ReLU kink or a max-pool tie would compare against a wrong reference).
struct KinkMargins {
  double relu = 1e300;      ///< smallest |x| fed to a ReLU
  double max_pool = 1e300;  ///< smallest gap between a window's maximum and its runner-up
};

/// Runs the whole program on `batch` images and returns the output (batch x output shape).
/// `training`: BatchNorm uses batch statistics (mean, biased variance, eps 1e-5) and
/// Dropout must have p = 0 (throws std::invalid_argument otherwise: a random mask cannot be
/// reproduced); inference: BatchNorm uses `buffers` (per BN op: running mean [C] then
/// running variance [C]; when `buffers` is empty, mean 0 and variance 1) and Dropout is the
/// identity. Throws std::invalid_argument when a block has the wrong size.
std::vector<double> reference_forward(const codegen::ProgramView& program, int batch,
                                      const std::vector<double>& params,
                                      const std::vector<double>& input, bool training,
                                      const std::vector<double>& buffers = {},
                                      KinkMargins* margins = nullptr);

/// Mean over the batch of -log softmax(logits)[label]; logits are batch x classes.
double reference_softmax_cross_entropy(std::span<const double> logits, int batch, int classes,
                                       std::span<const int> labels);

/// Batch-norm epsilon the reference uses (PyTorch's default).
inline constexpr double batch_norm_epsilon = 1e-5;

}  // namespace archetype::gradcheck
