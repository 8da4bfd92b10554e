// The analyses a training study declares (StudySpec::analyses): sections of its report
// computed from the engine's runs (study_engine.hpp).
#include "study_engine.hpp"

#include <archetype/runtime/batches.hpp>

#include <algorithm>
#include <optional>

namespace archetype::experiments::engine {
namespace {

/// One series of the weight layers' gradient norms of a sample, against their depth.

Series gradient_series(const ModelRun& run, const GradientSample& s, const std::string& title) {
  Series series{title, {}, {}, {}, false, "linespoints"};
  const auto depth = weight_depths(run.program);
  for (std::size_t i = 0; i < run.program.ops.size(); ++i) {
    const codegen::Op& op = run.program.ops[i];
    if (!weighted(op.layer.op) || s.norms[i] <= 0) continue;
    series.x.push_back(depth[std::size_t(op.output)]);
    series.y.push_back(s.norms[i]);
  }
  return series;
}

}  // namespace

void against_depth_analysis(Context& c, const TrainingRuns& t) {
  c.md.heading(3, "Against depth");
  Plot accuracy{.title = "Final test accuracy against depth",
                .x_label = "depth (weight layers)",
                .y_label = "test top-1 accuracy"};
  Plot params{.title = "Parameters against depth (native 3x32x32 input)",
              .x_label = "depth (weight layers)",
              .y_label = "trainable parameters",
              .log_y = true};
  Plot macs{.title = "MACs per image against depth (native 3x32x32 input)",
            .x_label = "depth (weight layers)",
            .y_label = "MACs per image (forward)",
            .log_y = true};
  // Two families: the CIFAR ResNets (16-32-64 filters) and the ImageNet-width CIFAR variants.
  for (const bool wide : {false, true}) {
    const std::string family = wide ? "ResNet-18/50 (CIFAR variants)" : "CIFAR ResNets (6n+2)";
    Series a{family, {}, {}, {}, false, "points pointsize 2"}, p = a, m = a;
    for (const ModelRow& r : t.rows) {
      if ((r.model->label.find("_cifar") != std::string::npos) != wide) continue;
      const double d = depth_of(r.program);
      a.x.push_back(d), a.y.push_back(mean(r.test_accuracy)), a.labels.push_back(r.model->label);
      p.x.push_back(d), p.y.push_back(double(r.model->params)), p.labels.push_back(r.model->label);
      m.x.push_back(d), m.y.push_back(double(r.model->macs)), m.labels.push_back(r.model->label);
    }
    if (a.x.empty()) continue;
    accuracy.series.push_back(a), params.series.push_back(p), macs.series.push_back(m);
  }
  c.figure(accuracy, "accuracy_vs_depth.png");
  c.figure(params, "params_vs_depth.png");
  c.figure(macs, "macs_vs_depth.png");

  // The CIFAR family in order of depth: does accuracy rise with every step, as in He et al.
  // 2016, Table 6? A step that loses test accuracy while its training error rises is a net
  // further from convergence; one that loses it fitting the training set no worse
  // generalises no better.
  std::vector<const ModelRow*> family;
  for (const ModelRow& r : t.rows) {
    if (r.model->label.find("_cifar") == std::string::npos) family.push_back(&r);
  }
  std::sort(family.begin(), family.end(), [](const ModelRow* a, const ModelRow* b) {
    return depth_of(a->program) < depth_of(b->program);
  });
  if (family.size() >= 2) {
    std::string chain, errors, steps_down;
    bool any_underfit = false;
    nlohmann::json trend = nlohmann::json::array(), losses = nlohmann::json::array();
    for (std::size_t i = 0; i < family.size(); ++i) {
      const ModelRow& r = *family[i];
      if (i > 0) {
        const ModelRow& p = *family[i - 1];
        const double d_test = mean(r.test_accuracy) - mean(p.test_accuracy);
        const double d_train = mean(r.train_error) - mean(p.train_error);
        if (!(d_test > 0)) {
          const bool underfit = d_train > 0;
          any_underfit = any_underfit || underfit;
          steps_down += std::string(steps_down.empty() ? "" : "; ") + p.model->label + " → " +
                        r.model->label + ": test accuracy " + fixed(100 * d_test, 2) +
                        " points, training error " + (d_train > 0 ? "+" : "") +
                        fixed(100 * d_train, 2) + " points" +
                        (underfit ? " (fits its training set worse: further from convergence)"
                                  : " (fits its training set no worse, tests no better)");
          losses.push_back({{"from", p.model->label},
                            {"to", r.model->label},
                            {"test_accuracy_change", d_test},
                            {"train_error_change", d_train}});
        }
      }
      chain += (i ? " → " : "") + r.model->label + " " + percent(mean(r.test_accuracy));
      errors += (i ? ", " : "") + percent(mean(r.train_error));
      trend.push_back({{"label", r.model->label},
                       {"depth", depth_of(r.program)},
                       {"final_test_accuracy", mean(r.test_accuracy)},
                       {"final_train_error", mean(r.train_error)}});
    }
    const bool accuracy_rises = steps_down.empty();
    const auto best =
        *std::max_element(family.begin(), family.end(), [](const ModelRow* a, const ModelRow* b) {
          return mean(a->test_accuracy) < mean(b->test_accuracy);
        });
    const std::int64_t steps = std::int64_t(t.base.epochs) *
                               runtime::batches_per_epoch(t.data.train.size(), t.base.batch, true);
    std::string text = "CIFAR ResNets in order of depth, final test accuracy: " + chain +
                       " (final training error, same order: " + errors + "). ";
    if (accuracy_rises) {
      text += "Test accuracy rises with every step in depth, as in He et al. 2016, Table 6.";
    } else {
      text +=
          "Unlike He et al. 2016, Table 6, test accuracy does not rise with every step in depth; "
          "it is highest at " +
          best->model->label + ". The steps that lose it: " + steps_down + ".";
      if (any_underfit) {
        text += " This run trained " + std::to_string(t.base.epochs) + " epochs (" +
                grouped(steps) + " iterations at batch " + std::to_string(t.base.batch) +
                "), the paper 64,000 iterations at batch 128 (about 164 epochs of CIFAR-10); "
                "deeper nets need more "
                "of them to converge.";
      }
    }
    if (t.seeds.size() == 1) {
      text +=
          " One seed per model: differences of a few tenths of a point between neighbours are "
          "within what "
          "another seed could change.";
    }
    c.md.heading(3, "Accuracy and depth");
    c.md.paragraph(text);
    c.summary["depth_trend"] = {{"cifar_family", trend},
                                {"test_accuracy_rises_with_depth", accuracy_rises},
                                {"steps_losing_accuracy", losses}};
  }
}

void gradient_norms_analysis(Context& c, const TrainingRuns& t) {
  const StudySpec& spec = c.spec;
  c.md.heading(3, "Per-layer gradient norms");
  c.md.paragraph(
      "L2 norm of the loss gradient of each convolution's and linear layer's parameters, against "
      "the layer's depth "
      "(1: the first convolution), on one training batch of " +
      std::to_string(t.base.batch) +
      " images: at initialisation (epoch 0) and the last batch of each epoch (before its update; "
      "a resumed run "
      "records only the epochs it ran). Raw values, BatchNorm layers included: `" +
      spec.name + "/MODEL-seedS-gradient-norms.csv`.");
  auto gradient_plot = [](std::string title) {  // norms against depth, log scale
    return Plot{.title = std::move(title),
                .x_label = "layer depth",
                .y_label = "gradient L2 norm",
                .log_y = true};
  };
  Plot init = gradient_plot("Gradient norms at initialisation");
  Plot final_epoch = gradient_plot("Gradient norms after the last epoch");
  for (const ModelRun& run : t.runs) {
    if (run.seed != t.seeds.front() || run.gradients.empty()) continue;
    init.series.push_back(gradient_series(run, run.gradients.front(), run.model->label));
    final_epoch.series.push_back(gradient_series(run, run.gradients.back(), run.model->label));
  }
  c.figure(init, "gradient_norms_init.png");
  c.figure(final_epoch, "gradient_norms_final.png");
  for (const ModelRun& run : t.runs) {
    if (run.seed != t.seeds.front() || run.gradients.empty()) continue;
    Plot per{.title = "Gradient norms of " + run.model->label + " by epoch",
             .x_label = "layer depth",
             .y_label = "gradient L2 norm",
             .log_y = true};
    // At most 8 curves: initialisation, the last epoch, and epochs evenly between.
    const std::size_t n = run.gradients.size();
    std::vector<std::size_t> picks;
    for (std::size_t k = 0; k < std::min<std::size_t>(n, 8); ++k) {
      const std::size_t i = n <= 8 ? k : k * (n - 1) / 7;
      if (picks.empty() || picks.back() != i) picks.push_back(i);
    }
    for (std::size_t i : picks) {
      const int e = run.gradients[i].epoch;
      per.series.push_back(
          gradient_series(run, run.gradients[i], e == 0 ? "init" : "epoch " + std::to_string(e)));
    }
    c.figure(per, "gradient_norms_" + run.model->label + ".png");
  }
  // What reaches the first layer, as a number: its gradient norm over the deepest
  // convolution's (the last before the classifier), at initialisation and at the end.
  std::vector<std::vector<std::string>> table;
  nlohmann::json reach = nlohmann::json::object();
  for (const ModelRun& run : t.runs) {
    if (run.seed != t.seeds.front() || run.gradients.empty()) continue;
    const auto depth = weight_depths(run.program);
    std::size_t first = run.program.ops.size(), last = first;
    for (std::size_t i = 0; i < run.program.ops.size(); ++i) {
      const codegen::Op& op = run.program.ops[i];
      if (op.layer.op != LayerKind::conv) continue;
      const int d = depth[std::size_t(op.output)];
      if (first == run.program.ops.size() || d < depth[std::size_t(run.program.ops[first].output)])
        first = i;
      if (last == run.program.ops.size() || d >= depth[std::size_t(run.program.ops[last].output)])
        last = i;
    }
    if (first == run.program.ops.size()) continue;
    std::vector<std::string> row{run.model->label};
    nlohmann::json j = nlohmann::json::object();
    for (const GradientSample* s : {&run.gradients.front(), &run.gradients.back()}) {
      const double a = s->norms[first], b = s->norms[last];
      const double ratio = b > 0 ? a / b : 0.0;
      row.push_back(significant(a) + " / " + significant(b) + " = " + significant(ratio));
      j[s == &run.gradients.front() ? "init" : "final"] = {
          {"epoch", s->epoch}, {"first_conv", a}, {"last_conv", b}, {"ratio", ratio}};
    }
    reach[run.model->label] = j;
    table.push_back(std::move(row));
  }
  if (!table.empty()) {
    c.md.paragraph(
        "The first convolution's gradient norm over the deepest convolution's: above 1, "
        "the gradient grows on its way back to the input; below 1, it shrinks.");
    c.md.table({"model", "at initialisation: first / last = ratio",
                "after the last epoch: first / last = ratio"},
               table);
    c.summary["gradient_reach"] = reach;
  }
}

void degradation_analysis(Context& c, const TrainingRuns& t) {
  const bool quick = c.options.quick;
  // The degradation problem (He et al. 2016, Fig. 6), when the study has its four nets.
  auto final_error = [&](const std::string& label) -> std::optional<double> {
    for (const ModelRow& r : t.rows) {
      if (r.model->label == label) return mean(r.train_error);
    }
    return std::nullopt;
  };
  const auto p20 = final_error("plain20"), p56 = final_error("plain56");
  const auto r20 = final_error("resnet20"), r56 = final_error("resnet56");
  if (p20 && p56 && r20 && r56) {
    c.md.heading(3, "The degradation problem");
    const bool degraded = *p56 > *p20;
    const bool residual_ok = *r56 <= *r20;
    std::string text = "Final training error: Plain-20 " + percent(*p20) + ", Plain-56 " +
                       percent(*p56) + ", ResNet-20 " + percent(*r20) + ", ResNet-56 " +
                       percent(*r56) + ". ";
    if (quick) {
      text +=
          "This is a --quick run (a few steps on a tiny subset): it checks the pipeline and says "
          "nothing about "
          "the paper's claim.";
    } else {
      text += std::string("The paper's claim — Plain-56 above Plain-20: ") +
              (degraded ? "**holds**" : "**does not hold**") +
              "; ResNet-56 at or below ResNet-20: " +
              (residual_ok ? "**holds**" : "**does not hold**") + ".";
    }
    c.md.paragraph(text);
    c.summary["degradation"] = {{"plain20", *p20},
                                {"plain56", *p56},
                                {"resnet20", *r20},
                                {"resnet56", *r56},
                                {"plain_degrades", degraded},
                                {"residual_no_worse", residual_ok}};
  }
}

int run_training(Context& c, const std::vector<ModelPrograms>& models) {
  const TrainingRuns t = train_models(c, models);
  report_results(c, t);
  for (const Analysis a : c.spec.analyses) {
    switch (a) {
      case Analysis::against_depth:
        against_depth_analysis(c, t);
        break;
      case Analysis::gradient_norms:
        gradient_norms_analysis(c, t);
        break;
      case Analysis::degradation:
        degradation_analysis(c, t);
        break;
    }
  }
  return 0;
}

}  // namespace archetype::experiments::engine
