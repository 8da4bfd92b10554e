// run_study(): trains or measures a study's models and writes its metrics and report.
#include "study_engine.hpp"

#include <archetype/architectures/registry.hpp>
#include <archetype/bench/workload.hpp>
#include <archetype/runtime/batches.hpp>
#include <archetype/runtime/cifar.hpp>
#include <archetype/runtime/idx.hpp>
#include <archetype/runtime/image_folder.hpp>
#include <archetype/runtime/synthetic.hpp>
#include <archetype/runtime/trainer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>

namespace archetype::experiments {
namespace {

using namespace engine;

[[noreturn]] void study_usage(std::string_view study, const std::string& problem) {
  if (!problem.empty()) std::cerr << study << ": " << problem << "\n";
  std::cerr << "usage: " << study
            << " [--quick] [--epochs N] [--data "
               "fashion-mnist[:DIR]|cifar10:DIR|folder:DIR|synthetic] [--out DIR]"
               " [--checkpoints DIR] [--threads N] [--conv-algorithm direct|fastest|winograd]"
               " [--precision f32|bf16] [--resume] [--models A,B] [--device cpu|cuda] [--draw]\n"
               "  --models train only these of the study's models now; the others are taken from\n"
               "           finished earlier runs in OUT/"
            << study
            << "/ where there are any, else left out of the report\n"
               "  --quick  a few steps on a tiny subset (checks the pipeline; into runs/quick/)\n"
               "  --draw   run nothing: draw the plots a run left undrawn in OUT/"
            << study
            << ".md (it ran where gnuplot is not installed)\n"
               "  --out    report OUT/"
            << study << ".md, metrics and plots in OUT/" << study << "/ (default: reports)\n";
  std::exit(problem.empty() ? 0 : 2);
}

// ---------------------------------------------------------------------------------------
// Cost study

ModelInfo info_of(const codegen::ProgramView& p) {
  ModelInfo info;
  info.input = p.tensors[std::size_t(p.input)].shape;
  info.output = p.tensors[std::size_t(p.output)].shape;
  info.params = p.params;
  info.buffers = p.buffers;
  info.macs = macs_of(p);
  info.inference_peak_elements = p.inference_arena;
  info.training_saved_elements = p.training_saved;
  info.program = p;
  return info;
}

/// Receptive field of a chain of convolutions and poolings, up to the first global layer.
std::int64_t chain_receptive_field(const codegen::ProgramView& p) {
  std::int64_t size = 1, jump = 1;
  for (const codegen::Op& op : p.ops) {
    if (op.layer.global) break;
    size += (op.layer.kernel_h - 1) * jump;
    jump *= op.layer.stride_h;
  }
  return size;
}

double measure(const ModelInfo& info, int batch, onednn::Mode mode, int steps, double min_time,
               int threads, const std::string& conv_algorithm) {
  onednn::Options eo;
  eo.threads = threads;
  if (auto a = bench::parse_conv_algorithm(conv_algorithm)) eo.conv_algorithm = *a;
  bench::Workload w(info, batch, mode, eo);
  return bench::timed([&w] { w.step(); }, batch, steps, min_time).images_per_second;
}

void layer_table(Context& c, const ModelEntry& m) {
  const ModelInfo& info = m.native;
  c.md.heading(3, std::string(m.title) + " (" + shape_text(info.input) + ")");
  std::vector<std::vector<std::string>> rows;
  Plot plot{std::string(m.title) + ": MACs and activation memory per layer",
            "layer (execution order)",
            "MMACs per image",
            "output activation, KiB per image (fp32)",
            false,
            false,
            {},
            {},
            1000,
            520};
  Series macs{"MMACs", {}, {}, {}, false, "impulses lw 3"};
  Series memory{"activation KiB", {}, {}, {}, true, "lines"};
  std::int64_t total_elements = 0;
  for (std::size_t i = 0; i < info.layers.size(); ++i) {
    const LayerRow& r = info.layers[i];
    const std::int64_t elements = r.view ? 0 : r.out.elements();
    total_elements += elements;
    rows.push_back({std::to_string(i + 1), std::string(r.path.view()), std::string(r.kind.view()),
                    shape_text(r.out), grouped(r.params), fixed(double(r.macs) / 1e6, 2),
                    r.view ? "(view)" : fixed(4.0 * double(elements) / 1024.0, 1)});
    macs.x.push_back(double(i + 1));
    macs.y.push_back(double(r.macs) / 1e6);
    memory.x.push_back(double(i + 1));
    memory.y.push_back(4.0 * double(elements) / 1024.0);
  }
  rows.push_back({"", "**total**", "", "", grouped(info.params), fixed(double(info.macs) / 1e6, 2),
                  fixed(4.0 * double(total_elements) / 1024.0, 1)});
  c.md.paragraph(
      std::string("Compile-time figures of `") + std::string(m.name) +
      "` for one image: MACs of the forward pass, and each layer's output in fp32 (the sum is "
      "every "
      "activation the forward pass writes, before any reuse; the planned inference peak is " +
      mib(4.0 * double(info.inference_peak_elements) * 1) + " MiB per image, and training keeps " +
      mib(4.0 * double(info.training_saved_elements)) + " MiB per image for the backward pass).");
  plot.series = {macs, memory};
  c.figure(plot, std::string(m.name) + "_layers.png");
  c.md.table({"#", "layer", "kind", "output", "params", "MMACs", "activation KiB"}, rows,
             {true, false, false, false, true, true, true});
}

int run_cost(Context& c, const std::vector<ModelPrograms>& models) {
  const StudySpec& spec = c.spec;
  const StudyOptions& o = c.options;
  c.md.heading(2, "Per-layer MACs and activation memory");
  for (const std::string& name : spec.tables) {
    const ModelEntry* m = find_model(name);
    if (m == nullptr) throw std::invalid_argument("the registry has no model '" + name + "'");
    layer_table(c, *m);
  }

  const int batch = o.quick ? spec.quick.batch : spec.batch;
  const int steps = o.quick ? spec.quick.steps : 10;
  const double min_time = o.quick ? 0.0 : 2.0;
  c.md.heading(2, "Stacked 3x3 convolutions against one larger kernel");
  c.md.paragraph(
      "Probes: " + shape_text(models.front().native.tensors[0].shape) +
      " inputs, each convolution followed by a ReLU, then global average pooling and a 10-way "
      "linear layer "
      "(650 parameters, 640 MACs, included below). Parameters and MACs are compile-time (and "
      "static_asserted in `experiments/computational_cost.hpp`); times are measured at batch " +
      measured_as(batch, c.threads, steps, min_time) +
      "; a training step is forward, backward and an SGD update.");
  std::vector<std::vector<std::string>> rows;
  Plot cost{"Compile-time cost of each probe",
            "",
            "parameters (thousands) / MACs per image (millions)",
            "",
            false,
            false,
            {},
            {},
            900,
            520};
  Plot time{
      "Measured time per image", "", "microseconds per image", "", false, false, {}, {}, 900, 520};
  Series params{"parameters (k)", {}, {}, {}, false, ""},
      macs{"MACs/image (M)", {}, {}, {}, false, ""};
  Series inference{"inference", {}, {}, {}, false, ""},
      training{"training step", {}, {}, {}, false, ""};
  nlohmann::json probes = nlohmann::json::array();
  for (const ModelPrograms& m : models) {
    const ModelInfo info = info_of(m.native);
    std::printf("timing %s (batch %d)\n", m.label.c_str(), batch);
    std::fflush(stdout);
    const double infer =
        measure(info, batch, onednn::Mode::inference, steps, min_time, o.threads, o.conv_algorithm);
    const double train =
        measure(info, batch, onednn::Mode::training, steps, min_time, o.threads, o.conv_algorithm);
    int convs = 0;
    for (const codegen::Op& op : m.native.ops) convs += op.layer.op == LayerKind::conv ? 1 : 0;
    const std::int64_t rf = chain_receptive_field(m.native);
    rows.push_back({m.label, std::to_string(convs), std::to_string(rf) + "x" + std::to_string(rf),
                    grouped(m.params), grouped(m.macs), fixed(1e6 / infer, 1),
                    fixed(1e6 / train, 1), fixed(infer, 1), fixed(train, 1)});
    cost.categories.push_back(m.label);
    time.categories.push_back(m.label);
    params.y.push_back(double(m.params) / 1e3);
    macs.y.push_back(double(m.macs) / 1e6);
    inference.y.push_back(1e6 / infer);
    training.y.push_back(1e6 / train);
    probes.push_back({{"label", m.label},
                      {"convolutions", convs},
                      {"receptive_field", rf},
                      {"params", m.params},
                      {"macs_per_image", m.macs},
                      {"inference_images_per_second", infer},
                      {"training_images_per_second", train},
                      {"batch", batch}});
  }
  c.md.table({"probe", "convs", "receptive field", "params", "MACs/image", "inference µs/image",
              "training µs/image", "inference img/s", "training img/s"},
             rows, {false, true, true, true, true, true, true, true, true});
  cost.series = {params, macs};
  time.series = {inference, training};
  c.figure(cost, "kernels_cost.png");
  c.figure(time, "kernels_time.png");
  c.summary["probes"] = probes;
  return 0;
}

// ---------------------------------------------------------------------------------------
// Lineage

int run_lineage(Context& c) {
  const StudySpec& spec = c.spec;
  const StudyOptions& o = c.options;
  const int batch = o.quick ? spec.quick.batch : spec.batch;
  const int steps = o.quick ? spec.quick.steps : 3;
  const double min_time = o.quick ? 0.0 : 2.0;
  std::vector<std::vector<std::string>> rows;
  nlohmann::json all = nlohmann::json::array();
  Series by_year{"models of the zoo", {}, {}, {}, false, "points pointsize 1.5"};
  // Plain nets have their residual twins' MACs: their labels go below the point.
  Series speed{"the other models", {}, {}, {}, false, "points pointsize 1.5"};
  Series plain_speed{"plain (shortcuts removed)", {},        {}, {}, false,
                     "points pointsize 1.5",      "0.6,-0.6"};
  for (const PaperTop1& p : spec.paper_top1) {  // a misspelt name would silently print no figure
    if (find_model(p.model) == nullptr) {
      throw std::logic_error("lineage: paper_top1 names '" + std::string(p.model) + "', which is not a registered model");
    }
  }
  for (const ModelEntry& m : models()) {
    const ModelInfo& info = m.native;
    const int depth = depth_of(info.program);
    std::string top1 = "", source = "";
    for (const PaperTop1& p : spec.paper_top1) {
      if (p.model == m.name) top1 = percent(p.top1, 2), source = std::string(p.source);
    }
    double images_per_second = 0;
    std::string measured = "–";
    if (!o.quick || spec.quick.max_macs == 0 || info.macs <= spec.quick.max_macs) {
      std::printf("timing %s (batch %d)\n", std::string(m.name).c_str(), batch);
      std::fflush(stdout);
      images_per_second = measure(info, batch, onednn::Mode::inference, steps, min_time, o.threads,
                                  o.conv_algorithm);
      measured = fixed(images_per_second, 1);
      Series& series = m.name.starts_with("plain") ? plain_speed : speed;
      series.x.push_back(double(info.macs));
      series.y.push_back(images_per_second);
      series.labels.push_back(std::string(m.name));
    } else {
      measured = "(not timed: --quick)";
    }
    rows.push_back({std::string(m.name), std::string(m.title), std::to_string(m.year),
                    std::to_string(depth), grouped(info.params), fixed(double(info.macs) / 1e6, 1),
                    shape_text(info.input), top1, measured, source});
    by_year.x.push_back(m.year);
    by_year.y.push_back(double(info.params));
    all.push_back({{"name", m.name},
                   {"title", m.title},
                   {"year", m.year},
                   {"depth", depth},
                   {"params", info.params},
                   {"macs_per_image", info.macs},
                   {"input", shape_text(info.input)},
                   {"paper_top1", top1.empty() ? nlohmann::json() : nlohmann::json(top1)},
                   {"inference_images_per_second",
                    images_per_second > 0 ? nlohmann::json(images_per_second) : nlohmann::json()}});
  }
  c.md.heading(2, "The zoo");
  c.md.table({"model", "title", "year", "depth", "params", "MMACs/image", "input", "paper top-1",
              "inference img/s", "paper figure"},
             rows, {false, false, true, true, true, true, false, true, true, false});
  c.md.paragraph(
      "Depth: convolutions and linear layers on the longest path. Parameters and MACs (one image, "
      "forward, "
      "at the paper's input) are compile-time. Inference images/s: measured here at the paper's "
      "input, "
      "batch " +
      measured_as(batch, c.threads, steps, min_time) +
      " (fp32, oneDNN). Paper top-1: as published, on the data set named next to it.");
  Plot year{"Parameters by year of publication (the table names each point)",
            "year",
            "trainable parameters",
            "",
            false,
            true,
            {by_year},
            {},
            1000,
            600};
  Plot throughput{"Measured inference speed against MACs",
                  "MACs per image (forward)",
                  "inference images/s",
                  "",
                  true,
                  true,
                  {speed, plain_speed},
                  {},
                  1000,
                  600};
  c.figure(year, "params_by_year.png");
  if (!speed.x.empty() || !plain_speed.x.empty()) c.figure(throughput, "throughput_vs_macs.png");
  c.summary["models"] = all;
  return 0;
}

/// `--draw`: the plots a run left undrawn in OUT/NAME.md, drawn from their scripts; the
/// report and summary.json then show them as if they had been drawn by the run.
int draw_pending(const StudySpec& spec, const StudyOptions& options) {
  const fs::path out = !options.out.empty() ? options.out
                       : options.quick      ? fs::path("runs/quick")
                                            : fs::path("reports");
  const fs::path report = out / (spec.name + ".md");
  const std::vector<std::string> drawn = draw_pending_plots(report);
  if (drawn.empty()) {
    std::printf("%s: %s has no plots left to draw\n", spec.name.c_str(), report.c_str());
    return 0;
  }
  const fs::path summary_file = out / spec.name / "summary.json";
  if (std::ifstream in(summary_file); in) {
    nlohmann::json summary = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (summary.is_object()) {
      std::vector<std::string> plots = summary.value("plots", std::vector<std::string>{});
      plots.insert(plots.end(), drawn.begin(), drawn.end());
      summary["plots"] = plots;
      summary["undrawn"] = nlohmann::json::array();
      std::ofstream(summary_file) << summary.dump(2) << "\n";
    }
  }
  std::printf("%s: drew %zu plots into %s\n", spec.name.c_str(), drawn.size(), report.c_str());
  return 0;
}

}  // namespace

StudyOptions parse_study_options(int argc, char** argv, std::string_view study) {
  StudyOptions o;
  o.command = command_line(argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) study_usage(study, flag + " needs a value");
      return argv[++i];
    };
    auto number = [&](const std::string& text) {
      char* end = nullptr;
      const long v = std::strtol(text.c_str(), &end, 10);
      if (end == text.c_str() || *end != '\0' || v < 0 || v > 1'000'000) {
        study_usage(study, flag + " wants a non-negative whole number, not '" + text + "'");
      }
      return int(v);
    };
    if (flag == "--help" || flag == "-h")
      study_usage(study, "");
    else if (flag == "--quick")
      o.quick = true;
    else if (flag == "--epochs")
      o.epochs = number(value());
    else if (flag == "--data")
      o.data = value();
    else if (flag == "--out")
      o.out = value();
    else if (flag == "--checkpoints")
      o.checkpoints = value();
    else if (flag == "--threads")
      o.threads = number(value());
    else if (flag == "--conv-algorithm")
      o.conv_algorithm = value();
    else if (flag == "--precision")
      o.precision = value();
    else if (flag == "--resume")
      o.resume = true;
    else if (flag == "--models") {
      const std::string list = value();
      for (std::size_t at = 0; at <= list.size();) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        if (comma > at) o.models.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
      if (o.models.empty()) study_usage(study, "--models wants model names separated by commas");
    }
    else if (flag == "--device")
      o.device = value();
    else if (flag == "--draw")
      o.draw = true;
    else
      study_usage(study, "unknown option '" + flag + "'");
  }
  return o;
}

