#pragma once
/// \file
/// \brief Fixed-capacity strings usable in constant expressions and as template arguments.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace archetype {

/// A string literal as a template argument: `Named<"layer1", …>`.
template <std::size_t N>
struct FixedString {
  char value[N]{};
  // NOLINTNEXTLINE(google-explicit-constructor): implicit, so that `Named<"conv1", L>` works.
  consteval FixedString(const char (&text)[N]) {
    for (std::size_t i = 0; i < N; ++i) value[i] = text[i];
  }
  [[nodiscard]] constexpr std::string_view view() const { return {value, N - 1}; }
};

namespace detail {

/// A bounded, truncating text buffer for the per-layer table (paths, kinds, attributes).
template <std::size_t Capacity>
struct Text {
  char data[Capacity]{};
  std::size_t size = 0;
  bool truncated = false;  ///< some text did not fit (a path must not: see `totals_v`)

  constexpr Text() = default;
  constexpr Text(std::string_view s) { append(s); }  // NOLINT(google-explicit-constructor)
  template <std::size_t N>
  constexpr Text(const char (&s)[N]) {  // NOLINT(google-explicit-constructor)
    append(std::string_view{s, N - 1});
  }

  constexpr Text& append(std::string_view s) {
    for (char ch : s) {
      if (size + 1 < Capacity) {
        data[size++] = ch;
      } else {
        truncated = true;
      }
    }
    return *this;
  }
  constexpr Text& append(std::int64_t v) {
    char digits[24]{};
    std::size_t n = 0;
    bool negative = v < 0;
    std::uint64_t u = negative ? std::uint64_t(-(v + 1)) + 1 : std::uint64_t(v);
    do {
      digits[n++] = char('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (negative) append("-");
    while (n > 0) {
      char ch[1] = {digits[--n]};
      append(std::string_view{ch, 1});
    }
    return *this;
  }
  [[nodiscard]] constexpr std::string_view view() const { return {data, size}; }
  [[nodiscard]] constexpr bool empty() const { return size == 0; }
};

}  // namespace detail
}  // namespace archetype
