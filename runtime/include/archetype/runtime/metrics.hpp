#pragma once
/// \file
/// \brief Per-epoch metrics of a run, written as CSV and JSON after every epoch (each file
/// replaced atomically, so an interrupted run leaves complete files).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::runtime {

struct EpochMetrics {
  int epoch = 0;               ///< 1-based
  double train_loss = 0;       ///< mean cross-entropy over the epoch's batches
  double train_accuracy = 0;   ///< top-1, fraction
  double test_loss = 0;
  double test_accuracy = 0;    ///< top-1, fraction
  double test_top5 = 0;        ///< top-5, fraction
  double lr = 0;               ///< at the end of the epoch
  double seconds = 0;          ///< training time of the epoch (evaluation excluded)
  double images_per_second = 0;
  std::string precision;       ///< "f32" or "bf16": the arithmetic of the epoch's training
                               ///< steps; empty where the file does not say (written before
                               ///< 2026-12-05). In the JSON only; the CSV keeps its columns.
};

/// Reads the epochs `write_metrics` wrote to `stem`.json (the extension of `path` is
/// replaced): empty when there is no such file; throws std::runtime_error naming the file
/// and the field (`epochs[3].train_loss`) when it cannot be read as metrics. A null value
/// reads as NaN (JSON has no NaN: `write_metrics` writes a non-finite figure as null).
[[nodiscard]] std::vector<EpochMetrics> read_metrics(const std::filesystem::path& path);

/// The same from the JSON text; `origin` (the path) starts every message. Epochs must be
/// integers from 1, in increasing order.
[[nodiscard]] std::vector<EpochMetrics> parse_metrics(std::string_view json,
                                                      const std::string& origin);

/// Writes `stem`.csv and `stem`.json (the extension of `path`, if any, is replaced).
void write_metrics(const std::filesystem::path& path, const std::string& model,
                   const std::vector<EpochMetrics>& epochs);

}  // namespace archetype::runtime
