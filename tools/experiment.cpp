// `archetype experiment NAME [--quick] …`: runs one of the studies of experiments/ (the same
// runner as its generated executable) on the registry's programs, and writes its report.
#include "commands.hpp"

#include <archetype/experiments/report.hpp>
#include <archetype/experiments/studies.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace archetype::cli {
namespace {

struct ExperimentCommandOptions {
  std::string name;
  bool list = false;
  experiments::StudyOptions study;
};

/// This process's command line as typed (Linux: /proc/self/cmdline), for the report.
std::string own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string current;
  for (char c : raw) {
    if (c == '\0') {
      args.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return experiments::command_line(int(argv.size()), argv.data());
}

int list_studies() {
  for (const experiments::StudyEntry& s : experiments::studies()) {
    std::cout << s.name << std::string(s.name.size() < 20 ? 20 - s.name.size() : 1, ' ') << s.title
              << "  (" << s.header << ")\n";
  }
  return 0;
}

int run_experiment(ExperimentCommandOptions o) {
  if (o.list || o.name.empty()) {
    if (!o.list) std::cerr << "archetype experiment: name a study (one of these) or pass --list\n";
    list_studies();
    return o.list ? 0 : exit_usage;
  }
  const experiments::StudyEntry* s = experiments::find_study(o.name);
  if (s == nullptr) {
    std::cerr << "archetype experiment: unknown study '" << o.name << "'; the studies are:\n";
    for (const experiments::StudyEntry& e : experiments::studies())
      std::cerr << "  " << e.name << "\n";
    return exit_usage;
  }
  o.study.command = own_command_line();
  return experiments::run_study(s->spec(), s->programs(), o.study);
}

}  // namespace

Command add_experiment(CLI::App& app) {
  auto options = std::make_shared<ExperimentCommandOptions>();
  CLI::App* sub = app.add_subcommand(
      "experiment",
      "Run a study of experiments/ and write its report (resnet_vs_vgg, depth_analysis, "
      "skip_connections, computational_cost, lineage)");
  auto& s = options->study;
  sub->add_option("name", options->name, "Study name (see --list)");
  sub->add_flag("--list", options->list, "List the studies");
  sub->add_flag(
      "--quick", s.quick,
      "A few steps on a tiny subset: checks the pipeline (report under runs/quick/ unless --out)");
  sub->add_option("--epochs", s.epochs, "Epochs (default: the study's)")
      ->check(CLI::Range(1, 100000));
  sub->add_option(
      "--data", s.data,
      "fashion-mnist[:DIR] (the studies' default), cifar10:DIR, folder:DIR (DIR/train/CLASS/*, "
      "DIR/val/CLASS/*; decoded at the input the study's models share) or synthetic");
  sub->add_option("--out", s.out,
                  "Report OUT/NAME.md, metrics and plots in OUT/NAME/ (default: reports, or "
                  "runs/quick with --quick)");
  sub->add_option("--checkpoints", s.checkpoints,
                  "Full runs: checkpoints in DIR/NAME/MODEL-seedS/ (default: runs)");
  sub->add_option(
         "--threads", s.threads,
         "oneDNN threads (0: the usable cores other processes leave free, followed while training)")
      ->check(CLI::Range(0, 1024));
  sub->add_option("--conv-algorithm", s.conv_algorithm,
                  "3x3 stride-1 convolutions: direct, fastest (never slower than direct, as "
                  "timed at setup) or winograd")
      ->check(CLI::IsMember({"direct", "fastest", "winograd"}))
      ->capture_default_str();
  sub->add_option("--precision", s.precision,
                  "Training on the CPU: f32, or bf16 (bfloat16 activations and weights in oneDNN, "
                  "fp32 master weights); default: the study's")
      ->check(CLI::IsMember({"f32", "bf16"}));
  sub->add_flag("--resume", s.resume, "Continue each model from its checkpoint, if any");
  sub->add_option("--models", s.models,
                  "Training studies: train only these of its models now (comma-separated); the others are "
                  "taken from finished earlier runs in OUT/NAME/, else left out of the report")
      ->delimiter(',');
  sub->add_flag("--draw", s.draw,
                "Run nothing: draw the plots a run left undrawn in OUT/NAME.md (it ran where "
                "gnuplot is not installed, e.g. a GPU machine)");
  sub->add_option("--device", s.device, "cpu (oneDNN), or cuda (cuDNN: the training studies, where built and a GPU is present)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  return Command{sub, [options] { return run_experiment(*options); }};
}

}  // namespace archetype::cli
