#include "format.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace archetype::cli {

namespace {
std::string group_digits(std::string digits) {
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}
}  // namespace

std::string with_separators(std::int64_t value) {
  const bool negative = value < 0;
  const std::uint64_t magnitude =
      negative ? std::uint64_t(-(value + 1)) + 1 : std::uint64_t(value);
  std::string out = negative ? "-" : "";
  out += group_digits(std::to_string(magnitude));
  return out;
}

std::string scaled(std::int64_t value, double unit, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, double(value) / unit);
  std::string text = buffer;
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.erase(0, 1);
  const std::size_t dot = text.find('.');
  std::string integer = text.substr(0, dot);
  std::string fraction = dot == std::string::npos ? "" : text.substr(dot);
  std::string out = negative ? "-" : "";
  out += group_digits(integer);
  out += fraction;
  return out;
}

std::string shape_text(Shape s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

std::string bytes_text(std::int64_t bytes) {
  constexpr double kib = 1024.0, mib = kib * 1024.0, gib = mib * 1024.0;
  if (bytes < 1024) return std::to_string(bytes) + " B";
  if (bytes < 1024 * 1024) return scaled(bytes, kib, 2) + " KiB";
  if (bytes < std::int64_t{1024} * 1024 * 1024) return scaled(bytes, mib, 2) + " MiB";
  return scaled(bytes, gib, 2) + " GiB";
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> width(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    width[c] = columns_[c].header.size();
    for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (c > 0) text += "  ";
      const std::string pad(width[c] - cells[c].size(), ' ');
      if (columns_[c].align == Align::right) {
        text += pad + cells[c];
      } else if (c + 1 < columns_.size()) {
        text += cells[c] + pad;
      } else {
        text += cells[c];  // no trailing blanks
      }
    }
    out << text << '\n';
  };
  std::vector<std::string> headers;
  std::size_t total = 0;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    headers.push_back(columns_[c].header);
    total += width[c] + (c > 0 ? 2 : 0);
  }
  line(headers);
  out << std::string(total, '-') << '\n';
  for (const auto& row : rows_) line(row);
}

}  // namespace archetype::cli
