#include <archetype/runtime/metrics.hpp>

#include "file_io.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <system_error>

namespace archetype::runtime {
namespace {

// About 250 bytes an epoch: room for millions of epochs, and a bound before reading.
constexpr std::uint64_t largest_metrics_file = std::uint64_t{256} << 20;
constexpr std::int64_t largest_epoch = 10'000'000;

void replace_file(const std::filesystem::path& path, const std::string& text) {
  const std::string error = detail::replace_file(
      path, std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
  if (!error.empty()) throw std::runtime_error("cannot write metrics: " + error);
}

const char* type_of(const nlohmann::json& j) {
  return j.is_null() ? "null" : j.type_name();  // "number", "string", "object", ...
}

/// entry[key] as a double: a number, or null (NaN); `required` fields must be present.
double number(const nlohmann::json& entry, const char* key, const std::string& where,
              bool required) {
  const auto it = entry.find(key);
  if (it == entry.end()) {
    if (required) throw std::runtime_error(where + "." + key + " is missing");
    return 0.0;
  }
  if (it->is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!it->is_number()) {
    throw std::runtime_error(where + "." + key + ": expected a number, found " + type_of(*it));
  }
  return it->get<double>();
}

}  // namespace

std::vector<EpochMetrics> parse_metrics(std::string_view text, const std::string& origin) {
  std::vector<EpochMetrics> rows;
  try {
    // A syntax error throws json::parse_error, whose message says the byte offset.
    const auto doc = nlohmann::json::parse(text.begin(), text.end());
    if (!doc.is_object())
      throw std::runtime_error(std::string("expected an object, found ") + type_of(doc));
    const auto epochs = doc.find("epochs");
    if (epochs == doc.end()) throw std::runtime_error("no \"epochs\" array");
    if (!epochs->is_array()) {
      throw std::runtime_error(std::string("\"epochs\": expected an array, found ") +
                               type_of(*epochs));
    }
    std::int64_t previous = 0;
    for (std::size_t i = 0; i < epochs->size(); ++i) {
      const nlohmann::json& e = (*epochs)[i];
      const std::string where = "epochs[" + std::to_string(i) + "]";
      if (!e.is_object())
        throw std::runtime_error(where + ": expected an object, found " + type_of(e));
      const auto epoch = e.find("epoch");
      if (epoch == e.end()) throw std::runtime_error(where + ".epoch is missing");
      if (!epoch->is_number_integer()) {
        throw std::runtime_error(where + ".epoch: expected an integer, found " +
                                 (epoch->is_number() ? epoch->dump() : type_of(*epoch)));
      }
      // Read as int64 only when it fits (an unsigned above INT64_MAX does not).
      const bool fits = epoch->is_number_unsigned()
                            ? epoch->get<std::uint64_t>() <= std::uint64_t(largest_epoch)
                            : true;
      const std::int64_t n = fits ? epoch->get<std::int64_t>() : largest_epoch + 1;
      if (n <= previous || n > largest_epoch) {
        throw std::runtime_error(
            where + ".epoch: " + epoch->dump() + " is out of order or range (after epoch " +
            std::to_string(previous) + ", at most " + std::to_string(largest_epoch) + ")");
      }
      previous = n;
      EpochMetrics m;
      m.epoch = int(n);
      m.train_loss = number(e, "train_loss", where, true);
      m.train_accuracy = number(e, "train_accuracy", where, true);
      m.test_loss = number(e, "test_loss", where, true);
      m.test_accuracy = number(e, "test_accuracy", where, true);
      m.test_top5 = number(e, "test_top5", where, false);
      m.lr = number(e, "lr", where, true);
      m.seconds = number(e, "seconds", where, true);
      m.images_per_second = number(e, "images_per_second", where, true);
      if (const auto p = e.find("precision"); p != e.end()) {
        if (!p->is_string()) {
          throw std::runtime_error(where + ".precision: expected a string, found " + type_of(*p));
        }
        m.precision = detail::printable(p->get<std::string>());
      }
      rows.push_back(std::move(m));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(origin + ": not a metrics file (" + e.what() + ")");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(origin + ": not a metrics file: " + e.what());
  }
  return rows;
}

std::vector<EpochMetrics> read_metrics(const std::filesystem::path& path) {
  std::filesystem::path json = path;
  json.replace_extension(".json");
  std::error_code ec;
  if (!std::filesystem::exists(json, ec)) return {};
  std::vector<unsigned char> bytes;
  if (std::string error =
          detail::read_file(json, largest_metrics_file, "a metrics file may be", bytes);
      !error.empty()) {
    throw std::runtime_error(error);
  }
  return parse_metrics(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                       json.string());
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
