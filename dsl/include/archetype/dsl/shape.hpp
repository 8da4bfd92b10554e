#pragma once
/// \file
/// \brief `Shape`, the logical tensor shape used as a template argument.

#include <cstdint>

namespace archetype {

/// Logical shape of one image's tensor: channels x height x width (NCHW order is logical
/// only; backends choose physical layouts). The batch is a run-time value and is not part
/// of the shape. A structural literal type, used directly as a template argument:
/// `Input<Shape{3, 224, 224}>`. A flat vector of N features is `Shape{N, 1, 1}`.
struct Shape {
  int c = 0;
  int h = 0;
  int w = 0;

  /// Number of scalars of one image's tensor: c * h * w.
  [[nodiscard]] constexpr std::int64_t elements() const {
    return std::int64_t{c} * h * w;
  }
  /// True for `C x 1 x 1`, the only input a `Linear` layer accepts.
  [[nodiscard]] constexpr bool flat() const { return h == 1 && w == 1; }
  /// True when every size is at least 1.
  [[nodiscard]] constexpr bool positive() const { return c > 0 && h > 0 && w > 0; }
  constexpr bool operator==(const Shape&) const = default;
};

namespace detail {
/// The shape a layer returns after one of its rules failed: later layers see it, stay
/// silent, and so only the first error is reported.
inline constexpr Shape poisoned_shape{-1, -1, -1};
[[nodiscard]] constexpr bool poisoned(Shape s) { return s.c == -1 && s.h == -1 && s.w == -1; }
}  // namespace detail

}  // namespace archetype
