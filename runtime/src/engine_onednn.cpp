// The oneDNN engine of the training loop: TrainStep (forward, loss, backward, the host
// optimizer over the flat block) and EvalStep (the folded inference program), on the CPU.
#include "engine.hpp"

#include "steps.hpp"

#include <archetype/codegen/training_plan.hpp>

#include <memory>

#include <optional>
#include <string>

namespace archetype::runtime {
namespace {

onednn::Options backend_options(const TrainOptions& o, Processes& processes) {
  onednn::Options eo;
  if (o.sync_batch_norm) {
    // Over one process too (the sum is then the identity): the same arithmetic at any
    // number of processes, so that N processes reach what one reaches.
    eo.batch_norm_all_reduce = [&processes](std::span<double> sums) {
      processes.all_reduce_sum(sums);
    };
    eo.batch_norm_processes = processes.size();
  }
  eo.threads = o.threads;
  eo.conv_algorithm = o.conv_algorithm;
  eo.precision = o.precision;
  eo.dropout_seed = mix_seed(o.seed, 0xd209);
  eo.check_numerics = o.check_numerics;
  return eo;
}

class OneDnnEngine final : public Engine {
 public:
  OneDnnEngine(const codegen::ProgramView& program, const TrainOptions& o, int eval_batch,
               Processes& processes)
      : program_(program),
        options_(backend_options(o, processes)),
        eval_batch_(eval_batch),
        train_(program, o.batch, options_,
               Optimizer::from(std::size_t(program.params), optimizer_spec(o))) {
    if (processes.size() > 1) {
      // The buckets follow the backward order of the plan the executable runs (a training
      // step computes no input gradient).
      codegen::PlanOptions plan_options;
      plan_options.input_gradient = false;
      const auto bucket = std::size_t(o.bucket_mb * (1 << 20));
      all_reduce_.emplace(processes, codegen::plan_training(program, plan_options),
                          train_.executable().gradients(), bucket,
                          std::min<std::size_t>(bucket, std::size_t{1} << 20));
      train_.executable().on_gradient_ready(
          [this](const onednn::GradientReady& g) { all_reduce_->ready(g.group); });
      train_.before_update([this] { all_reduce_->finish(); });
    }
  }

  Result step(std::span<const float> images, std::span<const int> labels, double lr) override {
    const TrainStep::Result r = train_(images, labels, lr);
    return {r.loss, r.logits};
  }
  std::span<float> parameters() override { return train_.parameters(); }
  std::span<float> buffers() override { return train_.buffers(); }
  std::span<float> optimizer_state() override { return train_.optimizer().state(); }
  void set_optimizer_steps(std::int64_t steps) override { train_.optimizer().set_steps(steps); }
  std::span<const float> gradients() override { return train_.executable().gradients(); }

  void begin_evaluation() override {
    if (!eval_) {
      onednn::Options eo;  // evaluation: the training options' threads and precision
      eo.threads = options_.threads;
      eo.precision = options_.precision;
      eval_.emplace(program_, eval_batch_, eo);
    }
    eval_->load(train_.parameters(), train_.buffers());
  }
  std::span<const float> evaluate(std::span<const float> images) override {
    return (*eval_)(images);
  }
  [[nodiscard]] int eval_batch() const override { return eval_batch_; }

 private:
  codegen::ProgramView program_;
  onednn::Options options_;
  int eval_batch_;
  TrainStep train_;
  std::optional<EvalStep> eval_;
  std::optional<GradientAllReduce> all_reduce_;
};

}  // namespace

Evaluator make_onednn_evaluator(const codegen::ProgramView& program,
                                std::span<const float> parameters, std::span<const float> buffers,
                                int batch, int threads, codegen::Precision precision) {
  onednn::Options eo;
  eo.threads = threads;
  eo.precision = precision;
  auto eval = std::make_shared<EvalStep>(program, batch, eo);
  eval->load(parameters, buffers);
  return [eval](std::span<const float> images) { return (*eval)(images); };
}

std::unique_ptr<Engine> make_onednn_engine(const codegen::ProgramView& program,
                                           const TrainOptions& options, int eval_batch,
                                           Processes& processes) {
  return std::make_unique<OneDnnEngine>(program, options, eval_batch, processes);
}

}  // namespace archetype::runtime
