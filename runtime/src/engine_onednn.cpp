// The oneDNN engine of the training loop: TrainStep (forward, loss, backward, the host
// optimizer over the flat block) and EvalStep (the folded inference program), on the CPU.
#include "engine.hpp"

#include "steps.hpp"

#include <archetype/backends/onednn/threads.hpp>
#include <archetype/codegen/training_plan.hpp>

#include <algorithm>
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
  eo.batch_norm_inference = o.batch_norm_inference;
  return eo;
}

class OneDnnEngine final : public Engine {
 public:
  OneDnnEngine(const codegen::ProgramView& program, const TrainOptions& o, int eval_batch,
               Processes& processes)
      : program_(program),
        train_options_(o),
        processes_(processes),
        governor_(o.threads),
        options_(with_trainable(with_threads(backend_options(o, processes), governor_.threads()),
                                trainable_at(program, o, 0))),
        eval_batch_(eval_batch),
        train_(program, o.batch, options_,
               Optimizer::from(std::size_t(program.params),
                               optimizer_spec(program, o, options_.trainable))) {
    attach_all_reduce();
  }

  std::optional<std::string> begin_epoch(int epoch) override {
    std::vector<bool> trainable = trainable_at(program_, train_options_, epoch);
    const bool first = !described_;
    described_ = true;
    if (trainable == options_.trainable) {
      if (!first || trainable.empty()) return std::nullopt;
      return "transfer: " + describe_trainable(program_, trainable);
    }
    // What trains changed (--unfreeze-at): a new step (the plan's gradients, saved values and
    // BatchNorm modes follow the mask) with the optimizer's runs of the new mask.
    options_.trainable = std::move(trainable);
    train_ = std::move(train_).rebuilt(options_);
    attach_all_reduce();
    train_.optimizer().set_ranges(
        optimizer_spec(program_, train_options_, options_.trainable).ranges);
    return "transfer: from epoch " + std::to_string(epoch + 1) + ", " +
           describe_trainable(program_, options_.trainable);
  }

  std::optional<std::string> adapt_to_load() override {
    const auto changed = governor_.poll();
    if (changed) rebuild(*changed);
    if (!changed && announced_) return std::nullopt;
    const bool first = !announced_;
    announced_ = true;
    if (first && governor_.threads() == governor_.max_threads()) return std::nullopt;
    return "threads: " + onednn::describe(governor_) +
           (first ? "" : ", from step " + std::to_string(train_.optimizer().steps() + 1));
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
    if (!eval_ || eval_->executable_threads != options_.threads) {
      onednn::Options eo;  // evaluation: the training options' threads and precision
      eo.threads = options_.threads;
      eo.precision = options_.precision;
      eval_.reset();
      eval_.emplace(Eval{EvalStep(program_, eval_batch_, eo), eo.threads});
    }
    eval_->step.load(train_.parameters(), train_.buffers());
  }
  std::span<const float> evaluate(std::span<const float> images) override {
    return eval_->step(images);
  }
  [[nodiscard]] int eval_batch() const override { return eval_batch_; }

 private:
  static onednn::Options with_threads(onednn::Options o, int threads) {
    o.threads = threads;
    return o;
  }
  static onednn::Options with_trainable(onednn::Options o, std::vector<bool> trainable) {
    o.trainable = std::move(trainable);
    return o;
  }

  /// oneDNN fixes a primitive's threads when it is created: a new count is a new step
  /// (building it takes ~0.03 s for ResNet-20) that continues this one.
  void rebuild(int threads) {
    options_.threads = threads;
    train_ = std::move(train_).rebuilt(options_);
    attach_all_reduce();
  }

  /// Data-parallel: the gradient all-reduce of the step built last (a rebuilt step has its
  /// own gradient block, and a new trainable mask its own backward order and buckets).
  void attach_all_reduce() {
    if (processes_.size() == 1) return;
    // The buckets follow the backward order of the plan the executable runs (a training
    // step computes no input gradient).
    codegen::PlanOptions plan_options;
    plan_options.input_gradient = false;
    plan_options.trainable = options_.trainable;
    plan_options.batch_norm_inference = options_.batch_norm_inference;
    const auto bucket = std::size_t(train_options_.bucket_mb * (1 << 20));
    all_reduce_.reset();
    all_reduce_.emplace(processes_, codegen::plan_training(program_, plan_options),
                        train_.executable().gradients(), bucket,
                        std::min<std::size_t>(bucket, std::size_t{1} << 20));
    train_.executable().on_gradient_ready(
        [this](const onednn::GradientReady& g) { all_reduce_->ready(g.group); });
    train_.before_update([this] { all_reduce_->finish(); });
  }

  struct Eval {
    EvalStep step;
    int executable_threads = 0;
  };

  codegen::ProgramView program_;
  TrainOptions train_options_;
  Processes& processes_;
  onednn::ThreadGovernor governor_;
  onednn::Options options_;
  int eval_batch_;
  TrainStep train_;
  std::optional<Eval> eval_;
  bool announced_ = false;
  bool described_ = false;
  std::optional<GradientAllReduce> all_reduce_;
};

}  // namespace

Evaluator make_onednn_evaluator(const codegen::ProgramView& program,
                                std::span<const float> parameters, std::span<const float> buffers,
                                int batch, int threads, codegen::Precision precision) {
  onednn::Options eo;
  eo.threads = onednn::ThreadGovernor(threads).threads();  // fewer where the cores are busy
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
