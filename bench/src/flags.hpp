#pragma once
// Command-line helpers shared by bench_peak and bench_<model>: `--name value` or
// `--name=value`, numbers checked whole (no trailing characters).

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace archetype::bench::flags {

/// The value of flag `name` at argv[i] ("--name value" advances i, "--name=value" does
/// not); nullopt when argv[i] is not that flag, "" when its value is missing.
inline std::optional<std::string_view> value_of(std::string_view name, int argc, char** argv,
                                                int& i) {
  const std::string_view arg = argv[i];
  if (arg == name) return i + 1 < argc ? std::string_view(argv[++i]) : std::string_view{};
  if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
    return arg.substr(name.size() + 1);
  }
  return std::nullopt;
}

/// A whole positive integer, or nullopt.
inline std::optional<int> positive_int(std::string_view text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < 1) return std::nullopt;
  return value;
}

/// A whole positive finite number, or nullopt.
inline std::optional<double> positive_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const std::string s(text);
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !(value > 0) || value > 1e300) return std::nullopt;
  return value;
}

/// "'text'", or "nothing" for an empty value, for error messages.
inline std::string quoted(std::string_view text) {
  return text.empty() ? std::string("nothing") : "'" + std::string(text) + "'";
}

}  // namespace archetype::bench::flags
