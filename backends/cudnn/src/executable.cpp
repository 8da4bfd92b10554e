// The cuDNN Executable's driver: allocates what the memory plan (plan.hpp) asks for, runs
// the build loop (each op's builder is in the ops_*.cpp of its family, context.hpp says how
// they share the state), then forward()/backward()/train_step() only enqueue the built
// steps on one stream (or replay them as a captured CUDA Graph). Built into the backend's
// plug-in (plugin.hpp), with plan.cpp and kernels_*.cu: `DeviceExecutable` is what the public
// `cudnn::Executable` (facade.cpp) forwards to, and `archetype_cudnn_plugin_api` the
// plug-in's entry point.

#include "context.hpp"
#include "plugin.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace archetype::cudnn::detail {

void Impl::build(Find& find) {
  const int n = int(ops.size());
  backward_of.assign(std::size_t(n), Step{});
  if (training()) {
    bool random = false;
    for (int o = 0; o < n; ++o) {
      const LayerKind k = ops[std::size_t(o)].layer.op;
      random = random || ((k == LayerKind::dropout || k == LayerKind::stochastic_depth) &&
                          !plan.view_op[std::size_t(o)]);
    }
    if (random) {  // new dropout draws for every forward pass (the backward reuses them)
      std::uint64_t* step = dropout_step();
      forward_steps.push_back([this, step] { kernels::advance_counter(stream, step); });
    }
  }
  if (bf16() && params_count > 0) {  // this step's parameters in bf16, for the products
    std::vector<ParamRun> runs;      // every op's, adjacent plain runs merged (one cast for NCHW)
    for (const codegen::Op& op : ops) {
      if (op.layer.params == 0) continue;
      for (const ParamRun& r : param_runs(op)) {
        const bool merge = !runs.empty() && r.k == 0 && runs.back().k == 0 &&
                           runs.back().offset + runs.back().count == r.offset;
        if (merge)
          runs.back().count += r.count;
        else
          runs.push_back(r);
      }
    }
    forward_steps.push_back(
        [this, runs] { cast_runs(runs, params.as<float>(), params_lp.as<Bf16>()); });
  }
  for (int o = 0; o < n; ++o) {
    if (plan.view_op[std::size_t(o)] || plan.absorbed[std::size_t(o)])
      continue;  // an absorbed ReLU: in its BatchNorm
    try {
      if (bf16())
        build_op<Bf16>(o, find);
      else
        build_op<float>(o, find);
    } catch (const std::exception& e) {
      throw std::runtime_error("archetype::cudnn: cannot build " + op_name(ops[std::size_t(o)]) +
                               ": " + e.what());
    }
  }
  if (!training()) return;
  if (options.nccl_ranks > 0) nccl = NcclAllReduce::create(options, plan);
  for (int o = n - 1; o >= 0; --o) {
    const int out = ops[std::size_t(o)].output;
    if (plan.view_op[std::size_t(o)] || !needs_grad(out)) continue;
    if (plan.gradient_unwritten[std::size_t(plan.base[std::size_t(out)])]) {
      void* g = gradient(out);
      const std::size_t bytes = std::size_t(count(out)) * elem;
      backward_steps.push_back(
          [this, g, bytes] { check(cudaMemsetAsync(g, 0, bytes, stream), "zero gradient"); });
    }
    if (backward_of[std::size_t(o)]) backward_steps.push_back(backward_of[std::size_t(o)]);
    if (plan.weight_gradient[std::size_t(o)]) {  // the group's gradient is final here
      const int group = plan.group_of_op[std::size_t(o)];
      const codegen::ParameterGroup& g = plan.groups[std::size_t(group)];
      const GradientReady ready{group, g.offset, g.size, grads.as<float>() + g.offset, stream};
      backward_steps.push_back([this, ready] {
        if (gradient_ready) gradient_ready(ready);
        // Data-parallel: the bucket this group completes starts its all-reduce.
        if (nccl) nccl->ready(ready.group, grads.as<float>(), stream);
      });
    }
  }
  if (nccl) backward_steps.push_back([this] { nccl->join(stream); });  // before any update
}

