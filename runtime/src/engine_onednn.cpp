// The oneDNN engine of the training loop: TrainStep (forward, loss, backward, the host
// optimizer over the flat block) and EvalStep (the folded inference program), on the CPU.
#include "engine.hpp"

#include "steps.hpp"

#include <archetype/backends/onednn/threads.hpp>

#include <memory>

#include <optional>
#include <string>

namespace archetype::runtime {
namespace {

onednn::Options backend_options(const TrainOptions& o) {
  onednn::Options eo;
  eo.threads = o.threads;
  eo.conv_algorithm = o.conv_algorithm;
  eo.precision = o.precision;
  eo.dropout_seed = mix_seed(o.seed, 0xd209);
  eo.check_numerics = o.check_numerics;
  return eo;
}

class OneDnnEngine final : public Engine {
 public:
  OneDnnEngine(const codegen::ProgramView& program, const TrainOptions& o, int eval_batch)
      : program_(program),
        train_options_(o),
        governor_(o.threads),
        options_(with_trainable(with_threads(backend_options(o), governor_.threads()),
                                trainable_at(program, o, 0))),
        eval_batch_(eval_batch),
        train_(program, o.batch, options_,
               Optimizer::from(std::size_t(program.params),
                               optimizer_spec(program, o, options_.trainable))) {}

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
  }

  struct Eval {
    EvalStep step;
    int executable_threads = 0;
  };

  codegen::ProgramView program_;
  TrainOptions train_options_;
  onednn::ThreadGovernor governor_;
  onednn::Options options_;
  int eval_batch_;
  TrainStep train_;
  std::optional<Eval> eval_;
  bool announced_ = false;
  bool described_ = false;
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

std::unique_ptr<Engine> make_onednn_engine(const codegen::ProgramView& program, const TrainOptions& options,
                                           int eval_batch) {
  return std::make_unique<OneDnnEngine>(program, options, eval_batch);
}

}  // namespace archetype::runtime
