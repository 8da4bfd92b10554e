#pragma once
// The oneDNN-vs-cuDNN parity protocol, shared by the fixture generator (runs the oneDNN
// backend on a CPU, writes small files) and gpu.parity (runs the cuDNN backend on a GPU,
// reads them): the models, the deterministic initial parameters and inputs (integer
// arithmetic only, so both sides compute the same floats on any machine and compiler), the
// training protocol and the files.
//
// Protocol: batch 8, Dropout off, parameters initialised from `seed` (PyTorch's bounds:
// weights and biases U(±1/sqrt(fan_in)), BatchNorm gamma 1, beta 0, running mean 0,
// variance 1), then 3 SGD steps (momentum 0.9, weight decay 5e-4, lr 0.01; the first step's
// forward gives the logits). Files, in `dir`, per model `m`:
//   m.logits.f32  step 1's logits (batch x classes)
//   m.losses.f32  the 3 losses
//   m.gradients.f32 step 1's parameter gradients, every `stride`-th value (stride below)
//   m.final.f32   the parameters after 3 steps, every `stride`-th value
//   m.initial.f32 the same values before the steps (to compare the updates too)
//   m.buffers.f32 the running statistics after 3 steps (all of them)
// so that VGG-16-CIFAR's 15M parameters take 256 KB rather than 60 MB.
//
// Why lr 0.01 (it was 0.05 until the first GPU run): three steps on one batch of 8 at 0.05
// take ResNet-18-CIFAR's loss from 2.46 to 0.06, and that trajectory amplifies rounding:
// the oneDNN backend against itself with Winograd instead of direct convolutions ends 1.7e-3
// (ResNet-20) and 2.0e-3 (ResNet-18-CIFAR) apart in relative L2 of the parameters, over the
// 1e-3 bound, so no correct fp32 implementation could be told from a wrong one. At 0.01 the
// same two oneDNN runs are 1.8e-4, 2.3e-4 and 3.0e-4 (VGG-16-CIFAR) apart.
#include <archetype/codegen/program.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::gpu_parity {

inline constexpr int batch = 8;
inline constexpr int steps = 3;
inline constexpr double lr = 0.01;
inline constexpr double momentum = 0.9;
inline constexpr double weight_decay = 5e-4;
/// The registry's names of the parity models.
inline constexpr const char* models[] = {"lenet5", "resnet20", "resnet18_cifar", "vgg16_cifar"};

/// Every stride-th parameter is kept in the files: at most 65536 (+1) values per model.
inline std::int64_t stride(std::int64_t params) {
  return std::max<std::int64_t>(1, params / 65536);
}

/// splitmix64: the same 64-bit stream everywhere.
struct Stream {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [-bound, bound): 24 random bits scaled exactly, then one fp32 product.
  float uniform(float bound) { return (float(next() >> 40) / 8388608.0f - 1.0f) * bound; }
};

inline void initial_parameters(const codegen::ProgramView& program, std::vector<float>& params,
                               std::vector<float>& buffers, std::uint64_t seed) {
  params.assign(std::size_t(program.params), 0.f);
  buffers.assign(std::size_t(program.buffers), 0.f);
  Stream s{seed};
  for (const codegen::Op& op : program.ops) {
    const LayerRow& L = op.layer;
    if (L.op == LayerKind::conv || L.op == LayerKind::linear) {
      const std::int64_t fan_in = L.op == LayerKind::conv
                                      ? std::int64_t{L.in.c / L.groups} * L.kernel_h * L.kernel_w
                                      : L.in.elements();
      const float bound = float(1.0 / std::sqrt(double(fan_in)));
      for (std::int64_t i = 0; i < L.params; ++i)
        params[std::size_t(op.param_offset + i)] = s.uniform(bound);
    } else if (L.op == LayerKind::batch_norm) {
      for (int c = 0; c < L.in.c; ++c) {
        params[std::size_t(op.param_offset + c)] = 1.f;
        buffers[std::size_t(op.buffer_offset + L.in.c + c)] = 1.f;
      }
    }
  }
}

inline std::vector<float> input(const codegen::ProgramView& program, std::uint64_t seed) {
  Stream s{seed ^ 0xdeadbeefULL};
  std::vector<float> x(
      std::size_t(batch * program.tensors[std::size_t(program.input)].shape.elements()));
  for (float& v : x) v = s.uniform(1.f);
  return x;
}

inline std::vector<int> labels(int classes) {
  std::vector<int> l(batch);
  for (int n = 0; n < batch; ++n) l[std::size_t(n)] = (7 * n + 3) % classes;
  return l;
}

inline std::vector<float> sample(const std::vector<float>& params) {
  std::vector<float> v;
  const std::int64_t k = stride(std::int64_t(params.size()));
  for (std::size_t i = 0; i < params.size(); i += std::size_t(k)) v.push_back(params[i]);
  return v;
}

inline void write(const std::filesystem::path& path, const std::vector<float>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
  if (!out) throw std::runtime_error(path.string() + ": cannot write");
}

inline std::vector<float> read(const std::filesystem::path& path, std::size_t count) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(
        path.string() +
        ": cannot open (generate the fixtures with archetype_gpu_parity_fixtures on a machine "
        "with oneDNN, see docs/cudnn.md)");
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() != count * sizeof(float)) {
    throw std::runtime_error(path.string() + ": " + std::to_string(bytes.size()) +
                             " bytes, expected " + std::to_string(count * sizeof(float)));
  }
  std::vector<float> v(count);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

inline constexpr std::uint64_t seed = 2024;

}  // namespace archetype::gpu_parity
