#include <archetype/experiments/experiment.hpp>
#include <archetype/runtime/cifar.hpp>
#include <archetype/runtime/idx.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>

namespace archetype::experiments {
namespace {

[[noreturn]] void usage(std::string_view experiment, const std::string& problem) {
  if (!problem.empty()) std::cerr << experiment << ": " << problem << "\n";
  std::cerr << "usage: " << experiment
            << " [--epochs N] [--data-dir DIR] [--out DIR] [--threads N] [--limit-train N]"
               " [--limit-test N] [--max-steps N] [--resume]\n";
  std::exit(problem.empty() ? 0 : 2);
}

long long number(std::string_view experiment, const std::string& flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < 0) {
    usage(experiment, flag + " wants a non-negative whole number, not '" + text + "'");
  }
  return v;
}

}  // namespace

RunOptions parse_run_options(int argc, char** argv, std::string_view experiment) {
  RunOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(experiment, flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") usage(experiment, "");
    else if (flag == "--epochs") o.epochs = int(number(experiment, flag, value()));
    else if (flag == "--data-dir") o.data_dir = value();
    else if (flag == "--out") o.out = value();
    else if (flag == "--threads") o.threads = int(number(experiment, flag, value()));
    else if (flag == "--limit-train") o.limit_train = std::size_t(number(experiment, flag, value()));
    else if (flag == "--limit-test") o.limit_test = std::size_t(number(experiment, flag, value()));
    else if (flag == "--max-steps") o.max_steps = number(experiment, flag, value());
    else if (flag == "--resume") o.resume = true;
    else usage(experiment, "unknown option '" + flag + "'");
  }
  return o;
}

int run_models(std::string_view experiment, const std::vector<ModelPrograms>& models,
               std::string_view data, const runtime::TrainOptions& base, const RunOptions& options) {
  using runtime::Split;
  runtime::Dataset train_data, test_data;
  try {
    if (data == "cifar10") {
      if (options.data_dir.empty()) usage(experiment, "this experiment reads CIFAR-10: pass --data-dir DIR");
      train_data = runtime::load_cifar10(options.data_dir, Split::train);
      test_data = runtime::load_cifar10(options.data_dir, Split::test);
    } else if (options.data_dir.empty()) {
      train_data = runtime::load_fashion_mnist(Split::train);
      test_data = runtime::load_fashion_mnist(Split::test);
    } else {
      train_data = runtime::load_fashion_mnist(options.data_dir, Split::train);
      test_data = runtime::load_fashion_mnist(options.data_dir, Split::test);
    }
  } catch (const std::exception& e) {
    std::cerr << experiment << ": " << e.what() << "\n";
    return 1;
  }
  if (options.limit_train > 0) train_data = train_data.subset(options.limit_train);
  if (options.limit_test > 0) test_data = test_data.subset(options.limit_test);
  const auto stats = train_data.channel_stats();
  train_data.normalize(stats.mean, stats.stddev);
  test_data.normalize(stats.mean, stats.stddev);

  const std::filesystem::path out = std::filesystem::path(options.out) / std::string(experiment);
  std::printf("%s: %zu models, %d epochs, batch %d, %s on %s\n", std::string(experiment).c_str(),
              models.size(), base.epochs, base.batch, base.schedule.c_str(), train_data.name.c_str());
  struct Row {
    std::string label;
    double accuracy, loss;
    std::int64_t params, macs;
  };
  std::vector<Row> rows;
  runtime::Progress progress(stderr);
  for (const ModelPrograms& m : models) {
    const Shape in = m.native.tensors[std::size_t(m.native.input)].shape;
    const bool native = in.c == train_data.dims.c && in.h == train_data.dims.h && in.w == train_data.dims.w;
    runtime::TrainOptions t = base;
    t.checkpoint_dir = out / m.label;
    t.metrics = out / (m.label + ".csv");
    std::printf("\n== %s (%lld params, %lld MACs/image)\n", m.label.c_str(),
                static_cast<long long>(m.params), static_cast<long long>(m.macs));
    try {
      const runtime::TrainResult r =
          runtime::train(native ? m.native : m.fashion_mnist, m.label, train_data, test_data, t, progress);
      const auto& last = r.epochs.back();
      rows.push_back({m.label, last.test_accuracy, last.train_loss, m.params, m.macs});
    } catch (const std::exception& e) {
      std::cerr << experiment << ": " << m.label << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::printf("\n%-20s %12s %14s %10s %10s\n", "model", "params", "MACs/image", "train loss", "test acc");
  for (const Row& r : rows) {
    std::printf("%-20s %12lld %14lld %10.4f %9.2f%%\n", r.label.c_str(), static_cast<long long>(r.params),
                static_cast<long long>(r.macs), r.loss, 100.0 * r.accuracy);
  }
  std::printf("metrics in %s\n", out.c_str());
  return 0;
}

}  // namespace archetype::experiments
