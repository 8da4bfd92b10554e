#pragma once
/// \file
/// \brief Text formatting shared by the `archetype` subcommands: numbers with thousands
/// separators, shapes, byte sizes and aligned tables.

#include <archetype/dsl/shape.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::cli {

/// 25557032 -> "25,557,032".
std::string with_separators(std::int64_t value);
/// 4089184256 with 1e6 and 2 decimals -> "4,089.18".
std::string scaled(std::int64_t value, double unit, int decimals);
/// Shape{3, 224, 224} -> "3x224x224".
std::string shape_text(Shape s);
/// Bytes in binary units: "512 B", "12.50 KiB", "98.00 MiB", "1.25 GiB".
std::string bytes_text(std::int64_t bytes);

/// A text table: left-aligned text columns, right-aligned number columns, two spaces
/// between columns, a header line and a rule under it.
class Table {
 public:
  enum class Align { left, right };
  struct Column {
    std::string header;
    Align align = Align::left;
  };
  explicit Table(std::vector<Column> columns);
  void add_row(std::vector<std::string> cells);
  void print(std::ostream& out) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace archetype::cli
