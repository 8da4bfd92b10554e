// main() of the gpu-labelled Google Test executables: with no usable GPU, prints why and
// exits 77 (ctest's SKIP_RETURN_CODE), except when Google Test is only asked to list the
// tests (gtest_discover_tests does so at build time, on machines without a GPU too).
#include <archetype/backends/cudnn/executable.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (!GTEST_FLAG_GET(list_tests)) {
    const std::string reason = archetype::cudnn::unavailable_reason();
    if (!reason.empty()) {
      std::printf("SKIP: %s\n", reason.c_str());
      return 77;
    }
  }
  return RUN_ALL_TESTS();
}
