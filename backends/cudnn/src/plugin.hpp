#pragma once
// The seam between the cuDNN backend's public face and its CUDA half.
//
// Everything that touches CUDA, cuDNN or cuBLAS (executable.cpp, context.cpp, the ops_*.cpp,
// kernels_*.cu, plan.cpp) is built into a plug-in, libarchetype_cudnn_plugin.so, that the
// process opens with dlopen the first time a `cudnn::Executable` is made or
// `cudnn::unavailable_reason()` is asked. The public `cudnn::Executable` (facade.cpp)
// forwards each call to the `plugin::Executable` the plug-in made. So `archetype`, every
// `bench_<model>` and the trainer link no CUDA library: a CPU run does not load cuBLAS,
// cuBLASLt and cuDNN (well over 100 MB of resident pages at load time), and a CPU build runs
// where they are not installed at all.
//
// Both sides are compiled from the same tree by the same compiler, so C++ types cross the
// seam as they are; `abi` guards against a plug-in from another build.

#include <archetype/backends/cudnn/executable.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace archetype::cudnn::plugin {

/// What `cudnn::Executable` forwards to: its public calls, one to one (executable.hpp says
/// what each does).
class Executable {
 public:
  virtual ~Executable() = default;
  [[nodiscard]] virtual int batch() const = 0;
  [[nodiscard]] virtual Mode mode() const = 0;
  virtual std::span<float> parameters() = 0;
  virtual std::span<float> gradients() = 0;
  virtual void on_gradient_ready(std::function<void(const GradientReady&)> callback) = 0;
  virtual std::span<float> buffers() = 0;
  virtual std::span<float> optimizer_state() = 0;
  virtual std::int64_t optimizer_steps() = 0;
  virtual void set_optimizer_steps(std::int64_t steps) = 0;
  virtual std::span<const float> forward(std::span<const float> input) = 0;
  virtual float softmax_cross_entropy(std::span<const int> labels) = 0;
  virtual void backward() = 0;
  virtual void set_output_gradient(std::span<const float> gradient) = 0;
  virtual std::span<const float> input_gradient() = 0;
  virtual void update(double lr) = 0;
  virtual cudnn::Executable::StepResult train_step(std::span<const float> images, std::span<const int> labels,
                                                   double lr) = 0;
  [[nodiscard]] virtual bool graph_captured() const = 0;
  [[nodiscard]] virtual bool channels_last() const = 0;
  [[nodiscard]] virtual cudnn::Executable::Memory memory() const = 0;
};

/// Bumped whenever anything above, `Api`, `cudnn::Options` or `codegen::ProgramView` changes
/// shape; the sizes catch most of what a forgotten bump would not.
struct Abi {
  int version = 5;
  std::size_t options = sizeof(cudnn::Options);
  std::size_t program = sizeof(codegen::ProgramView);
  std::size_t op = sizeof(codegen::Op);
  std::size_t tensor = sizeof(codegen::Tensor);
  friend bool operator==(const Abi&, const Abi&) = default;
};

/// What the plug-in hands out.
struct Api {
  Abi abi;
  std::string (*unavailable_reason)(int device);
  std::unique_ptr<Executable> (*create)(const codegen::ProgramView& program, int batch, Mode mode,
                                        const Options& options);
  std::array<unsigned char, 128> (*nccl_unique_id)();
};

}  // namespace archetype::cudnn::plugin

/// The plug-in's one exported symbol.
#define ARCHETYPE_CUDNN_PLUGIN_ENTRY "archetype_cudnn_plugin_api"
extern "C" const archetype::cudnn::plugin::Api* archetype_cudnn_plugin_api();
