#pragma once
/// \file
/// \brief Shared by the unit tests: gtest printers for the analysis types and a row view.

#include <archetype/archetype.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace archetype {

// Found by argument-dependent lookup, so failures print `16x5x5` instead of bytes.
inline void PrintTo(const Shape& s, std::ostream* os) { *os << s.c << 'x' << s.h << 'x' << s.w; }
inline void PrintTo(const ReceptiveField& rf, std::ostream* os) { *os << rf.h << 'x' << rf.w; }

namespace unit_tests {

/// One table row as the tests write it: path, kind, attributes, shapes and figures.
struct ExpectedRow {
  std::string_view path;
  std::string_view kind;
  std::string_view attributes;
  Shape in;
  Shape out;
  std::int64_t params;
  std::int64_t macs;
  std::int64_t buffers = 0;
};

/// `std::string` copies so that gtest prints them readably.
inline std::string str(std::string_view s) { return std::string{s}; }

}  // namespace unit_tests
}  // namespace archetype
