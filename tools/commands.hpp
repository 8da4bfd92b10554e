#pragma once
/// \file
/// \brief The subcommands of the `archetype` command line. Each `add_*` registers its
/// subcommand (options, help) on the main app and returns it with what runs it once
/// parsed; the runner returns the process exit code. Exit codes: 0 success, 2 usage error (unknown
/// model, bad option), 1 other failure.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string_view>

namespace archetype {
struct ModelEntry;
struct ModelInfo;
}

namespace archetype::cli {

using Runner = std::function<int()>;

/// A registered subcommand and what runs it once it was parsed.
struct Command {
  CLI::App* app = nullptr;
  Runner run;
};

inline constexpr int exit_usage = 2;

/// `archetype list [--json] [--fashion-mnist]`.
Command add_list(CLI::App& app);
/// `archetype describe NAME [--batch N] [--json] [--fashion-mnist]`.
Command add_describe(CLI::App& app);
/// `archetype docs --out DIR [MODEL...]`: the architecture pages and diagrams for Doxygen.
Command add_docs(CLI::App& app);

/// `archetype train MODEL --data …` (built with the oneDNN backend).
Command add_train(CLI::App& app);
/// `archetype bench MODEL [--batch N] [--mode train|inference|both] [--json] …` (oneDNN):
/// training and inference images/s on synthetic inputs, measured like the PyTorch peer.
Command add_bench(CLI::App& app);
/// `archetype experiment NAME [--quick] [--epochs N] [--out DIR] [--data …]`: a study of
/// experiments/ and its report (built with the oneDNN backend).
Command add_experiment(CLI::App& app);

/// `archetype export MODEL (--weights FILE | --init-seed N) --onnx OUT [--batch N] [--opset N]
/// [--fashion-mnist]`: the inference graph as an ONNX file (built with libonnx-dev).
Command add_export(CLI::App& app);

/// The compile-time summary of one model (`info` is `m.native` or `m.fashion_mnist`):
/// a header line, the per-layer table when `with_table`, and the totals at `batch`.
void print_description(std::ostream& out, const ModelEntry& m, const ModelInfo& info,
                       std::int64_t batch, bool with_table);

/// The model called `name`, or nullptr after printing "unknown model … Did you mean …"
/// on stderr (the caller then exits with `exit_usage`).
const ModelEntry* model_or_report(std::string_view name);

}  // namespace archetype::cli
