// `archetype train MODEL --data …`: trains a model of the zoo on the oneDNN backend (or, with
// --device cuda, on the cuDNN one), after printing its compile-time summary.
#include "commands.hpp"

#include <archetype/architectures/registry.hpp>
#include <archetype/codegen/new_head.hpp>
#include <archetype/runtime/cifar.hpp>
#include <archetype/runtime/distributed.hpp>
#include <archetype/runtime/idx.hpp>
#include <archetype/runtime/parameters_file.hpp>
#include <archetype/runtime/synthetic.hpp>
#include <archetype/runtime/trainer.hpp>

#include <archetype/runtime/schedule.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace archetype::cli {
namespace {

/// "--seed: must be a whole number of at least 0, not '-5'" (CLI11 would wrap a negative
/// number around into an unsigned option).
CLI::Validator whole_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error != std::errc{} || stop != end) {
          return "must be a whole number of at least 0, not '" + text + "'";
        }
        return {};
      },
      "");
}

/// "--lr: must be a positive number, not 'nan'".
CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error != std::errc{} || stop != end || !std::isfinite(value) || !(value > 0)) {
          return "must be a positive number, not '" + text + "'";
        }
        return {};
      },
      "");
}

/// --schedule: the words Schedule::parse reads, checked before any data is loaded.
CLI::Validator schedule_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::vector<int> milestones;
        try {
          (void)runtime::Schedule::parse(text, milestones);
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
        return {};
      },
      "");
}

/// --data: a known kind, with a directory where the kind needs one (whether it exists is
/// the loader's to say).
CLI::Validator data_validator() {
  return CLI::Validator(
      [](std::string& spec) -> std::string {
        const auto colon = spec.find(':');
        const std::string kind = spec.substr(0, colon);
        const bool has_dir = colon != std::string::npos;
        if (has_dir && colon + 1 == spec.size())
          return "the directory after ':' is empty in '" + spec + "'";
        if (kind == "fashion-mnist") return {};
        if (kind == "synthetic" && !has_dir) return {};
        if ((kind == "mnist" || kind == "cifar10" || kind == "cifar100") && has_dir) return {};
        if (kind == "mnist" || kind == "cifar10" || kind == "cifar100") {
          return kind + " needs a directory: --data " + kind + ":DIR";
        }
        return "unknown data set '" + spec +
               "': use fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR or synthetic";
      },
      "");
}

struct TrainCommandOptions {
  std::string model;
  std::string data = "fashion-mnist";
  std::string augment = "auto";
  std::string conv_algorithm = "direct";
  std::string precision = "f32";
  std::string device = "cpu";
  std::size_t limit_train = 0;
  std::size_t limit_test = 0;
  std::string save;
  bool distributed = false;
  bool new_head = false;                 // the last Linear resized to the data's classes
  std::vector<std::string> unfreeze_at;  // EPOCH:PREFIX
  std::vector<std::string> lr_groups;    // PREFIX=LR
  runtime::TrainOptions train;
};

/// --unfreeze-at EPOCH:PREFIX, checked when parsed.
std::optional<runtime::TrainOptions::Unfreeze> parse_unfreeze(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  int epoch = 0;
  const char* end = text.data() + colon;
  const auto [stop, error] = std::from_chars(text.data(), end, epoch);
  if (error != std::errc{} || stop != end || epoch < 1) return std::nullopt;
  return runtime::TrainOptions::Unfreeze{epoch, text.substr(colon + 1)};
}

/// --lr-group PREFIX=LR, checked when parsed.
std::optional<runtime::TrainOptions::LearningRate> parse_lr_group(const std::string& text) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) return std::nullopt;
  double lr = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data() + eq + 1, end, lr);
  if (error != std::errc{} || stop != end || !std::isfinite(lr) || !(lr > 0)) return std::nullopt;
  return runtime::TrainOptions::LearningRate{text.substr(0, eq), lr};
}

struct Data {
  runtime::Dataset train, test;
  bool colour = false;  // CIFAR: augment with crop and flip by default
};

