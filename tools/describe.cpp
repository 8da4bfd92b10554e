// `archetype describe NAME`: the per-layer table and the totals of one model.
#include "commands.hpp"
#include "format.hpp"

#include <archetype/architectures/registry.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <system_error>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>

namespace archetype::cli {

namespace {

/// Parameters of the rows inside a Frozen<...> (dsl/transfer.hpp): they do not train.
std::int64_t frozen_params(const ModelInfo& info) {
  std::int64_t n = 0;
  for (const LayerRow& row : info.layers) n += row.frozen ? row.params : 0;
  return n;
}

inline constexpr std::int64_t max_batch = 1'000'000;

struct DescribeOptions {
  std::string name;
  std::int64_t batch = 1;
  bool json = false;
  bool fashion_mnist = false;
};

/// "--batch: must be a whole number from 1 to 1,000,000, not 'abc'".
CLI::Validator batch_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::int64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error != std::errc{} || stop != end || value < 1 || value > max_batch) {
          return "must be a whole number from 1 to " + with_separators(max_batch) + ", not '" +
                 text + "'";
        }
        return {};
      },
      "");
}

nlohmann::json shape_json(Shape s) { return nlohmann::json::array({s.c, s.h, s.w}); }

nlohmann::json describe_json(const ModelEntry& m, const ModelInfo& info,
                             const DescribeOptions& options) {
  const ActivationBytes act = info.activation_bytes(options.batch);
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerRow& row : info.layers) {
    layers.push_back({{"path", std::string(row.path.view())},
                      {"kind", std::string(row.kind.view())},
                      {"attributes", std::string(row.attributes.view())},
                      {"in", shape_json(row.in)},
                      {"out", shape_json(row.out)},
                      {"params", row.params},
                      {"frozen", row.frozen},
                      {"buffers", row.buffers},
                      {"macs", row.macs}});
  }
  return {
      {"name", std::string(m.name)},
      {"title", std::string(m.title)},
      {"paper", std::string(m.paper)},
      {"year", m.year},
      {"fashion_mnist", options.fashion_mnist},
      {"input", shape_json(info.input)},
      {"output", shape_json(info.output)},
      {"params", info.params},
      {"frozen_params", frozen_params(info)},
      {"buffers", info.buffers},
      {"macs", info.macs},
      {"flops", info.flops()},
      {"receptive_field", {{"h", info.receptive_field.h}, {"w", info.receptive_field.w}}},
      {"activation_bytes",
       {{"batch", options.batch},
        {"inference_peak", act.inference_peak},
        {"training_saved", act.training_saved}}},
      {"conventions",
       {{"params", "trainable; BatchNorm gamma and beta included, running statistics are buffers"},
        {"macs", "multiply-accumulates of conv and linear layers, one forward pass of one image"},
        {"flops", "2 x macs"},
        {"activation_bytes",
         "fp32; inference peak of live tensors; training: forward values the backward pass reads"},
        {"receptive_field",
         "input pixels per side, one output position of the last spatial layer"}}},
      {"layers", std::move(layers)}};
}

}  // namespace

void print_description(std::ostream& out, const ModelEntry& m, const ModelInfo& info,
                       std::int64_t batch_size, bool with_table) {
  // A net whose own input is 1x28x28 is its own Fashion-MNIST form: no adapter in front.
  const bool adapted = &info == &m.fashion_mnist && !(m.native.input == m.fashion_mnist.input);
  out << m.title << " (" << m.name << "): " << m.paper << '\n';
  out << "input " << shape_text(info.input);
  if (adapted && !info.layers.empty()) {
    out << " (Fashion-MNIST, adapter: " << info.layers.front().kind.view() << ' '
        << info.layers.front().attributes.view() << ")";
  }
  out << " -> output " << shape_text(info.output) << ", " << info.layers.size() << " rows";
  if (const std::string_view head = head_path(info); !head.empty())
    out << "; head from " << head << " (--freeze-until " << head << ": feature extraction)";
  out << '\n';
  if (with_table) {
    out << '\n';

  Table table({{"#", Table::Align::right},
               {"path"},
               {"kind"},
               {"attributes"},
               {"in"},
               {"out"},
               {"params", Table::Align::right},
               {"MACs", Table::Align::right}});
  std::size_t index = 0;
  for (const LayerRow& row : info.layers) {
    table.add_row({std::to_string(index++), std::string(row.path.view()),
                   std::string(row.kind.view()), std::string(row.attributes.view()),
                   shape_text(row.in), shape_text(row.out), with_separators(row.params),
                   with_separators(row.macs)});
  }
  table.print(out);
  }

  const ActivationBytes act = info.activation_bytes(batch_size);
  const std::string batch = "batch " + with_separators(batch_size) + ", fp32";
  auto total = [&](std::string_view label, const std::string& value, std::string_view note) {
    out << std::left << std::setw(17) << label << std::right << std::setw(16) << value << "  "
        << note << '\n';
  };
  out << '\n';
  total("params", with_separators(info.params), "trainable (BatchNorm gamma and beta included)");
  if (const std::int64_t frozen = frozen_params(info); frozen > 0) {
    total("frozen", with_separators(frozen), "of them in Frozen<...> layers: not trained");
  }
  total("buffers", with_separators(info.buffers), "BatchNorm running mean and variance");
  total("MACs", with_separators(info.macs),
        "per image, forward (multiply-accumulates of conv and linear layers)");
  total("FLOPs", with_separators(info.flops()), "per image, forward (FLOPs = 2 × MACs)");
  total("inference peak", bytes_text(act.inference_peak),
        with_separators(act.inference_peak) + " bytes, " + batch + ", largest set of live tensors");
  total("training saved", bytes_text(act.training_saved),
        with_separators(act.training_saved) + " bytes, " + batch + ", forward values the backward pass reads");
  total("receptive field",
        std::to_string(info.receptive_field.h) + "x" + std::to_string(info.receptive_field.w),
        "input pixels per side, one output position of the last spatial layer");
}

namespace {

int run_describe(const DescribeOptions& options) {
  const ModelEntry* m = model_or_report(options.name);
  if (m == nullptr) return exit_usage;
  const ModelInfo& info = options.fashion_mnist ? m->fashion_mnist : m->native;
  if (options.json) {
    std::cout << describe_json(*m, info, options).dump(2) << '\n';
  } else {
    print_description(std::cout, *m, info, options.batch, true);
  }
  return 0;
}

}  // namespace

Command add_describe(CLI::App& app) {
  auto options = std::make_shared<DescribeOptions>();
  CLI::App* sub = app.add_subcommand(
      "describe", "Per-layer table and totals of one model: shapes, params, MACs, memory");
  sub->add_option("name", options->name, "Model name (see: archetype list)")->required();
  sub->add_option("--batch", options->batch, "Batch size for the activation memory, 1 to 1,000,000 (default 1)")
      ->check(batch_validator());
  sub->add_flag("--json", options->json, "Print one JSON object instead of tables");
  sub->add_flag("--fashion-mnist", options->fashion_mnist,
                "Describe the net fed 1x28x28 Fashion-MNIST images through its input adapter");
  return Command{sub, [options] { return run_describe(*options); }};
}

}  // namespace archetype::cli
