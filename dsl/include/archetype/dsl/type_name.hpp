#pragma once
/// \file
/// \brief `type_name<T>()`: a type's name as the compiler spells it, for the names the
/// registry and the trainer give a net ("archetype::architectures::CifarResNet<20>").

#include <cstddef>
#include <string_view>

namespace archetype {

/// `T`'s name as the compiler spells it ("archetype::architectures::CifarResNet<20>"),
/// from `__PRETTY_FUNCTION__` (g++: "... [with T = NAME; ...]", clang: "... [T = NAME]").
template <class T>
consteval std::string_view type_name() {
  const std::string_view f = __PRETTY_FUNCTION__;
  const std::size_t begin = f.find("T = ") + 4;
  std::size_t end = f.find(';', begin);
  if (end == std::string_view::npos) end = f.rfind(']');
  return f.substr(begin, end - begin);
}

}  // namespace archetype