template <class T>
void Impl::build_op(int o, Find& find) {
  const LayerKind kind = ops[std::size_t(o)].layer.op;
  if (nhwc && !has_channels_last_kernel(kind)) {
    throw std::logic_error(
        "no channels-last implementation (channels_last_possible must refuse it)");
  }
  using K = LayerKind;
  // One line per kind: a table.
  // clang-format off
  switch (kind) {
    case K::conv: return build_conv<T>(o, find);
    case K::linear: return build_linear<T>(o);
    case K::batch_norm:
      if constexpr (std::is_same_v<T, Bf16>) return build_batch_norm_bf16(o);
      else return build_batch_norm(o);
    case K::local_response_norm: return build_lrn<T>(o);
    case K::max_pool:
    case K::avg_pool:
    case K::global_avg_pool:
    case K::adaptive_avg_pool: return build_pool<T>(o);
    case K::relu:
    case K::relu6:
    case K::silu:
    case K::sigmoid: return build_activation<T>(o);
    case K::dropout:
    case K::stochastic_depth: return build_dropout<T>(o);
    case K::add: return build_add<T>(o);
    case K::concat: return build_concat<T>(o);
    case K::scale: return build_scale<T>(o);
    case K::zero_pad_shortcut: return build_zero_pad_shortcut<T>(o);
    case K::pad_to: return build_pad_to<T>(o);
    case K::resize: return build_resize<T>(o);
    default: throw std::logic_error("no cuDNN implementation of this op kind");
  }
  // clang-format on
}

/// The plug-in's side of `cudnn::Executable` (plugin.hpp): what executable.hpp documents,
/// done on the device.
class DeviceExecutable final : public plugin::Executable {
 public:
  using StepResult = cudnn::Executable::StepResult;
  using Memory = cudnn::Executable::Memory;
  DeviceExecutable(const codegen::ProgramView& program, int batch, Mode mode,
                   const Options& options);
  [[nodiscard]] int batch() const override;
  [[nodiscard]] Mode mode() const override;
  std::span<float> parameters() override;
  std::span<float> gradients() override;
  void on_gradient_ready(std::function<void(const GradientReady&)> callback) override;
  std::span<float> buffers() override;
  std::span<float> optimizer_state() override;
  std::int64_t optimizer_steps() override;
  void set_optimizer_steps(std::int64_t steps) override;
  std::span<const float> forward(std::span<const float> input) override;
  float softmax_cross_entropy(std::span<const int> labels) override;
  void backward() override;
  void set_output_gradient(std::span<const float> gradient) override;
  std::span<const float> input_gradient() override;
  void update(double lr) override;
  StepResult train_step(std::span<const float> images, std::span<const int> labels,
                        double lr) override;
  [[nodiscard]] bool graph_captured() const override;
  [[nodiscard]] bool channels_last() const override;
  [[nodiscard]] Memory memory() const override;

 private:
  std::unique_ptr<Impl> impl_;
};

