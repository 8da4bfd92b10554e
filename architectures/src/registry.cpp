// The registry: the families in a fixed order, lookup and "did you mean" suggestions.
#include <archetype/architectures/registry.hpp>

#include "registry_detail.hpp"

#include <archetype/dsl/detail/edit_distance.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>
#include <tuple>  // std::tie

namespace archetype {

namespace {

void add(std::vector<ModelEntry>& all, std::span<const ModelEntry> entries) {
  for (const ModelEntry& m : entries) {
    const bool valid_name =
        !m.name.empty() && std::all_of(m.name.begin(), m.name.end(), [](char ch) {
          return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
        });
    if (!valid_name) {
      throw std::invalid_argument("register_models: model name '" + std::string(m.name) +
                                  "' is not made of lower-case letters, digits and '_'");
    }
    for (const ModelEntry& other : all) {
      if (other.name == m.name) {
        throw std::invalid_argument("register_models: a model named '" + std::string(m.name) +
                                    "' is already registered (" + std::string(other.type) + ")");
      }
    }
    all.push_back(m);
  }
}

/// The zoo, added through the same `add` as every other model, then whatever
/// register_models adds.
std::vector<ModelEntry>& registered() {
  static std::vector<ModelEntry> all = [] {
    std::vector<ModelEntry> v;
    for (auto family : {registry_detail::classic_models(), registry_detail::resnet_models(),
                        registry_detail::cifar_models(), registry_detail::inception_models(),
                        registry_detail::resnet_variant_models(), registry_detail::mobile_models(),
                        registry_detail::efficientnet_large_models(), registry_detail::efficientnet_b6_models(),
                        registry_detail::efficientnet_b7_models()}) {
      add(v, family);
    }
    return v;
  }();
  return all;
}

}  // namespace

std::span<const ModelEntry> models() { return registered(); }

void register_models(std::span<const ModelEntry> entries) { add(registered(), entries); }

const ModelEntry* find_model(std::string_view name) {
  for (const ModelEntry& m : models()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

using detail::edit_distance;

}  // namespace

std::vector<std::string_view> close_model_names(std::string_view name, std::size_t max) {
  const std::string query = lower(name);
  // A name is close when its edit distance is small for the query's length, or when it
  // contains the query (`vgg16` -> vgg16_bn, `cifar` -> resnet18_cifar); a containing
  // name ranks like an edit distance of 2, after the names truly at distance 2. Ties go
  // to the longer common prefix (`resnet5` -> resnet18 before lenet5), then to the
  // registry's order.
  const std::size_t limit = std::max<std::size_t>(2, query.size() / 3);
  struct Ranked {
    std::size_t score;
    bool contains_only;
    std::size_t prefix_miss;  // query characters beyond the common prefix
    std::size_t order;
    std::string_view name;
    bool operator<(const Ranked& o) const {
      return std::tie(score, contains_only, prefix_miss, order) <
             std::tie(o.score, o.contains_only, o.prefix_miss, o.order);
    }
  };
  std::vector<Ranked> ranked;
  std::size_t order = 0;
  for (const ModelEntry& m : models()) {
    const std::string candidate = lower(m.name);
    const std::size_t distance = edit_distance(query, candidate);
    const bool contains = query.size() >= 3 && candidate.find(query) != std::string::npos;
    const std::size_t score = contains ? std::min<std::size_t>(distance, 2) : distance;
    std::size_t common = 0;
    while (common < query.size() && common < candidate.size() && query[common] == candidate[common]) {
      ++common;
    }
    if (score <= limit || contains) {
      ranked.push_back({score, distance > score, query.size() - common, order, m.name});
    }
    ++order;
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string_view> out;
  for (const auto& r : ranked) {
    if (out.size() >= max) break;
    out.push_back(r.name);
  }
  return out;
}

std::string_view head_path(const ModelInfo& info) {
  // Rows are in execution order, so a top-level element's rows are contiguous and its output
  // is its last row's.
  const auto top = [](std::string_view path) { return path.substr(0, path.find('.')); };
  const auto& rows = info.layers;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string_view name = top(rows[i].path.view());
    std::size_t last = i;
    while (last + 1 < rows.size() && top(rows[last + 1].path.view()) == name) ++last;
    const Shape out = rows[last].out;
    if (out.h == 1 && out.w == 1) return i == 0 ? std::string_view{} : name;
    i = last;
  }
  return {};
}

}  // namespace archetype