int run_study(const StudySpec& spec, const std::vector<ModelPrograms>& models,
              const StudyOptions& options) {
  const std::string& name = spec.name;
  try {
    if (options.draw) return draw_pending(spec, options);
    if (options.device != "cpu" && options.device != "cuda") {
      throw std::invalid_argument("--device " + options.device + ": use cpu or cuda");
    }
    const bool trains = spec.kind == StudyKind::training || spec.kind == StudyKind::transfer;
    if (options.device == "cuda" && !trains) {
      throw std::invalid_argument("--device cuda: " + name +
                                  " measures the CPU backend (oneDNN); only the training studies run on a GPU");
    }
    if (options.device == "cuda") {
      if (const std::string reason = runtime::cuda_unavailable_reason(); !reason.empty()) {
        throw std::invalid_argument("--device cuda: " + reason);
      }
    }
    if (!options.precision.empty() && options.precision != "f32" && options.precision != "bf16") {
      throw std::invalid_argument("--precision " + options.precision + ": use f32 or bf16");
    }
    if (options.precision == "bf16" && !trains) {
      throw std::invalid_argument("--precision bf16: " + name +
                                  " measures fp32 inference; only the training studies train in bf16");
    }
    if (!options.models.empty() && !trains) {
      throw std::invalid_argument("--models: " + name + " trains nothing; only the training studies take it");
    }
    for (const std::string& m : options.models) {
      if (std::find(spec.labels.begin(), spec.labels.end(), m) == spec.labels.end()) {
        std::string known;
        for (const auto& l : spec.labels) known += (known.empty() ? "" : ", ") + std::string(l);
        throw std::invalid_argument("--models: " + name + " has no model '" + m + "' (its models: " + known + ")");
      }
    }
    if (!bench::parse_conv_algorithm(options.conv_algorithm)) {
      throw std::invalid_argument("--conv-algorithm " + options.conv_algorithm +
                                  ": use direct, fastest or winograd");
    }
    if (spec.kind != StudyKind::lineage && models.size() != spec.labels.size()) {
      throw std::invalid_argument(name + ": " + std::to_string(models.size()) + " programs for " +
                                  std::to_string(spec.labels.size()) + " models");
    }
    // The programs must be those of the declared types (the command line takes them from
    // the registry by name).
    for (std::size_t i = 0; i < models.size() && i < spec.params.size(); ++i) {
      if (models[i].native.params != spec.params[i] || models[i].params != spec.params[i] ||
          models[i].macs != spec.macs[i]) {
        throw std::logic_error(
            name + ": the program of '" + models[i].label +
            "' does not match the study's declared model (parameters or MACs differ)");
      }
    }
    Context c{spec, options, {}, {}, bench::effective_threads(options.threads), {}, {}, {}, {}};
    c.out = !options.out.empty() ? options.out
            : options.quick      ? fs::path("runs/quick")
                                 : fs::path("reports");
    c.dir = c.out / name;
    fs::create_directories(c.dir);

    const auto start = Clock::now();
    const std::string started = utc_now();
    // The tree as the run starts (the one built into this executable, as a rule): a long
    // run must not report the commit the tree has moved on to by its end.
    const std::string commit = source_commit();
    c.md.heading(1, spec.title);
    c.md.paragraph(spec.question);
    if (options.quick) {
      c.md.paragraph(
          "**This is a `--quick` run**: a few steps on a tiny subset, to check the pipeline end to "
          "end. Its "
          "numbers mean nothing; the full run's report is `reports/" +
          name + ".md`.");
    }
    std::printf("%s: %s%s -> %s\n", name.c_str(), spec.title.c_str(),
                options.quick ? " (--quick)" : "", (c.out / (name + ".md")).c_str());
    std::fflush(stdout);
    int rc = 0;
    if (spec.kind == StudyKind::training)
      rc = run_training(c, models);
    else if (spec.kind == StudyKind::transfer)
      rc = run_transfer(c, models);
    else if (spec.kind == StudyKind::cost)
      rc = run_cost(c, models);
    else
      rc = run_lineage(c);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    c.md.heading(2, "How this report was made");
    c.md.table({"", ""}, {{"command", "`" + options.command + "`"},
                          {"machine", machine_description(c.threads)},
                          {"commit", commit},
                          {"started", started},
                          {"wall time", fixed(seconds, 1) + " s"}});
    const std::string metrics =
        trains ? "per model and seed `MODEL-seedS.csv` and `.json` (per epoch: train loss and "
                 "accuracy, test loss, "
                 "top-1 and top-5 accuracy, learning rate, seconds, images/s)" +
                     std::string(spec.has(Analysis::gradient_norms)
                                     ? ", `MODEL-seedS-gradient-norms.csv`"
                                     : "") +
                     ", "
               : "";
    c.md.paragraph(
        "Raw data in `" + name + "/`: " + metrics +
        "`summary.json` (every figure of the tables); each plot's data (`.dat`) and gnuplot script "
        "(`.gp`) next to its PNG.");
    c.summary["study"] = name;
    c.summary["title"] = spec.title;
    c.summary["quick"] = options.quick;
    c.summary["command"] = options.command;
    c.summary["machine"] = machine_description(c.threads);
    c.summary["commit"] = commit;
    c.summary["started"] = started;
    c.summary["seconds"] = seconds;
    c.summary["plots"] = c.plots;
    c.summary["undrawn"] = c.pending;
    std::ofstream(c.dir / "summary.json") << c.summary.dump(2) << "\n";
    c.md.write(c.out / (name + ".md"));
    std::printf("%s: report %s (%zu plots), metrics in %s, %.1f s\n", name.c_str(),
                (c.out / (name + ".md")).c_str(), c.plots.size(), c.dir.c_str(), seconds);
    if (!c.pending.empty()) {
      std::printf("%s: %zu plots not drawn (gnuplot is not installed here); `archetype experiment "
                  "%s --draw --out %s` draws them where it is\n",
                  name.c_str(), c.pending.size(), name.c_str(), c.out.c_str());
    }
    return rc;
  } catch (const std::invalid_argument& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace archetype::experiments