DeviceExecutable::DeviceExecutable(const codegen::ProgramView& program, int batch, Mode mode,
                                   const Options& options)
    : impl_(std::make_unique<Impl>()) {
  if (batch < 1) {
    throw std::invalid_argument("archetype::cudnn: batch must be at least 1, got " +
                                std::to_string(batch));
  }
  if (program.ops.empty() || program.tensors.size() != program.ops.size() + 1) {
    throw std::invalid_argument(
        "archetype::cudnn: the program has no ops or an inconsistent tensor list");
  }
  if (options.nccl_ranks < 0 ||
      (options.nccl_ranks > 0 &&
       (options.nccl_rank < 0 || options.nccl_rank >= options.nccl_ranks))) {
    throw std::invalid_argument("archetype::cudnn: NCCL rank " + std::to_string(options.nccl_rank) +
                                " of " + std::to_string(options.nccl_ranks) + " does not exist");
  }
  if (const std::string reason = device_unavailable_reason(options.device); !reason.empty()) {
    throw std::runtime_error("archetype::cudnn: " + reason);
  }
  // cuDNN's bf16 convolutions and bf16 atomics need Ampere or newer.
  if (options.precision == Precision::bf16) {
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, options.device), "cudaGetDeviceProperties");
    if (prop.major < 8) {
      throw std::runtime_error(
          std::string("archetype::cudnn: bf16 needs compute capability 8.0 or newer; ") +
          prop.name + " has " + std::to_string(prop.major) + "." + std::to_string(prop.minor));
    }
  }
  Impl& m = *impl_;
  m.ops.assign(program.ops.begin(), program.ops.end());
  for (codegen::Op& op : m.ops) op.fusion = codegen::Fusion{};  // every op runs as written
  m.tensors.assign(program.tensors.begin(), program.tensors.end());
  m.batch = batch;
  m.mode = mode;
  m.options = options;
  m.input = program.input;
  m.output = program.output;
  m.input_shape = program.tensors[std::size_t(m.input)].shape;
  m.output_shape = program.tensors[std::size_t(m.output)].shape;
  m.input_size = batch * m.input_shape.elements();
  m.output_size = batch * m.output_shape.elements();
  m.params_count = program.params;
  m.buffers_count = program.buffers;
  const OptimizerOptions& opt = options.optimizer;
  m.state_count = opt.kind == OptimizerOptions::Kind::adam ? 2 * program.params
                  : opt.momentum != 0.0                    ? program.params
                                                           : 0;
  const bool bf16 = options.precision == Precision::bf16;
  m.plan = plan_memory(program, batch, mode == Mode::training, options.dropout,
                       options.input_gradient, bf16 && options.fuse_batch_norm_relu);
  m.elem = bf16 ? sizeof(Bf16) : sizeof(float);
  m.nhwc = bf16 && options.channels_last && channels_last_possible(program, m.plan);

  m.start_device();

  {
    // Measure convolution algorithms with the largest workspace allowed (at most half the
    // free memory), then keep only what the chosen ones need.
    std::size_t free_bytes = 0, total_bytes = 0;
    check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    Impl::Find find;
    find.memory.allocate(
        std::min<std::size_t>(std::size_t(options.workspace_limit), free_bytes / 2),
        "the algorithm search workspace");
    m.build(find);
  }
  m.workspace.allocate(m.workspace_needed, "the convolution workspace");
  check(cudaDeviceSynchronize(), "building the executable");

  m.staged_images.allocate(std::size_t(m.input_size) * sizeof(float), "the images");
  m.staged_labels.allocate(std::size_t(batch) * sizeof(int), "the labels");
  m.staged_lr.allocate(sizeof(float), "the learning rate");
  m.staged_loss.allocate(sizeof(float), "the loss");
  m.staged_logits.allocate(std::size_t(m.output_size) * m.elem, "the logits");
  m.host_output.assign(std::size_t(m.output_size), 0.f);
  if (m.training() && options.input_gradient)
    m.host_input_grad.assign(std::size_t(m.input_size), 0.f);
}

int DeviceExecutable::batch() const { return impl_->batch; }
Mode DeviceExecutable::mode() const { return impl_->mode; }

std::span<float> DeviceExecutable::parameters() {
  Impl& m = *impl_;
  return m.mirror(m.host_params, m.params, m.params_device_newer, m.params_host_dirty,
                  "parameters to the host");
}

std::span<float> DeviceExecutable::gradients() {
  Impl& m = *impl_;
  m.download(m.host_grads, m.grads.ptr, "gradients to the host");
  return m.host_grads;
}

void DeviceExecutable::on_gradient_ready(std::function<void(const GradientReady&)> callback) {
  Impl& m = *impl_;
  m.gradient_ready = std::move(callback);
  // A captured graph holds what the old callback enqueued: the next step records a new one.
  if (m.graph_exec != nullptr) check(cudaGraphExecDestroy(m.graph_exec), "cudaGraphExecDestroy");
  if (m.graph != nullptr) check(cudaGraphDestroy(m.graph), "cudaGraphDestroy");
  m.graph_exec = nullptr;
  m.graph = nullptr;
}

std::span<float> DeviceExecutable::buffers() {
  Impl& m = *impl_;
  return m.mirror(m.host_buffers, m.buffers, m.buffers_device_newer, m.buffers_host_dirty,
                  "buffers to the host");
}

std::span<float> DeviceExecutable::optimizer_state() {
  Impl& m = *impl_;
  return m.mirror(m.host_state, m.state, m.state_device_newer, m.state_host_dirty,
                  "optimizer state to the host");
}

std::int64_t DeviceExecutable::optimizer_steps() {
  std::int64_t steps = 0;
  check(cudaMemcpy(&steps, impl_->steps(), sizeof steps, cudaMemcpyDeviceToHost),
        "step count to the host");
  return steps;
}

void DeviceExecutable::set_optimizer_steps(std::int64_t steps) {
  check(cudaMemcpy(impl_->steps(), &steps, sizeof steps, cudaMemcpyHostToDevice),
        "step count to the device");
}

