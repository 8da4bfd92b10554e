#include "steps.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace archetype::runtime {

namespace {
onednn::Options with_fold(onednn::Options o) {
  o.fold = true;
  return o;
}
onednn::Options without_input_gradient(onednn::Options o) {
  o.input_gradient = false;  // a training step updates parameters only
  return o;
}
}  // namespace

TrainStep::TrainStep(const codegen::ProgramView& program, int batch, const onednn::Options& options,
                     Optimizer optimizer)
    : program_(program),
      executable_(program, batch, onednn::Mode::training, without_input_gradient(options)),
      optimizer_(std::move(optimizer)) {
  if (program.folded) {
    throw std::invalid_argument(
        "TrainStep: the program is folded for inference; train the lowered program");
  }
}

TrainStep::Result TrainStep::operator()(std::span<const float> images, std::span<const int> labels,
                                        double lr) {
  Result r;
  // Dropout's draws are numbered by the optimizer's steps, so that a resumed or rebuilt step
  // draws the masks of an uninterrupted run.
  executable_.set_dropout_passes(std::uint64_t(optimizer_.steps()));
  r.logits = executable_.forward(images);
  r.loss = executable_.softmax_cross_entropy(labels);
  if (!std::isfinite(r.loss)) {
    throw std::runtime_error("the loss is " + std::to_string(r.loss));
  }
  executable_.backward();
  if (before_update_) before_update_();
  optimizer_.step(executable_.parameters(), executable_.gradients(), lr);
  return r;
}

TrainStep TrainStep::rebuilt(const onednn::Options& options) && {
  TrainStep next(program_, batch(), options, std::move(optimizer_));
  std::ranges::copy(parameters(), next.parameters().begin());
  std::ranges::copy(buffers(), next.buffers().begin());
  return next;
}

EvalStep::EvalStep(const codegen::ProgramView& program, int batch, const onednn::Options& options)
    : executable_(program, batch, onednn::Mode::inference, with_fold(options)) {}

void EvalStep::load(std::span<const float> parameters, std::span<const float> buffers) {
  auto p = executable_.parameters();
  auto b = executable_.buffers();
  if (parameters.size() != p.size() || buffers.size() != b.size()) {
    throw std::invalid_argument("EvalStep::load: expected " + std::to_string(p.size()) +
                                " parameters and " + std::to_string(b.size()) + " buffers, got " +
                                std::to_string(parameters.size()) + " and " +
                                std::to_string(buffers.size()));
  }
  std::copy(parameters.begin(), parameters.end(), p.begin());
  std::copy(buffers.begin(), buffers.end(), b.begin());
}

}  // namespace archetype::runtime
