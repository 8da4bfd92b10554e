#pragma once
/// \file
/// \brief Training and evaluation of a net *type*: `runtime::train<N>(train, test, options)`
/// and `runtime::evaluate<N>(trained, data, options)`, what `archetype train` does for a zoo
/// model, for a net of one's own: the program is lowered from `N` at compile time
/// (`codegen::program_v<N>`), the inputs are normalised as the command line does, and the
/// statistics travel with the result. Link `Archetype::trainer`.
///
/// \code
///   runtime::TrainOptions options;
///   options.epochs = 1;
///   const runtime::TrainResult trained = runtime::train<MyNet>(
///       runtime::load_fashion_mnist(runtime::Split::train),
///       runtime::load_fashion_mnist(runtime::Split::test), options);
///   const runtime::Evaluation e = runtime::evaluate<MyNet>(
///       trained, runtime::load_fashion_mnist(runtime::Split::test), options);
/// \endcode

#include <archetype/codegen/program.hpp>
#include <archetype/dsl/layer.hpp>
#include <archetype/dsl/type_name.hpp>
#include <archetype/runtime/dataset.hpp>
#include <archetype/runtime/progress.hpp>
#include <archetype/runtime/trainer.hpp>

#include <cstdio>
#include <string>
#include <utility>

namespace archetype::runtime {

/// Trains net `N` (`codegen::program_v<N>`, run as `type_name<N>()`) on `train_data`,
/// evaluating on `test_data` after each epoch, with every option of `options` (device,
/// optimizer, schedule, augmentation, checkpoints, metrics, ...). A set not normalised yet
/// (`Dataset::mean` empty) is normalised per channel with the training set's statistics
/// (`Dataset::channel_stats`), as `archetype train` does; `TrainResult::mean` and `stddev`
/// keep them for evaluate<N>. The sets are taken by value: pass them with std::move to
/// avoid a copy. The images must have N's input shape (a net declared for other images
/// trains on 1x28x28 ones as `Adapted<N, Shape{1, 28, 28}>`, its input adapter); that and
/// options that do not fit throw std::invalid_argument with a sentence naming the problem.
template <Network N>
TrainResult train(Dataset train_data, Dataset test_data, const TrainOptions& options,
                  Progress& progress) {
  if (train_data.mean.empty()) {
    const Dataset::ChannelStats stats = train_data.channel_stats();
    train_data.normalize(stats.mean, stats.stddev);
  }
  if (test_data.mean.empty()) test_data.normalize(train_data.mean, train_data.stddev);
  return train(codegen::program_v<N>.view(), std::string(type_name<N>()), train_data, test_data,
               options, progress);
}

/// train<N> with its progress on stderr (a bar on a terminal, plain lines otherwise).
template <Network N>
TrainResult train(Dataset train_data, Dataset test_data, const TrainOptions& options) {
  Progress progress(stderr);
  return train<N>(std::move(train_data), std::move(test_data), options, progress);
}

/// Inference of net `N` with `trained`'s parameters and BatchNorm statistics on `data`
/// (normalised first with `trained.mean` and `stddev` when it is not yet and they are
/// known), in batches of `options.eval_batch` on `options.device` (`threads`, `precision`):
/// the mean loss, top-1 and top-5 accuracy.
template <Network N>
Evaluation evaluate(const TrainResult& trained, Dataset data, const TrainOptions& options = {}) {
  if (data.mean.empty() && !trained.mean.empty()) data.normalize(trained.mean, trained.stddev);
  return evaluate(codegen::program_v<N>.view(), trained.parameters, trained.buffers, data,
                  options.eval_batch, options.threads, options.precision, options.device);
}

}  // namespace archetype::runtime
