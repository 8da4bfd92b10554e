// The CPU's bf16 support; PyTorch's default initialisation (codegen/initialize.hpp).
#include <archetype/backends/onednn/executable.hpp>

#include <archetype/codegen/initialize.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

namespace archetype::onednn {

bool native_bf16() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;  // ISA masks include the bits of the ISAs they extend
}

void initialize_parameters(const codegen::ProgramView& program, std::span<float> parameters,
                           std::span<float> buffers, std::uint64_t seed) {
  codegen::initialize_parameters(program, parameters, buffers, seed);
}

}  // namespace archetype::onednn