/// `fashion-mnist`, `fashion-mnist:DIR`, `mnist:DIR`, `cifar10:DIR`, `cifar100:DIR`,
/// `synthetic` (a learnable random set for smoke tests).
Data load_data(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::filesystem::path dir = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (colon != std::string::npos && dir.empty()) {
    throw std::invalid_argument("--data " + spec + ": the directory after ':' is empty");
  }
  using runtime::Split;
  if (kind == "fashion-mnist") {
    if (dir.empty())
      return {runtime::load_fashion_mnist(Split::train), runtime::load_fashion_mnist(Split::test)};
    return {runtime::load_fashion_mnist(dir, Split::train),
            runtime::load_fashion_mnist(dir, Split::test)};
  }
  if (kind == "mnist" || kind == "cifar10" || kind == "cifar100") {
    if (dir.empty())
      throw std::invalid_argument("--data " + kind + " needs a directory: --data " + kind + ":DIR");
    if (kind == "mnist")
      return {runtime::load_mnist(dir, Split::train), runtime::load_mnist(dir, Split::test)};
    if (kind == "cifar10")
      return {runtime::load_cifar10(dir, Split::train), runtime::load_cifar10(dir, Split::test),
              true};
    return {runtime::load_cifar100(dir, Split::train), runtime::load_cifar100(dir, Split::test),
            true};
  }
  if (kind == "synthetic") {
    // A learnable 1x28x28, 10-class set: 4,096 training and 1,024 test images of one task
    // (the class patterns come from the seed: the test images are drawn with the same one).
    const runtime::Dataset all = runtime::make_synthetic({4096 + 1024, {1, 28, 28}, 10, 1, 0.2f});
    return {all.subset(4096), all.subset(4096, 1024)};
  }
  throw std::invalid_argument(
      "unknown data set '" + spec +
      "': use fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR or synthetic");
}

int run_train_here(TrainCommandOptions o, runtime::Processes& processes);

/// Data-parallel under an MPI launcher (or --distributed): every rank runs the same command;
/// rank 0 alone prints, writes and saves. An error on one rank ends the whole job (the
/// others would wait for it in their next collective) with its message.
int run_train(TrainCommandOptions o) {
  o.train.distributed = o.distributed || runtime::launched_by_mpi();
  if (!o.train.distributed) return run_train_here(std::move(o), runtime::Processes::single());
  if (!runtime::mpi_built()) {
    std::cerr << "archetype train: " << (o.distributed ? "--distributed" : "launched by mpirun")
              << ", but this build has no MPI (install libopenmpi-dev and configure again)\n";
    return 1;
  }
  runtime::Processes& processes = runtime::Processes::world(o.train.collective_timeout);
  if (!processes.root()) {
    // One voice: the other ranks' standard output goes nowhere, their errors still show.
    if (std::freopen("/dev/null", "w", stdout) == nullptr) std::cout.setstate(std::ios::badbit);
  }
  try {
    return run_train_here(std::move(o), processes);
  } catch (const std::exception& e) {
    if (processes.size() == 1) throw;
    processes.abort(e.what());
  }
}

