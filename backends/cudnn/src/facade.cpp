// The public cudnn::Executable and cudnn::unavailable_reason(): each call goes to the CUDA
// half of the backend, a plug-in this file opens with dlopen on first use (plugin.hpp says
// why). Nothing here includes a CUDA header or links a CUDA library.
#include <archetype/backends/cudnn/executable.hpp>

#include "plugin.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace archetype::cudnn {
namespace {

constexpr const char* plugin_file = "libarchetype_cudnn_plugin.so";

/// The plug-in, or why there is none.
struct Loaded {
  const plugin::Api* api = nullptr;
  std::string error;
};

/// Where the plug-in may be, in order: $ARCHETYPE_CUDNN_PLUGIN alone when it is set; else
/// beside the running executable (a copied bundle, scripts/gpu-bundle.sh), then where this
/// build wrote it.
std::vector<std::string> candidates() {
  if (const char* env = std::getenv("ARCHETYPE_CUDNN_PLUGIN"); env != nullptr && *env != '\0') return {env};
  std::vector<std::string> paths;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) paths.push_back((self.parent_path() / plugin_file).string());
#ifdef ARCHETYPE_CUDNN_PLUGIN_PATH
  if (paths.empty() || paths.front() != ARCHETYPE_CUDNN_PLUGIN_PATH) paths.emplace_back(ARCHETYPE_CUDNN_PLUGIN_PATH);
#endif
  return paths;
}

Loaded load() {
  std::string looked;
  for (const std::string& path : candidates()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      looked += "\n  " + path;
      continue;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      return {nullptr, "the cuDNN backend's plug-in " + path + " cannot be loaded: " + (why ? why : "dlopen failed")};
    }
    using Entry = const plugin::Api* (*)();
    const auto entry = reinterpret_cast<Entry>(dlsym(handle, ARCHETYPE_CUDNN_PLUGIN_ENTRY));
    const plugin::Api* api = entry != nullptr ? entry() : nullptr;
    if (api == nullptr || !(api->abi == plugin::Abi{})) {
      dlclose(handle);
      return {nullptr, path + (api == nullptr ? " is not the cuDNN backend's plug-in (it has no " ARCHETYPE_CUDNN_PLUGIN_ENTRY ")"
                                              : " was built from another version of Archetype; rebuild it from this tree")};
    }
    return {api, ""};  // open for the rest of the process
  }
  return {nullptr, std::string("the cuDNN backend's plug-in ") + plugin_file + " was not found; looked for:" + looked +
                       "\n(build the target archetype_cudnn_plugin, or set ARCHETYPE_CUDNN_PLUGIN to its path)"};
}

const Loaded& loaded() {
  static const Loaded plugin = load();
  return plugin;
}

const plugin::Api& api() {
  const Loaded& l = loaded();
  if (l.api == nullptr) throw std::runtime_error("archetype::cudnn: " + l.error);
  return *l.api;
}

}  // namespace

std::array<unsigned char, 128> nccl_unique_id() { return api().nccl_unique_id(); }

std::string unavailable_reason(int device) {
  const Loaded& l = loaded();
  return l.api == nullptr ? l.error : l.api->unavailable_reason(device);
}

struct Executable::Impl {
  std::unique_ptr<plugin::Executable> device;
};

Executable::Executable(const codegen::ProgramView& program, int batch, Mode mode, const Options& options)
    : impl_(std::make_unique<Impl>(Impl{api().create(program, batch, mode, options)})) {}
Executable::~Executable() = default;
Executable::Executable(Executable&&) noexcept = default;
Executable& Executable::operator=(Executable&&) noexcept = default;

int Executable::batch() const { return impl_->device->batch(); }
Mode Executable::mode() const { return impl_->device->mode(); }
std::span<float> Executable::parameters() { return impl_->device->parameters(); }
std::span<float> Executable::gradients() { return impl_->device->gradients(); }
void Executable::on_gradient_ready(std::function<void(const GradientReady&)> callback) {
  impl_->device->on_gradient_ready(std::move(callback));
}
std::span<float> Executable::buffers() { return impl_->device->buffers(); }
std::span<float> Executable::optimizer_state() { return impl_->device->optimizer_state(); }
std::int64_t Executable::optimizer_steps() { return impl_->device->optimizer_steps(); }
void Executable::set_optimizer_steps(std::int64_t steps) { impl_->device->set_optimizer_steps(steps); }
std::span<const float> Executable::forward(std::span<const float> input) { return impl_->device->forward(input); }
float Executable::softmax_cross_entropy(std::span<const int> labels) {
  return impl_->device->softmax_cross_entropy(labels);
}
void Executable::backward() { impl_->device->backward(); }
void Executable::set_output_gradient(std::span<const float> gradient) { impl_->device->set_output_gradient(gradient); }
std::span<const float> Executable::input_gradient() { return impl_->device->input_gradient(); }
void Executable::update(double lr) { impl_->device->update(lr); }
Executable::StepResult Executable::train_step(std::span<const float> images, std::span<const int> labels, double lr) {
  return impl_->device->train_step(images, labels, lr);
}
bool Executable::graph_captured() const { return impl_->device->graph_captured(); }
bool Executable::channels_last() const { return impl_->device->channels_last(); }
Executable::Memory Executable::memory() const { return impl_->device->memory(); }

}  // namespace archetype::cudnn
