#pragma once
// What the gpu tests of the cuDNN backend share: a small net that holds the common op kinds,
// and deterministic weights, images and labels for any program.
#include <archetype/archetype.hpp>
#include <archetype/codegen/program.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace archetype::cudnn::testing_data {

// Conv with bias, BN, ReLU, max pooling, an identity residual (Add), GAP, Linear.
using Small =
    Net<Input<Shape{3, 8, 8}>,
        Seq<Conv3x3<8, 1, true>, BatchNorm, ReLU, MaxPool<2>, Residual<Seq<Conv3x3<8>, BatchNorm>>,
            ReLU, GlobalAvgPool, Flatten, Linear<10>>,
        10>;

inline std::vector<float> uniform(std::size_t n, std::uint64_t seed, double bound = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-bound, bound);
  std::vector<float> v(n);
  for (float& x : v) x = float(u(rng));
  return v;
}

struct Data {
  std::vector<float> params, images;
  std::vector<int> labels;
};

/// Weights uniform in [-0.3, 0.3] with BatchNorm gammas near 1, images uniform in [-1, 1],
/// labels (3 n + 1) mod classes.
inline Data make_data(const codegen::ProgramView& program, int batch) {
  Data d;
  d.params = uniform(std::size_t(program.params), 1, 0.3);
  for (const codegen::Op& op : program.ops) {
    if (op.layer.op != LayerKind::batch_norm) continue;
    for (int c = 0; c < op.layer.in.c; ++c) d.params[std::size_t(op.param_offset + c)] += 1.f;
  }
  d.images =
      uniform(std::size_t(batch * program.tensors[std::size_t(program.input)].shape.elements()), 2);
  const int classes = int(program.tensors[std::size_t(program.output)].shape.elements());
  for (int n = 0; n < batch; ++n) d.labels.push_back((3 * n + 1) % classes);
  return d;
}

}  // namespace archetype::cudnn::testing_data