std::span<const float> DeviceExecutable::forward(std::span<const float> input) {
  Impl& m = *impl_;
  if (std::int64_t(input.size()) != m.input_size) {
    throw std::invalid_argument(
        "archetype::cudnn: forward() expected " + std::to_string(m.input_size) +
        " floats (batch x input shape), got " + std::to_string(input.size()));
  }
  m.push_host_mirrors();
  m.enqueue_input(input.data());
  m.run(m.forward_steps);
  check(cudaMemcpyAsync(m.staged_logits.ptr, m.value(m.output), std::size_t(m.output_size) * m.elem,
                        cudaMemcpyDeviceToHost, m.stream),
        "output to the host");
  m.synchronize("forward");
  m.to_floats(m.staged_logits.ptr, m.host_output.data(), m.output_size);
  if (m.training()) m.buffers_device_newer = true;
  m.have_forward = true;
  m.have_output_grad = false;
  return m.host_output;
}

float DeviceExecutable::softmax_cross_entropy(std::span<const int> labels) {
  Impl& m = *impl_;
  if (!m.have_forward)
    throw std::logic_error("archetype::cudnn: softmax_cross_entropy() before forward()");
  codegen::check_labels(labels, m.batch, m.output_size / m.batch, "archetype::cudnn");
  check(cudaMemcpyAsync(m.labels.ptr, labels.data(), labels.size() * sizeof(int),
                        cudaMemcpyHostToDevice, m.stream),
        "labels to the device");
  m.enqueue_loss();
  float loss = 0;
  check(cudaMemcpyAsync(&loss, m.loss(), sizeof loss, cudaMemcpyDeviceToHost, m.stream),
        "loss to the host");
  m.synchronize("softmax cross-entropy");
  m.have_output_grad = m.training();
  return loss;
}

void DeviceExecutable::set_output_gradient(std::span<const float> gradient) {
  Impl& m = *impl_;
  if (std::int64_t(gradient.size()) != m.output_size) {
    throw std::invalid_argument("archetype::cudnn: set_output_gradient() expected " +
                                std::to_string(m.output_size) + " floats, got " +
                                std::to_string(gradient.size()));
  }
  if (!m.training()) {
    throw std::logic_error(
        "archetype::cudnn: set_output_gradient() needs an executable built for training");
  }
  if (void* g = m.gradient(m.output)) {
    const void* from = gradient.data();
    if (m.bf16()) {
      m.host_lp.resize(gradient.size());
      std::transform(gradient.begin(), gradient.end(), m.host_lp.begin(), kernels::to_bf16);
      from = m.host_lp.data();
    }
    check(cudaMemcpy(g, from, gradient.size() * m.elem, cudaMemcpyHostToDevice),
          "output gradient to the device");
  }
  m.have_output_grad = true;
}

void DeviceExecutable::backward() {
  Impl& m = *impl_;
  if (!m.training())
    throw std::logic_error("archetype::cudnn: backward() needs an executable built for training");
  if (!m.have_forward || !m.have_output_grad) {
    throw std::logic_error(
        "archetype::cudnn: backward() needs a forward() then softmax_cross_entropy() or "
        "set_output_gradient()");
  }
  m.push_host_mirrors();
  m.run(m.backward_steps);
  m.synchronize("backward");
}

std::span<const float> DeviceExecutable::input_gradient() {
  Impl& m = *impl_;
  if (m.host_input_grad.empty() || m.gradient(m.input) == nullptr) return {};
  if (!m.bf16()) {
    m.download(m.host_input_grad, m.gradient(m.input), "input gradient to the host");
  } else {
    m.host_lp.resize(m.host_input_grad.size());
    m.download(m.host_lp, m.gradient(m.input), "input gradient to the host");
    if (!m.nhwc) {
      m.to_floats(m.host_lp.data(), m.host_input_grad.data(),
                  std::int64_t(m.host_input_grad.size()));
    } else {  // NHWC on the device, NCHW for the caller
      const std::int64_t c = m.input_shape.c, hw = std::int64_t{m.input_shape.h} * m.input_shape.w;
      for (std::int64_t n = 0; n < m.batch; ++n) {
        for (std::int64_t ch = 0; ch < c; ++ch) {
          for (std::int64_t k = 0; k < hw; ++k) {
            m.host_input_grad[std::size_t((n * c + ch) * hw + k)] =
                kernels::to_float(m.host_lp[std::size_t((n * hw + k) * c + ch)]);
          }
        }
      }
    }
  }
  return m.host_input_grad;
}

