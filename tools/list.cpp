// `archetype list`: every model of the registry with its headline figures.
#include "commands.hpp"
#include "format.hpp"

#include <archetype/architectures/registry.hpp>

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

namespace archetype::cli {

namespace {

struct ListOptions {
  bool json = false;
  bool fashion_mnist = false;
};

nlohmann::json shape_json(Shape s) { return nlohmann::json::array({s.c, s.h, s.w}); }

int run_list(const ListOptions& options) {
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const ModelEntry& m : models()) {
      const ModelInfo& info = options.fashion_mnist ? m.fashion_mnist : m.native;
      out.push_back({{"name", std::string(m.name)},
                     {"title", std::string(m.title)},
                     {"paper", std::string(m.paper)},
                     {"year", m.year},
                     {"input", shape_json(info.input)},
                     {"output", shape_json(info.output)},
                     {"params", info.params},
                     {"buffers", info.buffers},
                     {"macs", info.macs},
                     {"flops", info.flops()}});
    }
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  std::cout << "MACs: multiply-accumulates of conv and linear layers, one forward pass of one "
               "image (FLOPs = 2 × MACs); params: trainable (BatchNorm gamma and beta included)"
            << (options.fashion_mnist ? "; inputs: Fashion-MNIST 1x28x28 through each net's adapter"
                                      : "")
            << "\n\n";
  Table table({{"name"},
               {"title"},
               {"params", Table::Align::right},
               {"MMACs/img", Table::Align::right},
               {"input (CxHxW)"},
               {"year", Table::Align::right}});
  for (const ModelEntry& m : models()) {
    const ModelInfo& info = options.fashion_mnist ? m.fashion_mnist : m.native;
    table.add_row({std::string(m.name), std::string(m.title), with_separators(info.params),
                   scaled(info.macs, 1e6, 2), shape_text(info.input), std::to_string(m.year)});
  }
  table.print(std::cout);
  return 0;
}

}  // namespace

Command add_list(CLI::App& app) {
  auto options = std::make_shared<ListOptions>();
  CLI::App* sub = app.add_subcommand("list", "List every model: name, parameters, MACs per image, input shape");
  sub->add_flag("--json", options->json, "Print a JSON array of objects instead of a table");
  sub->add_flag("--fashion-mnist", options->fashion_mnist,
                "Figures for 1x28x28 Fashion-MNIST inputs fed through each net's input adapter");
  return Command{sub, [options] { return run_list(*options); }};
}

}  // namespace archetype::cli