int run_train_here(TrainCommandOptions o, runtime::Processes& processes) {
  const ModelEntry* m = model_or_report(o.model);
  if (m == nullptr) return exit_usage;
  o.train.device = o.device == "cuda" ? runtime::Device::cuda : runtime::Device::cpu;
  if (o.train.device == runtime::Device::cpu && o.train.tf32) {
    std::cerr << "archetype train: --tf32 is for --device cuda\n";
    return exit_usage;
  }
  if (o.train.device == runtime::Device::cuda && o.train.check_numerics) {
    std::cerr << "archetype train: --check-numerics runs on the CPU backend (--device cpu) only\n";
    return exit_usage;
  }
  if (o.device == "cuda") {
    if (const std::string reason = runtime::cuda_unavailable_reason(); !reason.empty()) {
      std::cerr << "archetype train: --device cuda: " << reason << "\n";
      return 1;
    }
  }
  // Where the run writes, made (or refused) before hours of training, not after an epoch.
  for (const auto& [flag, dir] : {std::pair{"--checkpoint", o.train.checkpoint_dir},
                                  std::pair{"--metrics", o.train.metrics.parent_path()}}) {
    if (!processes.root()) break;  // rank 0 alone writes
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::create_directories(dir, ec) && ec) {
      std::cerr << "archetype train: " << flag << ": cannot create the directory " << dir.string()
                << ": " << ec.message() << "\n";
      return 1;
    }
  }
  for (const std::string& u : o.unfreeze_at) o.train.unfreeze_at.push_back(*parse_unfreeze(u));
  for (const std::string& g : o.lr_groups) o.train.lr_groups.push_back(*parse_lr_group(g));
  try {  // layer paths, before the data is loaded (the adapted net has the same paths)
    runtime::check_transfer(m->native.program, o.train);
  } catch (const std::invalid_argument& e) {
    std::cerr << "archetype train: " << e.what() << "\n";
    return exit_usage;
  }
  Data data = load_data(o.data);
  if (o.limit_train > 0) data.train = data.train.subset(o.limit_train);
  if (o.limit_test > 0) data.test = data.test.subset(o.limit_test);

  // The native net when the images fit it, else the Fashion-MNIST adapted one.
  const runtime::ImageDims dims = data.train.dims;
  const ModelInfo* info = nullptr;
  for (const ModelInfo* candidate : {&m->native, &m->fashion_mnist}) {
    if (candidate->input.c == dims.c && candidate->input.h == dims.h &&
        candidate->input.w == dims.w) {
      info = candidate;
      break;
    }
  }
  if (info == nullptr) {
    std::cerr << "archetype train: " << m->name << " takes " << m->native.input.c << "x"
              << m->native.input.h << "x" << m->native.input.w
              << " images (or 1x28x28 through its adapter), "
              << "but " << data.train.name << " has " << dims.c << "x" << dims.h << "x" << dims.w
              << "\n";
    return exit_usage;
  }

  // Inputs normalized per channel with the training set's statistics.
  const auto stats = data.train.channel_stats();
  data.train.normalize(stats.mean, stats.stddev);
  data.test.normalize(stats.mean, stats.stddev);

  o.train.conv_algorithm = o.conv_algorithm == "fastest"    ? codegen::ConvAlgorithm::fastest
                           : o.conv_algorithm == "winograd" ? codegen::ConvAlgorithm::winograd
                                                            : codegen::ConvAlgorithm::direct;
  o.train.precision = o.precision == "bf16" ? codegen::Precision::bf16 : codegen::Precision::f32;
  if (o.augment == "auto") o.augment = data.colour ? "crop+flip" : "none";
  if (o.augment == "none") {
    o.train.augment = {};
  } else if (o.augment == "crop") {
    o.train.augment = {4, false};
  } else if (o.augment == "flip") {
    o.train.augment = {0, true};
  } else if (o.augment == "crop+flip") {
    o.train.augment = {4, true};
  } else {
    std::cerr << "archetype train: --augment " << o.augment
              << ": use none, crop, flip, crop+flip or auto\n";
    return exit_usage;
  }

  print_description(std::cout, *m, *info, o.train.batch, info->layers.size() <= 40);
  std::cout << "\ntraining on " << data.train.name << " (" << data.train.size()
            << " images), testing on " << data.test.name << " (" << data.test.size() << "); "
            << o.train.epochs << " epochs, batch " << o.train.batch << ", " << o.train.optimizer
            << " lr " << o.train.lr << " (" << o.train.schedule << "), augment " << o.augment
            << ", seed " << o.train.seed << "; "
            << (o.train.device == runtime::Device::cuda
                    ? (o.precision == "bf16"
                           ? "cuDNN on the GPU, bf16"
                           : (o.train.tf32 ? "cuDNN on the GPU, TF32" : "cuDNN on the GPU, fp32"))
                    : (o.precision == "bf16" ? "oneDNN on the CPU, bf16"
                                             : "oneDNN on the CPU, fp32"))
            << "\n";
  if (processes.size() > 1) {
    std::cout << "data-parallel over " << processes.size()
              << " processes: " << o.train.batch / processes.size()
              << " images each per step of the global batch " << o.train.batch
              << ", BatchNorm statistics "
              << (o.train.sync_batch_norm ? "synchronised" : "per process") << "\n";
  }
  std::cout << std::flush;

  // --new-head: the classifier's last Linear layer for the data's classes, newly initialised
  // (never loaded by --init).
  std::optional<codegen::OwnedProgram> resized;
  codegen::ProgramView program = info->program;
  if (o.new_head) {
    resized = codegen::with_classes(info->program, data.train.classes);
    program = resized->view();
    o.train.init_fresh.push_back(resized->head);
    std::cout << "new head: " << resized->head << " now has " << data.train.classes
              << " outputs (newly initialised; --init does not load it)\n";
  }

  // Rank 0's progress only (the others' goes to /dev/null).
  std::FILE* progress_file = processes.root() ? stderr : std::fopen("/dev/null", "w");
  runtime::Progress progress(progress_file != nullptr ? progress_file : stderr);
  const runtime::TrainResult result =
      runtime::train(program, std::string(m->name), data.train, data.test, o.train, progress);
  if (!result.epochs.empty()) {
    const auto& last = result.epochs.back();
    std::cout << "final test accuracy " << std::fixed;
    std::cout.precision(2);
    std::cout << 100.0 * last.test_accuracy << "% (top-5 " << 100.0 * last.test_top5 << "%), "
              << result.steps << " steps\n";
  }
  if (!o.save.empty() && processes.root()) {
    runtime::save_parameters(o.save, program, result.parameters, result.buffers);
    std::cout << "parameters written to " << o.save << '\n';
  }
  return 0;
}

}  // namespace

