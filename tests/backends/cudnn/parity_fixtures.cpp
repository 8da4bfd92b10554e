// archetype_gpu_parity_fixtures DIR: runs the parity protocol (parity_common.hpp) on the
// oneDNN backend for every parity model and writes the fixtures gpu.parity compares the
// cuDNN backend with. Built where oneDNN is; run at build time
// (tests/backends/cudnn/CMakeLists.txt).
#include "parity_common.hpp"

#include <archetype/architectures/registry.hpp>
#include <archetype/backends/onednn/executable.hpp>
#include <archetype/runtime/optimizer.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  using namespace archetype;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  try {
    std::filesystem::create_directories(dir);
    for (const char* name : gpu_parity::models) {
      const ModelEntry* model = find_model(name);
      if (model == nullptr)
        throw std::runtime_error(std::string("no model ") + name + " in the registry");
      const codegen::ProgramView program = model->native.program;
      std::vector<float> params, buffers;
      gpu_parity::initial_parameters(program, params, buffers, gpu_parity::seed);
      const std::vector<float> x = gpu_parity::input(program, gpu_parity::seed);
      const int classes = model->native.output.c;
      const std::vector<int> labels = gpu_parity::labels(classes);

      onednn::Options options;
      options.dropout = false;
      onednn::Executable exe(program, gpu_parity::batch, onednn::Mode::training, options);
      std::copy(params.begin(), params.end(), exe.parameters().begin());
      std::copy(buffers.begin(), buffers.end(), exe.buffers().begin());
      auto sgd = runtime::Optimizer::sgd(params.size(),
                                         {gpu_parity::momentum, false, gpu_parity::weight_decay});
      std::vector<float> logits, losses, gradients;
      for (int step = 0; step < gpu_parity::steps; ++step) {
        const auto y = exe.forward(x);
        if (step == 0) logits.assign(y.begin(), y.end());
        losses.push_back(exe.softmax_cross_entropy(labels));
        exe.backward();
        if (step == 0) gradients.assign(exe.gradients().begin(), exe.gradients().end());
        sgd.step(exe.parameters(), exe.gradients(), gpu_parity::lr);
      }
      const std::vector<float> final_params(exe.parameters().begin(), exe.parameters().end());
      const std::vector<float> final_buffers(exe.buffers().begin(), exe.buffers().end());
      gpu_parity::write(dir / (std::string(name) + ".logits.f32"), logits);
      gpu_parity::write(dir / (std::string(name) + ".losses.f32"), losses);
      gpu_parity::write(dir / (std::string(name) + ".final.f32"), gpu_parity::sample(final_params));
      gpu_parity::write(dir / (std::string(name) + ".initial.f32"), gpu_parity::sample(params));
      gpu_parity::write(dir / (std::string(name) + ".gradients.f32"),
                        gpu_parity::sample(gradients));
      gpu_parity::write(dir / (std::string(name) + ".buffers.f32"), final_buffers);
      std::printf("%s: losses %.6f %.6f %.6f\n", name, double(losses[0]), double(losses[1]),
                  double(losses[2]));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "archetype_gpu_parity_fixtures: %s\n", e.what());
    return 1;
  }
  return 0;
}
