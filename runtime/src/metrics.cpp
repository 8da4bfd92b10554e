#include <archetype/runtime/metrics.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace archetype::runtime {
namespace {

void replace_file(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp.string() + ": cannot write metrics");
    out << text;
    if (!out.flush()) throw std::runtime_error(tmp.string() + ": cannot write metrics");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

std::vector<EpochMetrics> read_metrics(const std::filesystem::path& path) {
  std::filesystem::path json = path;
  json.replace_extension(".json");
  std::vector<EpochMetrics> rows;
  std::ifstream in(json);
  if (!in) return rows;
  try {
    const auto doc = nlohmann::json::parse(in);
    for (const auto& e : doc.at("epochs")) {
      EpochMetrics m;
      m.epoch = e.at("epoch");
      m.train_loss = e.at("train_loss");
      m.train_accuracy = e.at("train_accuracy");
      m.test_loss = e.at("test_loss");
      m.test_accuracy = e.at("test_accuracy");
      m.test_top5 = e.value("test_top5", 0.0);
      m.lr = e.at("lr");
      m.seconds = e.at("seconds");
      m.images_per_second = e.at("images_per_second");
      m.precision = e.value("precision", std::string{});
      rows.push_back(m);
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(json.string() + ": not a metrics file (" + e.what() + ")");
  }
  return rows;
}

void write_metrics(const std::filesystem::path& path, const std::string& model,
                   const std::vector<EpochMetrics>& epochs) {
  std::filesystem::path stem = path;
  stem.replace_extension();
  std::string csv =
      "epoch,train_loss,train_accuracy,test_loss,test_accuracy,test_top5,lr,seconds,images_per_second\n";
  nlohmann::json rows = nlohmann::json::array();
  for (const EpochMetrics& e : epochs) {
    char line[256];
    std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f,%.1f\n", e.epoch,
                  e.train_loss, e.train_accuracy, e.test_loss, e.test_accuracy, e.test_top5, e.lr,
                  e.seconds, e.images_per_second);
    csv += line;
    nlohmann::json row = {{"epoch", e.epoch},
                    {"train_loss", e.train_loss},
                    {"train_accuracy", e.train_accuracy},
                    {"test_loss", e.test_loss},
                    {"test_accuracy", e.test_accuracy},
                    {"test_top5", e.test_top5},
                    {"lr", e.lr},
                    {"seconds", e.seconds},
                    {"images_per_second", e.images_per_second}};
    if (!e.precision.empty()) row["precision"] = e.precision;
    rows.push_back(std::move(row));
  }
  replace_file(stem.string() + ".csv", csv);
  nlohmann::json doc = {{"model", model}, {"epochs", rows}};
  replace_file(stem.string() + ".json", doc.dump(2) + "\n");
}

}  // namespace archetype::runtime
