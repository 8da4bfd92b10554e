#pragma once
// Shim for gpu.gradcheck: tests/gradcheck/gradcheck_test.cpp and harness.hpp are compiled a
// second time with this folder first on the include path, so that `onednn::Executable` and
// `onednn::Mode` name the cuDNN backend's, whose interface is the same. Every gradient
// check written for the oneDNN backend thus runs on the GPU too, with no second copy of
// the cases. (Those files may use only what both backends have: Executable, Mode and the
// default Options.)
#include <archetype/backends/cudnn/executable.hpp>

namespace archetype {
namespace onednn = cudnn;
}  // namespace archetype