void DeviceExecutable::update(double lr) {
  Impl& m = *impl_;
  if (!m.training())
    throw std::logic_error("archetype::cudnn: update() needs an executable built for training");
  m.push_host_mirrors();
  *m.staged_lr.as<float>() = float(lr);
  check(cudaMemcpyAsync(m.lr(), m.staged_lr.ptr, sizeof(float), cudaMemcpyHostToDevice, m.stream),
        "learning rate to the device");
  m.enqueue_update(nullptr);
  m.synchronize("optimizer step");
  m.params_device_newer = m.state_device_newer = true;
}

DeviceExecutable::StepResult DeviceExecutable::train_step(std::span<const float> images,
                                                          std::span<const int> labels, double lr) {
  Impl& m = *impl_;
  if (!m.training())
    throw std::logic_error("archetype::cudnn: train_step() needs an executable built for training");
  if (std::int64_t(images.size()) != m.input_size || std::int64_t(labels.size()) != m.batch) {
    throw std::invalid_argument(
        "archetype::cudnn: train_step() expected " + std::to_string(m.input_size) + " floats and " +
        std::to_string(m.batch) + " labels, got " + std::to_string(images.size()) + " and " +
        std::to_string(labels.size()));
  }
  codegen::check_labels(labels, m.batch, m.output_size / m.batch, "archetype::cudnn");
  m.push_host_mirrors();
  std::memcpy(m.staged_images.ptr, images.data(), images.size() * sizeof(float));
  std::memcpy(m.staged_labels.ptr, labels.data(), labels.size() * sizeof(int));
  *m.staged_lr.as<float>() = float(lr);
  ++m.train_calls;
  if (m.options.cuda_graph && m.train_calls >= 2) {
    if (m.graph_exec == nullptr) {  // the first call ran eagerly: cuDNN and cuBLAS are warm
      check(cudaStreamBeginCapture(m.stream, cudaStreamCaptureModeThreadLocal),
            "cudaStreamBeginCapture");
      try {
        m.enqueue_train_step();
      } catch (...) {
        cudaGraph_t broken = nullptr;
        cudaStreamEndCapture(m.stream, &broken);
        if (broken != nullptr) cudaGraphDestroy(broken);
        throw;
      }
      check(cudaStreamEndCapture(m.stream, &m.graph), "cudaStreamEndCapture");
      check(cudaGraphInstantiate(&m.graph_exec, m.graph, 0), "cudaGraphInstantiate");
    }
    check(cudaGraphLaunch(m.graph_exec, m.stream), "cudaGraphLaunch");
  } else {
    m.enqueue_train_step();
  }
  m.synchronize("training step");
  m.params_device_newer = m.state_device_newer = m.buffers_device_newer = true;
  m.have_forward = true;
  m.have_output_grad = true;
  const float loss = *m.staged_loss.as<float>();
  if (!std::isfinite(loss)) {
    throw std::runtime_error("the loss is " + std::to_string(loss));
  }
  m.to_floats(m.staged_logits.ptr, m.host_output.data(), m.output_size);
  return StepResult{loss, m.host_output};
}

bool DeviceExecutable::graph_captured() const { return impl_->graph_exec != nullptr; }
bool DeviceExecutable::channels_last() const { return impl_->nhwc; }

DeviceExecutable::Memory DeviceExecutable::memory() const {
  const Impl& m = *impl_;
  Memory r;
  r.arena = std::int64_t(m.arena.bytes);
  r.workspace = std::int64_t(m.workspace.bytes + m.blas_workspace.bytes);
  r.total = r.arena + r.workspace;
  for (const DeviceMemory* d :
       {&m.params, &m.grads, &m.buffers, &m.state, &m.scalars, &m.labels, &m.per_sample,
        &m.loss_gradient_scratch, &m.params_lp, &m.grads_lp, &m.input_f32}) {
    r.total += std::int64_t(d->bytes);
  }
  for (const auto& d : m.op_memory) r.total += std::int64_t(d->bytes);
  return r;
}

namespace {

std::unique_ptr<plugin::Executable> create(const codegen::ProgramView& program, int batch,
                                           Mode mode, const Options& options) {
  return std::make_unique<DeviceExecutable>(program, batch, mode, options);
}

}  // namespace
}  // namespace archetype::cudnn::detail

extern "C" __attribute__((visibility("default"))) const archetype::cudnn::plugin::Api*
archetype_cudnn_plugin_api() {
  static const archetype::cudnn::plugin::Api api{
      {},
      &archetype::cudnn::detail::device_unavailable_reason,
      &archetype::cudnn::detail::create,
      &archetype::cudnn::detail::nccl_unique_id};
  return &api;
}
