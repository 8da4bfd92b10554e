// The cuDNN engine of the training loop (`archetype train --device cuda`): the whole step on
// the GPU (cudnn::Executable::train_step: forward, loss, backward and the optimizer over the
// flat block, captured as a CUDA Graph at the second step and replayed), evaluation by an
// inference executable of the same program. Parameters, running statistics and optimizer
// state live on the device; the trainer reads them through the host mirrors for
// checkpoints and writes them on --resume.
#include "engine.hpp"

#include <archetype/backends/cudnn/executable.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace archetype::runtime {
namespace {

cudnn::Options backend_options(const TrainOptions& o) {
  cudnn::Options co;
  co.tf32 = o.tf32;
  co.precision = o.precision;
  co.dropout_seed = mix_seed(o.seed, 0xd209);
  co.input_gradient = false;  // a training step updates parameters only
  co.optimizer = optimizer_spec(o);
  return co;
}

/// One process per GPU: the node-local rank's device, and NCCL's id from rank 0.
cudnn::Options data_parallel(cudnn::Options co, Processes& processes) {
  if (processes.size() == 1) return co;
  co.device = processes.local_rank();
  co.nccl_ranks = processes.size();
  co.nccl_rank = processes.rank();
  if (processes.root()) co.nccl_id = cudnn::nccl_unique_id();
  processes.broadcast(std::span<unsigned char>(co.nccl_id));
  return co;
}

class CudnnEngine final : public Engine {
 public:
  CudnnEngine(const codegen::ProgramView& program, const TrainOptions& o, int eval_batch,
              Processes& processes)
      : program_(program),
        options_(data_parallel(backend_options(o), processes)),
        eval_batch_(eval_batch),
        train_(program, o.batch, cudnn::Mode::training, options_) {}

  Result step(std::span<const float> images, std::span<const int> labels, double lr) override {
    const cudnn::Executable::StepResult r = train_.train_step(images, labels, lr);
    return {r.loss, r.logits};
  }
  std::span<float> parameters() override { return train_.parameters(); }
  std::span<float> buffers() override { return train_.buffers(); }
  std::span<float> optimizer_state() override { return train_.optimizer_state(); }
  void set_optimizer_steps(std::int64_t steps) override { train_.set_optimizer_steps(steps); }
  std::span<const float> gradients() override { return train_.gradients(); }

  void begin_evaluation() override {
    if (!eval_) {
      cudnn::Options eo = options_;  // the same device, no all-reduce
      eo.nccl_ranks = 0;
      eo.nccl_rank = 0;
      eval_.emplace(program_, eval_batch_, cudnn::Mode::inference, eo);
    }
    const auto p = train_.parameters();
    const auto b = train_.buffers();
    std::copy(p.begin(), p.end(), eval_->parameters().begin());
    std::copy(b.begin(), b.end(), eval_->buffers().begin());
  }
  std::span<const float> evaluate(std::span<const float> images) override {
    return eval_->forward(images);
  }
  [[nodiscard]] int eval_batch() const override { return eval_batch_; }

 private:
  codegen::ProgramView program_;
  cudnn::Options options_;
  int eval_batch_;
  cudnn::Executable train_;
  std::optional<cudnn::Executable> eval_;
};

}  // namespace

Evaluator make_cudnn_evaluator(const codegen::ProgramView& program,
                               std::span<const float> parameters, std::span<const float> buffers,
                               int batch, codegen::Precision precision) {
  cudnn::Options co;
  co.precision = precision;
  auto eval = std::make_shared<cudnn::Executable>(program, batch, cudnn::Mode::inference, co);
  std::copy(parameters.begin(), parameters.end(), eval->parameters().begin());
  std::copy(buffers.begin(), buffers.end(), eval->buffers().begin());
  return [eval](std::span<const float> images) { return eval->forward(images); };
}

std::string cudnn_unavailable_reason() { return cudnn::unavailable_reason(); }

std::unique_ptr<Engine> make_cudnn_engine(const codegen::ProgramView& program,
                                          const TrainOptions& options, int eval_batch,
                                          Processes& processes) {
  const int device = processes.size() > 1 ? processes.local_rank() : 0;
  if (const std::string reason = cudnn::unavailable_reason(device); !reason.empty()) {
    throw std::invalid_argument("--device cuda: " + reason);
  }
  return std::make_unique<CudnnEngine>(program, options, eval_batch, processes);
}

}  // namespace archetype::runtime
