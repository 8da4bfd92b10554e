// `archetype export MODEL --weights FILE --onnx OUT.onnx`: the model's inference graph as
// an ONNX file (export/include/archetype/export/onnx.hpp; docs/export.md).
#include "commands.hpp"
#include "format.hpp"

#include <archetype/architectures/registry.hpp>
#include <archetype/codegen/initialize.hpp>
#include <archetype/codegen/new_head.hpp>
#include <archetype/export/onnx.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace archetype::cli {

namespace {

struct ExportOptions {
  std::string name;
  std::string weights;
  std::optional<std::uint64_t> init_seed;
  std::string onnx;
  int batch = 0;
  int opset = onnx_export::min_opset;
  bool fashion_mnist = false;
  int classes = 0;  // --classes: the classifier resized (a model trained with --new-head)
};

std::string shape_text(std::string_view batch, Shape s) {
  return std::string(batch) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" +
         std::to_string(s.w);
}

int run_export(const ExportOptions& o) {
  const ModelEntry* m = model_or_report(o.name);
  if (m == nullptr) return exit_usage;
  if (o.weights.empty() == !o.init_seed.has_value()) {
    std::cerr
        << "archetype export: give the parameters, either --weights FILE (a parameter file, e.g. "
           "from `archetype train --save` or tools/convert_state_dict.py) or --init-seed N "
           "(PyTorch's "
           "default initialisation from seed N, running statistics 0 and 1), not "
        << (o.weights.empty() ? "neither" : "both")
        << "\nRun 'archetype export --help' for more information.\n";
    return exit_usage;
  }
  const ModelInfo& info = o.fashion_mnist ? m->fashion_mnist : m->native;
  std::optional<codegen::OwnedProgram> resized;
  codegen::ProgramView program = info.program;
  if (o.classes > 0) {
    resized = codegen::with_classes(info.program, o.classes);
    program = resized->view();
  }
  std::vector<float> parameters(std::size_t(program.params)), buffers(std::size_t(program.buffers));
  if (o.init_seed) {
    codegen::initialize_parameters(program, parameters, buffers, *o.init_seed);
  } else {
    try {
      const std::string note = runtime::load_parameters(o.weights, program, parameters, buffers);
      if (!note.empty()) std::cerr << "archetype export: " << o.weights << ": " << note << '\n';
    } catch (const runtime::ParameterFileError& e) {
      std::cerr << "archetype export: " << m->name
                << (o.fashion_mnist ? " (Fashion-MNIST input)" : "")
                << ": cannot load --weights: " << e.what() << '\n';
      return 1;
    }
  }
  onnx_export::OnnxOptions options;
  options.batch = o.batch;
  options.opset = o.opset;
  options.graph_name = std::string(m->name);
  options.doc = std::string(m->title) + " (" + std::string(m->paper) +
                "), exported by archetype from " + std::string(m->type) +
                (o.fashion_mnist ? " fed 1x28x28 images through its input adapter" : "");
  const onnx_export::OnnxSummary s =
      onnx_export::write_onnx(o.onnx, program, parameters, buffers, options);

  const std::string batch = o.batch > 0 ? std::to_string(o.batch) : "batch";
  const Shape out = program.tensors[std::size_t(program.output)].shape;
  // The summary goes to stderr when the model itself went to stdout (or another stream).
  std::ostream& report = std::filesystem::is_regular_file(o.onnx) ? std::cout : std::cerr;
  report << "wrote " << o.onnx << ": " << m->name << ", ONNX opset " << o.opset << ", " << s.nodes
         << " nodes, " << with_separators(program.params) << " parameters and "
         << with_separators(program.buffers) << " buffers, " << with_separators(s.bytes)
         << " bytes\n"
         << "  input  '" << onnx_export::input_name << "'  float " << shape_text(batch, info.input)
         << " (NCHW)\n"
         << "  output '" << onnx_export::output_name << "' float " << batch << "x" << out.elements()
         << " (logits, no softmax)\n";
  return 0;
}

}  // namespace

Command add_export(CLI::App& app) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* sub = app.add_subcommand(
      "export",
      "Write a model's inference graph as an ONNX file (input 'input' NCHW float, output 'logits'; "
      "BatchNorm with running statistics, Dropout removed; see docs/export.md)");
  sub->add_option("name", options->name, "Model name (see: archetype list)")->required();
  sub->add_option(
         "--weights", options->weights,
         "Parameter file (archetype train --save, or tools/convert_state_dict.py from a PyTorch "
         "state_dict); required unless --init-seed")
      ->check(CLI::ExistingFile);
  sub->add_option(
      "--init-seed", options->init_seed,
      "No weights file: PyTorch's default initialisation from this seed (running means 0, "
      "variances 1), deterministic; for testing a runtime, not for predictions");
  sub->add_option("--onnx", options->onnx, "The ONNX file to write")->required();
  sub->add_option(
         "--batch", options->batch,
         "Fix the batch dimension to N, 1 to 1,000,000 (default: the symbolic dimension 'batch')")
      ->check(CLI::Range(1, 1'000'000));
  sub->add_option("--classes", options->classes,
                  "The classifier's last Linear layer with N outputs: a model trained with "
                  "`archetype train --new-head` on N classes")
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--opset", options->opset, "ONNX opset, 13 to 17")
      ->check(CLI::Range(onnx_export::min_opset, onnx_export::max_opset))
      ->capture_default_str();
  sub->add_flag(
      "--fashion-mnist", options->fashion_mnist,
      "Export the net fed 1x28x28 images through its input adapter (the graph `archetype train` "
      "trains on Fashion-MNIST): the adapter (zero padding or a bilinear resize) is in the graph");
  return Command{sub, [options] { return run_export(*options); }};
}

}  // namespace archetype::cli
