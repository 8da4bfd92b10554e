// gpu.device_query: the CUDA runtime the cuDNN backend will use can see a usable GPU.
// Skips (exit 77, ctest SKIP_RETURN_CODE) with the reason when there is none, so the
// `gpu` label runs everywhere and only fails where a GPU is present but unusable.
#include <cuda_runtime_api.h>

#include <cstdio>

int main() {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    std::printf("SKIP: no CUDA device available (%s)\n",
                status != cudaSuccess ? cudaGetErrorString(status) : "device count is 0");
    return 77;
  }
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) {
      std::printf("FAIL: cannot read the properties of device %d\n", d);
      return 1;
    }
    std::printf("device %d: %s, compute capability %d.%d, %.1f GiB\n", d, prop.name, prop.major,
                prop.minor, double(prop.totalGlobalMem) / (1 << 30));
    // cuDNN 9 needs compute capability 5.0 or newer; the backend targets 7.0+ (tensor cores).
    if (prop.major < 7) {
      std::printf("FAIL: device %d has compute capability %d.%d, below the 7.0 the backend needs\n",
                  d, prop.major, prop.minor);
      return 1;
    }
  }
  return 0;
}
