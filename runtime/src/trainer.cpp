#include <archetype/runtime/trainer.hpp>
#include "steps.hpp"

#include "engine.hpp"

#include <archetype/codegen/initialize.hpp>

#include <archetype/backends/onednn/executable.hpp>
#include <archetype/runtime/batches.hpp>
#include <archetype/runtime/checkpoint.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace archetype::runtime {
namespace {

std::string shape_text(int c, int h, int w) {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

void check_data(const codegen::ProgramView& program, const Dataset& data, const std::string& model) {
  const Shape in = program.tensors[std::size_t(program.input)].shape;
  const Shape out = program.tensors[std::size_t(program.output)].shape;
  if (data.dims.c != in.c || data.dims.h != in.h || data.dims.w != in.w) {
    throw std::invalid_argument("the data set " + data.name + " has " +
                                shape_text(data.dims.c, data.dims.h, data.dims.w) +
                                " images but " + model + " takes " + shape_text(in.c, in.h, in.w));
  }
  if (!out.flat() || out.c < data.classes) {
    throw std::invalid_argument(model + " outputs " + shape_text(out.c, out.h, out.w) +
                                " but the data set " + data.name + " has " +
                                std::to_string(data.classes) + " classes");
  }
  if (data.empty()) throw std::invalid_argument("the data set " + data.name + " is empty");
}

/// Adds the batch's correct top-1 and top-5 predictions.
void score(std::span<const float> logits, const int* labels, int n, int classes, double& top1,
           double& top5) {
  for (int i = 0; i < n; ++i) {
    const float* row = logits.data() + std::size_t(i) * std::size_t(classes);
    const float target = row[labels[i]];
    int above = 0;  // classes scored strictly higher than the target
    for (int k = 0; k < classes; ++k) above += row[k] > target ? 1 : 0;
    top1 += above == 0 ? 1 : 0;
    top5 += above < 5 ? 1 : 0;
  }
}

/// The metrics of the epochs the checkpoint holds. An unreadable metrics file does not stop
/// the run: it is kept beside (STEM.json.unreadable) with a warning, and the history starts
/// again, rather than being overwritten unseen.
std::vector<EpochMetrics> previous_metrics(const std::filesystem::path& metrics, int epochs_done) {
  std::vector<EpochMetrics> rows;
  try {
    rows = read_metrics(metrics);
  } catch (const std::runtime_error& e) {
    std::filesystem::path json = metrics;
    json.replace_extension(".json");
    const std::filesystem::path kept = json.string() + ".unreadable";
    std::error_code ec;
    std::filesystem::rename(json, kept, ec);
    std::fprintf(stderr,
                 "warning: %s; %s, the metrics of the earlier epochs are not carried over\n",
                 e.what(), ec ? "it will be overwritten" : ("kept as " + kept.string()).c_str());
    return {};
  }
  const auto done = std::find_if(rows.begin(), rows.end(), [&](const EpochMetrics& m) { return m.epoch > epochs_done; });
  rows.erase(done, rows.end());
  return rows;
}

/// The evaluation loop: `data` in batches of `batch` through `forward` (batch x classes
/// logits; the last batch padded with zero images, whose rows are ignored), the next batch
/// prepared while the forward pass runs. Rows labelled -1 (an image of a source that could
/// not be read) are not scored.
template <class Forward>
Evaluation evaluate_batches(const codegen::ProgramView& program, const Dataset& data, int batch, Forward&& forward) {
  const Shape out = program.tensors[std::size_t(program.output)].shape;
  const int classes = out.c;
  const std::size_t image = data.dims.size();
  std::vector<float> images(std::size_t(batch) * image, 0.0f);
  std::vector<int> labels(std::size_t(batch), 0);
  Evaluation e;
  double loss_sum = 0, top1 = 0, top5 = 0;
  std::size_t scored = 0;
  PrefetchingBatchIterator batches(data, BatchOptions::evaluation(batch));
  while (auto b = batches.next()) {
    const int n = b->size;
    std::copy_n(b->images, std::size_t(n) * image, images.begin());
    std::fill(images.begin() + std::ptrdiff_t(std::size_t(n) * image), images.end(), 0.0f);
    // Unscored rows (label -1) are moved past the scored ones; the logits of row i are row i's.
    int m = 0;
    for (int i = 0; i < n; ++i) {
      if (b->labels[i] < 0) continue;
      if (m != i)
        std::copy_n(images.begin() + std::ptrdiff_t(std::size_t(i) * image), image,
                    images.begin() + std::ptrdiff_t(std::size_t(m) * image));
      labels[std::size_t(m++)] = b->labels[i];
    }
    std::fill(labels.begin() + m, labels.end(), 0);
    if (m == 0) continue;
    const std::span<const float> logits = forward(std::span<const float>(images));
    // Per-image cross-entropy of the real images only (the padding rows are ignored).
    for (int i = 0; i < m; ++i) {
      const float* row = logits.data() + std::size_t(i) * std::size_t(classes);
      const float mx = *std::max_element(row, row + classes);
      double sum = 0;
      for (int k = 0; k < classes; ++k) sum += std::exp(double(row[k] - mx));
      loss_sum += std::log(sum) + mx - row[labels[std::size_t(i)]];
    }
    score(logits, labels.data(), m, classes, top1, top5);
    scored += std::size_t(m);
  }
  e.images = scored;
  if (scored == 0) return e;
  e.loss = loss_sum / double(scored);
  e.accuracy = top1 / double(scored);
  e.top5 = top5 / double(scored);
  return e;
}

}  // namespace

bool cuda_built() noexcept {
#if ARCHETYPE_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

std::string cuda_unavailable_reason() {
#if ARCHETYPE_HAVE_CUDA
  return cudnn_unavailable_reason();
#else
  return "this build has no CUDA backend (the CUDA toolkit and cuDNN 9 were not found when it was configured; see "
         "cmake/ArchetypeCuda.cmake)";
#endif
}

OptimizerKind optimizer_kind(const std::string& name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  throw std::invalid_argument("unknown optimizer '" + name + "': use sgd, adam or adamw");
}

codegen::OptimizerSpec optimizer_spec(const TrainOptions& o) {
  codegen::OptimizerSpec spec;
  const OptimizerKind kind = optimizer_kind(o.optimizer);
  if (kind == OptimizerKind::sgd) {
    spec.momentum = o.sgd.momentum;
    spec.nesterov = o.sgd.nesterov;
    spec.weight_decay = o.sgd.weight_decay;
    return spec;
  }
  spec.kind = codegen::OptimizerSpec::Kind::adam;
  spec.beta1 = o.adam.beta1;
  spec.beta2 = o.adam.beta2;
  spec.epsilon = o.adam.epsilon;
  spec.weight_decay = o.adam.weight_decay;
  spec.decoupled = kind == OptimizerKind::adamw;
  return spec;
}

std::vector<bool> trainable_at(const codegen::ProgramView& program, const TrainOptions& o,
                               int epoch) {
  std::vector<bool> mask = codegen::trainable_mask(program, o.freezing);  // Frozen<...> too
  for (const TrainOptions::Unfreeze& u : o.unfreeze_at) {
    (void)codegen::first_under(program, u.prefix, "--unfreeze-at");
    if (u.epoch - 1 > epoch) continue;
    std::size_t g = 0;
    for (const codegen::Op& op : program.ops) {
      if (op.layer.params == 0) continue;
      if (codegen::under(op.layer.path.view(), u.prefix)) mask[g] = true;
      ++g;
    }
  }
  if (std::all_of(mask.begin(), mask.end(), [](bool t) { return t; })) return {};
  return mask;
}

codegen::OptimizerSpec optimizer_spec(const codegen::ProgramView& program, const TrainOptions& o,
                                      const std::vector<bool>& trainable) {
  codegen::OptimizerSpec spec = optimizer_spec(o);
  if (trainable.empty() && o.lr_groups.empty()) return spec;
  std::vector<codegen::LearningRateGroup> groups;
  for (const TrainOptions::LearningRate& g : o.lr_groups) groups.push_back({g.prefix, g.lr / o.lr});
  spec.ranges = codegen::optimizer_ranges(program, trainable, groups);
  return spec;
}

namespace {
// Built by appending: g++ 12 at -O2 flags digits.insert() with a false -Wrestrict, which
// -Werror (the ci preset) turns into an error.
std::string thousands(std::int64_t v) {
  // Built forwards: g++ 12 warns (-Wrestrict, a false positive) on std::string::insert here.
  const std::string digits = std::to_string(v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && digits[i - 1] != '-' && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}
}  // namespace

std::string describe_trainable(const codegen::ProgramView& program,
                               const std::vector<bool>& trainable) {
  std::size_t layers = 0, training = 0;
  std::int64_t parameters = 0;
  for (const codegen::Op& op : program.ops) {
    if (op.layer.params == 0) continue;
    if (trainable.empty() || trainable[layers]) {
      ++training;
      parameters += op.layer.params;
    }
    ++layers;
  }
  return std::to_string(training) + " of " + std::to_string(layers) + " layers train (" +
         thousands(parameters) + " of " + thousands(program.params) + " parameters)";
}

std::unique_ptr<Engine> make_engine(const codegen::ProgramView& program,
                                    const TrainOptions& options, int eval_batch,
                                    Processes& processes) {
  if (options.device == Device::cpu)
    return make_onednn_engine(program, options, eval_batch, processes);
  if (options.sync_batch_norm) {
    throw std::invalid_argument("--sync-bn runs on the CPU backend only (--device cpu)");
  }
#if ARCHETYPE_HAVE_CUDA
  return make_cudnn_engine(program, options, eval_batch, processes);
#else
  throw std::invalid_argument("--device cuda: " + cuda_unavailable_reason());
#endif
}

Evaluation evaluate(const codegen::ProgramView& program, std::span<const float> parameters,
                    std::span<const float> buffers, const Dataset& data, int batch, int threads,
                    codegen::Precision precision, Device device) {
  if (batch < 1) throw std::invalid_argument("evaluation batch must be at least 1");
  batch = int(std::min<std::size_t>(std::size_t(batch), data.size()));
  Evaluator eval;
  if (device == Device::cpu) {
    eval = make_onednn_evaluator(program, parameters, buffers, batch, threads, precision);
  } else {
#if ARCHETYPE_HAVE_CUDA
    if (const std::string reason = cudnn_unavailable_reason(); !reason.empty()) {
      throw std::invalid_argument("--device cuda: " + reason);
    }
    eval = make_cudnn_evaluator(program, parameters, buffers, batch, precision);
#else
    throw std::invalid_argument("--device cuda: " + cuda_unavailable_reason());
#endif
  }
  return evaluate_batches(program, data, batch, eval);
}

std::string precision_of(const TrainOptions& o) {
  if (o.precision == codegen::Precision::bf16) return "bf16";
  return o.device == Device::cuda && o.tf32 ? "tf32" : "f32";
}

void check_transfer(const codegen::ProgramView& program, const TrainOptions& o) {
  const bool frozen_type = std::any_of(program.ops.begin(), program.ops.end(),
                                       [](const codegen::Op& op) { return op.layer.frozen; });
  const bool transfer = frozen_type || o.freezing.any() || !o.unfreeze_at.empty() ||
                        !o.lr_groups.empty() || o.batch_norm_inference;
  if (transfer && o.device == Device::cuda) {
    throw std::invalid_argument(
        "--freeze, --freeze-until, --unfreeze-at, --lr-group and --bn-inference run on the CPU "
        "backend (--device cpu) only: the cuDNN backend trains every parameter at one learning "
        "rate, with batch statistics");
  }
  for (const TrainOptions::Unfreeze& u : o.unfreeze_at) {
    if (u.epoch < 1 || u.epoch > o.epochs) {
      throw std::invalid_argument("--unfreeze-at " + std::to_string(u.epoch) + ":" + u.prefix +
                                  ": the epoch must be in [1, " + std::to_string(o.epochs) + "]");
    }
    (void)codegen::first_under(program, u.prefix, "--unfreeze-at");
  }
  for (const TrainOptions::LearningRate& g : o.lr_groups) {
    if (!(g.lr > 0) || !std::isfinite(g.lr)) {
      throw std::invalid_argument("--lr-group " + g.prefix + "=" + std::to_string(g.lr) +
                                  ": the learning rate must be a positive number");
    }
  }
  // Every prefix names a layer, and something trains, in every epoch.
  for (int e = 0; e < o.epochs && transfer; ++e)
    (void)optimizer_spec(program, o, trainable_at(program, o, e));
}

TrainResult train(const codegen::ProgramView& program, const std::string& model,
                  const Dataset& train_data, const Dataset& test_data, const TrainOptions& o,
                  Progress& progress) {
  if (o.epochs < 1) throw std::invalid_argument("--epochs must be at least 1");
  if (o.check_numerics && o.device == Device::cuda) {
    throw std::invalid_argument("--check-numerics runs on the CPU backend (--device cpu) only");
  }
  check_transfer(program, o);
  if (o.batch < 1) throw std::invalid_argument("--batch must be at least 1");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw std::invalid_argument("--lr must be a positive number");
  check_data(program, train_data, model);
  check_data(program, test_data, model);
  if (std::size_t(o.batch) > train_data.size()) {
    throw std::invalid_argument("--batch " + std::to_string(o.batch) + " is larger than the " +
                                std::to_string(train_data.size()) + " training images");
  }

  if (o.eval_batch < 1) throw std::invalid_argument("--eval-batch must be at least 1");
  // Data-parallel: this process's shard of every global batch and its part of the test set.
  Processes& processes =
      o.distributed ? Processes::world(o.collective_timeout) : Processes::single();
  const int ranks = processes.size();
  const int rank = processes.rank();
  if (o.batch % ranks != 0) {
    throw std::invalid_argument(
        "--batch " + std::to_string(o.batch) + " (the global batch) does not split evenly over " +
        std::to_string(ranks) + " processes: use a multiple of " + std::to_string(ranks));
  }
  if (test_data.size() < std::size_t(ranks)) {
    throw std::invalid_argument("the test set has " + std::to_string(test_data.size()) +
                                " images, fewer than the " + std::to_string(ranks) + " processes");
  }
  const Dataset test_part =
      ranks > 1 ? test_data.subset(  // a folder's subset reads its own files
                      test_data.size() * std::size_t(rank) / std::size_t(ranks),
                      test_data.size() * std::size_t(rank + 1) / std::size_t(ranks) -
                          test_data.size() * std::size_t(rank) / std::size_t(ranks))
                : Dataset{};
  const Dataset& test_mine = ranks > 1 ? test_part : test_data;
  TrainOptions local = o;
  local.batch = o.batch / ranks;
  const int eval_batch = int(std::min<std::size_t>(std::size_t(o.eval_batch), test_mine.size()));
  const std::unique_ptr<Engine> engine = make_engine(program, local, eval_batch, processes);
  codegen::initialize_parameters(program, engine->parameters(), engine->buffers(), o.seed);
  if (!o.init_parameters.empty()) {
    const TransferLoad load = load_for_transfer(o.init_parameters, program, engine->parameters(),
                                                engine->buffers(), o.init_fresh, o.init_resized);
    if ((!load.whole || !load.note.empty()) && processes.root())
      std::fprintf(stderr, "%s: %s\n", o.init_parameters.c_str(), load.describe().c_str());
  }
  // Every process starts from rank 0's parameters and statistics.
  processes.broadcast(engine->parameters());
  processes.broadcast(engine->buffers());

  BatchOptions bo = BatchOptions::training(o.batch, o.seed, o.augment);
  bo.shard = rank;
  bo.shards = ranks;
  PrefetchingBatchIterator batches(train_data, bo);
  const int steps_per_epoch = batches.batches_per_epoch();
  Schedule schedule;
  schedule.kind = Schedule::parse(o.schedule, schedule.milestones);
  if (schedule.kind == Schedule::Kind::step && schedule.milestones.empty()) {
    schedule.milestones = {std::max(1, o.epochs / 2), std::max(1, 3 * o.epochs / 4)};
  }
  schedule.base_lr = o.lr;
  schedule.steps_per_epoch = steps_per_epoch;
  schedule.total_steps = std::int64_t(steps_per_epoch) * o.epochs;
  schedule.warmup_steps = std::int64_t(steps_per_epoch) * o.warmup_epochs;

  const std::uint64_t print = fingerprint(program);
  const std::filesystem::path checkpoint_path =
      o.checkpoint_dir.empty() ? std::filesystem::path{} : o.checkpoint_dir / "checkpoint.bin";
  TrainResult result;
  int first_epoch = 0;
  std::int64_t step = 0;
  if (o.resume) {
    if (checkpoint_path.empty()) throw std::invalid_argument("--resume needs --checkpoint DIR");
    // Rank 0 reads the checkpoint (it alone writes it, no shared file system needed) and
    // gives every process its state: a checkpoint resumes at any number of processes, the
    // global batch and the order of the data being the same.
    std::array<double, 3> found{0, 0, 0};  // exists, epochs done, steps done
    if (processes.root() && std::filesystem::exists(checkpoint_path)) {
      Checkpoint c = load_checkpoint(checkpoint_path);
      if (c.fingerprint != print) {
        throw CheckpointError(checkpoint_path.string() + ": written for another architecture than " + model);
      }
      if (c.params.size() != engine->parameters().size() || c.buffers.size() != engine->buffers().size() ||
          c.optimizer_state.size() != engine->optimizer_state().size()) {
        throw CheckpointError(checkpoint_path.string() + ": sizes do not match " + model + " with --optimizer " + o.optimizer);
      }
      if (c.seed != o.seed) {
        throw CheckpointError(checkpoint_path.string() + ": written with --seed " + std::to_string(c.seed) +
                              "; resume with the same seed");
      }
      std::copy(c.params.begin(), c.params.end(), engine->parameters().begin());
      std::copy(c.buffers.begin(), c.buffers.end(), engine->buffers().begin());
      std::copy(c.optimizer_state.begin(), c.optimizer_state.end(), engine->optimizer_state().begin());
      engine->set_optimizer_steps(c.steps_done);
      first_epoch = c.epochs_done;
      step = c.steps_done;
      if (!o.metrics.empty()) result.epochs = previous_metrics(o.metrics, first_epoch);
      for (const EpochMetrics& m : result.epochs) {
        if (!m.precision.empty() && m.precision != precision_of(o)) {
          std::fprintf(stderr, "note: epoch %d of %s was trained in %s; this run goes on in %s\n", m.epoch,
                       model.c_str(), m.precision.c_str(), precision_of(o).c_str());
        }
      }
      std::fprintf(stderr, "resuming %s from %s after epoch %d (step %lld)\n", model.c_str(),
                   checkpoint_path.c_str(), first_epoch, static_cast<long long>(step));
      found = {1, double(first_epoch), double(step)};
    }
    processes.broadcast(found);
    if (found[0] != 0) {
      first_epoch = int(found[1]);
      step = std::int64_t(found[2]);
      processes.broadcast(engine->parameters());
      processes.broadcast(engine->buffers());
      processes.broadcast(engine->optimizer_state());
      engine->set_optimizer_steps(step);
    }
  }

  // Fault injection for tests/runtime/distributed: ARCHETYPE_FAULT_STALL=RANK:STEP makes that
  // rank hang at that step, as a rank whose node froze would, to check the job ends anyway.
  int stall_rank = -1;
  std::int64_t stall_at = -1;
  if (const char* fault = std::getenv("ARCHETYPE_FAULT_STALL")) {
    long long r = -1, s = -1;
    if (std::sscanf(fault, "%lld:%lld", &r, &s) == 2) {
      stall_rank = int(r);
      stall_at = s;
    }
  }
  const Shape out = program.tensors[std::size_t(program.output)].shape;
  for (int epoch = first_epoch; epoch < o.epochs; ++epoch) {
    if (o.max_steps > 0 && step >= o.max_steps) break;
    batches.start_epoch(std::uint64_t(epoch));
    if (const auto note = engine->begin_epoch(epoch)) progress.note(*note);
    progress.begin_epoch(epoch + 1, o.epochs, steps_per_epoch);
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0, top1 = 0, top5 = 0;
    long long images = 0, done = 0;
    double lr = schedule.lr(step);
    for (;;) {
      const auto asked = std::chrono::steady_clock::now();
      const auto b = batches.next();
      result.data_wait_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
      if (!b) break;
      if (o.max_steps > 0 && step >= o.max_steps) break;
      lr = schedule.lr(step);
      if (step == stall_at && rank == stall_rank) {
        for (;;) std::this_thread::sleep_for(std::chrono::hours(1));  // a rank that hangs
      }
      processes.heartbeat(step);
      const std::size_t n = std::size_t(b->size) * train_data.dims.size();
      if (const auto note = engine->adapt_to_load()) progress.note(*note);
      Engine::Result r;
      try {
        r = engine->step(std::span<const float>(b->images, n), std::span<const int>(b->labels, std::size_t(b->size)), lr);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error("training diverged: " + std::string(e.what()) + " at epoch " +
                                 std::to_string(epoch + 1) + ", step " + std::to_string(step) +
                                 " (try a lower --lr)");
      }
      const float loss = r.loss;
      score(r.logits, b->labels, b->size, out.c, top1, top5);
      if (o.on_gradients && step == 0) o.on_gradients(0, engine->gradients());
      ++step;
      ++done;
      loss_sum += loss;
      images += b->size;
      progress.step(done, loss_sum / double(done), top1 / double(images), images);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (o.on_gradients && done > 0) o.on_gradients(epoch + 1, engine->gradients());
    // Over every process: the training figures of the global batches (the mean of the
    // shards' mean losses), and the test set's parts, evaluated with rank 0's statistics
    // (with per-process BatchNorm each process's running statistics are its own).
    if (ranks > 1) {
      std::array<double, 4> train_sums{loss_sum, top1, top5, double(images)};
      processes.all_reduce_sum(train_sums);
      loss_sum = train_sums[0] / ranks;
      top1 = train_sums[1];
      images = static_cast<long long>(train_sums[3]);
      processes.broadcast(engine->buffers());
    }
    engine->begin_evaluation();
    Evaluation test =
        evaluate_batches(program, test_mine, eval_batch,
                         [&](std::span<const float> images) { return engine->evaluate(images); });
    if (ranks > 1) {
      std::array<double, 4> test_sums{test.loss * double(test.images),
                                      test.accuracy * double(test.images),
                                      test.top5 * double(test.images), double(test.images)};
      processes.all_reduce_sum(test_sums);
      test.images = std::size_t(test_sums[3]);
      test.loss = test_sums[0] / test_sums[3];
      test.accuracy = test_sums[1] / test_sums[3];
      test.top5 = test_sums[2] / test_sums[3];
    }
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.train_loss = done > 0 ? loss_sum / double(done) : 0.0;
    m.train_accuracy = images > 0 ? top1 / double(images) : 0.0;
    m.test_loss = test.loss;
    m.test_accuracy = test.accuracy;
    m.test_top5 = test.top5;
    m.lr = lr;
    m.seconds = seconds;
    result.train_seconds += seconds;
    m.images_per_second = seconds > 0 ? double(images) / seconds : 0.0;
    m.precision = precision_of(o);
    result.epochs.push_back(m);
    progress.end_epoch(m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy, m.lr);
    if (!o.metrics.empty() && processes.root()) write_metrics(o.metrics, model, result.epochs);
    if (!checkpoint_path.empty() && processes.root()) {
      Checkpoint c;
      c.fingerprint = print;
      c.epochs_done = epoch + 1;
      c.steps_done = step;
      c.seed = o.seed;
      const auto params = engine->parameters();
      const auto buffers = engine->buffers();
      const auto state = engine->optimizer_state();
      c.params.assign(params.begin(), params.end());
      c.buffers.assign(buffers.begin(), buffers.end());
      c.optimizer_state.assign(state.begin(), state.end());
      // The checkpoint last: it is what --resume continues from, so a crash before it
      // replays this epoch and rewrites the files above, and none is left older than it.
      save_parameters(o.checkpoint_dir / "model.params", program, params, buffers);
      save_checkpoint(checkpoint_path, c);
    }
  }
  const auto params = engine->parameters();
  const auto buffers = engine->buffers();
  result.parameters.assign(params.begin(), params.end());
  result.buffers.assign(buffers.begin(), buffers.end());
  result.steps = step;
  result.mean = train_data.mean;
  result.stddev = train_data.stddev;
  return result;
}

}  // namespace archetype::runtime
