// `archetype train MODEL --data …`: trains a model of the zoo on the oneDNN backend (or, with
// --device cuda, on the cuDNN one), after printing its compile-time summary.
#include "commands.hpp"

#include <archetype/architectures/registry.hpp>
#include <archetype/codegen/new_head.hpp>
#include <archetype/runtime/cifar.hpp>
#include <archetype/runtime/distributed.hpp>
#include <archetype/runtime/idx.hpp>
#include <archetype/runtime/image_folder.hpp>
#include <archetype/runtime/parameters_file.hpp>
#include <archetype/runtime/synthetic.hpp>
#include <archetype/runtime/trainer.hpp>

#include <archetype/runtime/schedule.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
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
        const bool needs_dir =
            kind == "mnist" || kind == "cifar10" || kind == "cifar100" || kind == "folder";
        if (needs_dir && has_dir) return {};
        if (needs_dir) return kind + " needs a directory: --data " + kind + ":DIR";
        return "unknown data set '" + spec +
               "': use fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR, folder:DIR or "
               "synthetic";
      },
      "");
}

/// --normalize: auto, dataset, imagenet, none, or MEAN[,MEAN,MEAN]/STD[,STD,STD].
std::optional<runtime::Normalization> parse_normalization(const std::string& text,
                                                          std::string& why) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    why = "use auto, dataset, imagenet, none or MEANS/DEVIATIONS (e.g. 0.5,0.5,0.5/0.25,0.25,0.25)";
    return std::nullopt;
  }
  runtime::Normalization n;
  for (auto [part, out] :
       {std::pair{text.substr(0, slash), &n.mean}, std::pair{text.substr(slash + 1), &n.stddev}}) {
    std::size_t start = 0;
    for (;;) {
      const auto comma = part.find(',', start);
      const std::string item =
          part.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      float v = 0;
      const auto [stop, error] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (item.empty() || error != std::errc{} || stop != item.data() + item.size() ||
          !std::isfinite(v)) {
        why = "'" + item + "' is not a number";
        return std::nullopt;
      }
      out->push_back(v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (n.mean.size() != n.stddev.size() || (n.mean.size() != 1 && n.mean.size() != 3)) {
    why = "give 1 or 3 means and as many deviations";
    return std::nullopt;
  }
  for (float s : n.stddev) {
    if (!(s > 0)) {
      why = "a deviation must be positive";
      return std::nullopt;
    }
  }
  return n;
}

CLI::Validator normalization_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text == "auto" || text == "dataset" || text == "imagenet" || text == "none") return {};
        std::string why;
        return parse_normalization(text, why) ? std::string{} : why;
      },
      "");
}

struct TrainCommandOptions {
  std::string model;
  std::string data = "fashion-mnist";
  std::string normalize = "auto";
  bool strict = false;
  int decode_threads = 0;
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
  std::optional<runtime::ImageFolder> folder{};  // folder:DIR (train and test read from it)
};