Command add_train(CLI::App& app) {
  auto options = std::make_shared<TrainCommandOptions>();
  CLI::App* sub =
      app.add_subcommand("train", "Train a model of the zoo on the CPU (oneDNN) or a GPU (cuDNN)");
  auto& t = options->train;
  sub->add_option("model", options->model, "Model name (see archetype list)")->required();
  sub->add_option(
         "--data", options->data,
         "fashion-mnist[:DIR] (default, Debian's dataset-fashion-mnist), mnist:DIR, cifar10:DIR, "
         "cifar100:DIR or synthetic")
      ->check(data_validator())
      ->capture_default_str();
  sub->add_option("--epochs", t.epochs, "Epochs")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  sub->add_option("--batch", t.batch, "Training batch size")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  sub->add_option("--eval-batch", t.eval_batch, "Evaluation batch size")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  sub->add_option("--lr", t.lr, "Base learning rate")
      ->check(positive_number())
      ->capture_default_str();
  sub->add_option("--optimizer", t.optimizer, "sgd, adam or adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))
      ->capture_default_str();
  sub->add_option("--momentum", t.sgd.momentum, "SGD momentum")
      ->check(CLI::Range(0.0, 0.9999))
      ->capture_default_str();
  sub->add_flag("--nesterov", t.sgd.nesterov, "Nesterov momentum");
  sub->add_option("--weight-decay", t.sgd.weight_decay,
                  "L2 weight decay (SGD; Adam: --adam-weight-decay)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--adam-weight-decay", t.adam.weight_decay, "Adam/AdamW weight decay")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--schedule", t.schedule, "constant, cosine, step or step:E1,E2,...")
      ->check(schedule_validator())
      ->capture_default_str();
  sub->add_option("--warmup", t.warmup_epochs, "Linear warm-up epochs")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  sub->add_option("--augment", options->augment,
                  "none, crop, flip, crop+flip or auto (crop+flip for CIFAR)")
      ->check(CLI::IsMember({"none", "crop", "flip", "crop+flip", "auto"}))
      ->capture_default_str();
  sub->add_option(
         "--threads", t.threads,
         "oneDNN threads (0: the usable cores other processes leave free, followed while training)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  sub->add_option("--conv-algorithm", options->conv_algorithm,
                  "3x3 stride-1 convolutions in training: direct, winograd, or fastest (times both "
                  "per layer)")
      ->check(CLI::IsMember({"direct", "fastest", "winograd"}))
      ->capture_default_str();
  sub->add_option("--precision", options->precision,
                  "f32, or bf16 (bfloat16 activations and weights, fp32 master weights; oneDNN, or "
                  "cuDNN with "
                  "--device cuda)")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  sub->add_option("--device", options->device,
                  "cpu (oneDNN) or cuda (cuDNN + cuBLAS, the step captured as a CUDA Graph; where "
                  "built and a GPU is "
                  "present)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  sub->add_flag(
      "--check-numerics", t.check_numerics,
      "Stop at the first op whose output or gradient is not finite, naming it (a pass over "
      "every value: slower)");
  sub->add_flag(
      "--tf32", t.tf32,
      "--device cuda: TF32 tensor cores in convolutions and matrix products (default: fp32)");
  sub->add_option("--seed", t.seed, "Seed of initialisation, shuffling, augmentation, dropout")
      ->check(whole_number())
      ->capture_default_str();
  CLI::Option* checkpoint =
      sub->add_option("--checkpoint", t.checkpoint_dir,
                      "Directory for checkpoint.bin and model.params (each epoch)");
  sub->add_flag("--resume", t.resume, "Continue from --checkpoint DIR/checkpoint.bin if present")
      ->needs(checkpoint);
  sub->add_option("--metrics", t.metrics, "Per-epoch metrics: writes STEM.csv and STEM.json");
  sub->add_option("--init", t.init_parameters,
                  "Start from a parameter file (tools/convert_state_dict.py): the whole model, or "
                  "by layer path the tensors it names (fine-tuning), with a report")
      ->check(CLI::ExistingFile);
  sub->add_option("--save", options->save, "Write the final parameters to this file");
  sub->add_option("--limit-train", options->limit_train,
                  "Use only the first N training images (0: all)")
      ->check(whole_number());
  sub->add_option("--limit-test", options->limit_test, "Use only the first N test images (0: all)")
      ->check(whole_number());
  sub->add_option("--freeze", t.freezing.freeze,
                  "Freeze the layers under these path prefixes (as describe prints them: layer1, "
                  "layer4.0.conv1): no weight gradient, no update, BatchNorm on its running "
                  "statistics");
  sub->add_option("--freeze-until", t.freezing.freeze_until,
                  "Freeze every layer before this path (Keras's layers[:k]); it and what follows "
                  "train");
  sub->add_flag(
      "--new-head", options->new_head,
      "Resize the classifier's last Linear layer to the data's classes, newly initialised "
      "(torchvision's model.fc = nn.Linear(in, N)); --init loads everything else");
  sub->add_option("--init-skip", t.init_fresh,
                  "Path prefixes --init does not load (they keep their initial values)");
  sub->add_option("--unfreeze-at", options->unfreeze_at,
                  "EPOCH:PREFIX: from epoch EPOCH (1-based) on, the layers under PREFIX train too")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return parse_unfreeze(text) ? ""
                                        : "expected EPOCH:PREFIX (EPOCH >= 1), not '" + text + "'";
          },
          "EPOCH:PREFIX"));
  sub->add_option("--lr-group", options->lr_groups,
                  "PREFIX=LR: the layers under PREFIX learn at LR (scheduled like --lr)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return parse_lr_group(text) ? "" : "expected PREFIX=LR with LR > 0, not '" + text + "'";
          },
          "PREFIX=LR"));
  sub->add_flag(
      "--distributed", options->distributed,
      "Data-parallel training over the MPI world (the default when started by mpirun or srun): "
      "--batch is the global batch, split evenly over the processes");
  sub->add_flag(
      "--sync-bn", t.sync_batch_norm,
      "BatchNorm statistics over the global batch, synchronised across processes (default: "
      "each process's own)");
  sub->add_option("--bucket-mb", t.bucket_mb,
                  "Data-parallel: the gradient all-reduce's bucket size, MB (PyTorch DDP's 25; the "
                  "first bucket 1 MB or less)")
      ->check(CLI::Range(0.001, 4096.0))
      ->capture_default_str();
  sub->add_option(
         "--collective-timeout", t.collective_timeout,
         "Seconds a collective waits for every process before rank 0 names the missing ones and "
         "ends the job")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  sub->add_option("--max-steps", t.max_steps,
                  "Stop after N steps in all (smoke tests; 0: no limit)")
      ->check(whole_number());
  return Command{sub, [options] { return run_train(*options); }};
}

}  // namespace archetype::cli