/// `folder:DIR`: the images decoded for `dims` (the model's own input), normalized with
/// `normalize` (auto: ImageNet's statistics).
Data load_folder(const std::filesystem::path& dir, const runtime::ImageDims& dims,
                 const TrainCommandOptions& o) {
  runtime::ImageFolderOptions fo;
  fo.dims = dims;
  fo.strict = o.strict;
  fo.threads = o.decode_threads;
  if (o.normalize == "none") {
    fo.normalization = {std::vector<float>(std::size_t(dims.c), 0.0f),
                        std::vector<float>(std::size_t(dims.c), 1.0f)};
  } else if (o.normalize == "dataset") {
    throw std::invalid_argument(
        "--normalize dataset: the images of a folder are decoded as they are needed; give "
        "imagenet, none or MEANS/DEVIATIONS");
  } else if (o.normalize != "auto" && o.normalize != "imagenet") {
    std::string why;
    fo.normalization = *parse_normalization(o.normalize, why);
    if (fo.normalization.mean.size() == 1) {
      fo.normalization.mean.resize(std::size_t(dims.c), fo.normalization.mean[0]);
      fo.normalization.stddev.resize(std::size_t(dims.c), fo.normalization.stddev[0]);
    }
  }
  runtime::ImageFolder folder = runtime::load_image_folder(dir, fo);
  Data d{folder.train, folder.val, true, std::nullopt};
  d.folder = std::move(folder);
  return d;
}

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
  const bool from_folder = o.data.starts_with("folder:");
  Data data = from_folder
                  ? load_folder(o.data.substr(7),
                                {m->native.input.c, m->native.input.h, m->native.input.w}, o)
                  : load_data(o.data);
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

  // Inputs normalized per channel: by default with the training set's statistics (a folder:
  // ImageNet's, applied as its images are decoded).
  if (!from_folder && o.normalize != "none") {
    runtime::Dataset::ChannelStats stats;
    if (o.normalize == "imagenet") {
      const runtime::Normalization n = runtime::Normalization::imagenet(dims.c);
      stats = {n.mean, n.stddev};
    } else if (o.normalize == "auto" || o.normalize == "dataset") {
      stats = data.train.channel_stats();
    } else {
      std::string why;
      const runtime::Normalization n = *parse_normalization(o.normalize, why);
      stats = {n.mean, n.stddev};
      if (stats.mean.size() == 1) {
        stats.mean.resize(std::size_t(dims.c), stats.mean[0]);
        stats.stddev.resize(std::size_t(dims.c), stats.stddev[0]);
      }
    }
    if (stats.mean.size() != std::size_t(dims.c)) {
      std::cerr << "archetype train: --normalize " << o.normalize << " gives " << stats.mean.size()
                << " means, but " << data.train.name << " has " << dims.c << " channel(s)\n";
      return exit_usage;
    }
    data.train.normalize(stats.mean, stats.stddev);
    data.test.normalize(stats.mean, stats.stddev);
  }

  o.train.conv_algorithm = o.conv_algorithm == "fastest"    ? codegen::ConvAlgorithm::fastest
                           : o.conv_algorithm == "winograd" ? codegen::ConvAlgorithm::winograd
                                                            : codegen::ConvAlgorithm::direct;
  o.train.precision = o.precision == "bf16" ? codegen::Precision::bf16 : codegen::Precision::f32;
  if (o.augment == "auto")
    o.augment = from_folder ? "resized-crop+flip" : data.colour ? "crop+flip" : "none";
  if (from_folder != o.augment.starts_with("resized-crop") && o.augment != "none" &&
      o.augment != "flip") {
    std::cerr
        << "archetype train: --augment " << o.augment
        << (from_folder
                ? ": an image folder takes none, flip, resized-crop or resized-crop+flip\n"
                : ": resized-crop is for --data folder:DIR; use none, crop, flip or crop+flip\n");
    return exit_usage;
  }
  if (o.augment == "resized-crop") {
    o.train.augment = {0, false, true};
  } else if (o.augment == "resized-crop+flip") {
    o.train.augment = {0, true, true};
  } else if (o.augment == "none") {
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
  // unless --init holds a head of that shape (a file saved by an earlier --new-head run).
  std::optional<codegen::OwnedProgram> resized;
  codegen::ProgramView program = info->program;
  if (o.new_head) {
    resized = codegen::with_classes(info->program, data.train.classes);
    program = resized->view();
    o.train.init_resized.push_back(resized->head);
    std::cout << "new head: " << resized->head << " now has " << data.train.classes
              << " outputs (--init loads it only from a file with this head)\n";
  }
  if (data.folder) {
    const auto& f = *data.folder;
    std::cout << "classes (label order, from " << data.train.name << "): ";
    for (std::size_t i = 0; i < f.classes.size(); ++i) std::cout << (i ? ", " : "") << f.classes[i];
    const runtime::Dataset& n = data.train;
    std::cout << "\nimages decoded to " << dims.c << "x" << dims.h << "x" << dims.w
              << " (antialiased bilinear resize), normalized with mean";
    for (float v : n.mean) std::cout << ' ' << v;
    std::cout << " and deviation";
    for (float v : n.stddev) std::cout << ' ' << v;
    if (f.ignored > 0)
      std::cout << "; " << f.ignored << " files not named .jpg, .jpeg or .png ignored";
    std::cout << '\n' << std::flush;
    // The label order, for whoever uses the weights: beside the checkpoint and the saved file.
    for (const std::filesystem::path& file :
         {o.train.checkpoint_dir.empty() ? std::filesystem::path{}
                                         : o.train.checkpoint_dir / "classes.txt",
          o.save.empty() ? std::filesystem::path{}
                         : std::filesystem::path(o.save + ".classes.txt")}) {
      if (file.empty()) continue;
      std::ofstream out(file);
      for (const std::string& c : f.classes) out << c << '\n';
      if (!out) {
        std::cerr << "archetype train: cannot write " << file.string() << '\n';
        return 1;
      }
    }
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
  if (data.folder) {
    std::cout << "training steps waited " << std::fixed << std::setprecision(2)
              << result.data_wait_seconds << " s of " << result.train_seconds
              << " s for their decoded batch\n";
    std::cout << "unreadable image files skipped: " << data.folder->skipped()
              << (data.folder->skipped() > 0 ? " (each named above when found)" : "") << '\n';
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
         "cifar100:DIR, folder:DIR (DIR/train/CLASS/*.jpg|png and DIR/val/CLASS/*) or synthetic")
      ->check(data_validator())
      ->capture_default_str();
  sub->add_option(
         "--normalize", options->normalize,
         "auto (the training set's mean and deviation; a folder: imagenet), dataset, imagenet "
         "(mean "
         "0.485,0.456,0.406, deviation 0.229,0.224,0.225), none, or MEANS/DEVIATIONS (0.5/0.25 or "
         "three of each)")
      ->check(normalization_validator())
      ->capture_default_str();
  sub->add_flag(
      "--strict", options->strict,
      "folder: stop at the first unreadable image file (default: name it, skip it, count it)");
  sub->add_option("--decode-threads", options->decode_threads,
                  "folder: threads decoding each batch, ahead of the training step (0: every core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  sub->add_option("--epochs", t.epochs, "Epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  sub->add_option("--batch", t.batch, "Training batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  sub->add_option("--eval-batch", t.eval_batch, "Evaluation batch size")->check(CLI::Range(1, 65536))->capture_default_str();
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
  sub->add_option("--warmup", t.warmup_epochs, "Linear warm-up epochs")->check(CLI::Range(0, 1000))->capture_default_str();
  sub->add_option(
         "--augment", options->augment,
         "none, crop, flip, crop+flip, resized-crop, resized-crop+flip (folders: torchvision's "
         "RandomResizedCrop) or auto (crop+flip for CIFAR, resized-crop+flip for folders)")
      ->check(CLI::IsMember(
          {"none", "crop", "flip", "crop+flip", "resized-crop", "resized-crop+flip", "auto"}))
      ->capture_default_str();
  sub->add_option(
         "--threads", t.threads,
         "oneDNN threads (0: the usable cores other processes leave free, followed while training)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  sub->add_option("--conv-algorithm", options->conv_algorithm,
                  "3x3 stride-1 convolutions in training: direct, winograd, or fastest (times both "
                  "per layer, then the whole step against direct's, and keeps it if 3% faster)")
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
  sub->add_flag("--bn-inference", t.batch_norm_inference,
                "Every BatchNorm on its running statistics, left unchanged, while its scale and "
                "shift train (Keras's training=False when fine-tuning): a few images of a new task "
                "do not replace the statistics the features were learnt with");
  sub->add_flag("--new-head", options->new_head,
                "Resize the classifier's last Linear layer to the data's classes (torchvision's "
                "model.fc = nn.Linear(in, N)): newly initialised, unless --init holds a head of "
                "that shape (an earlier --new-head run's)");
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
