#pragma once
/// \file
/// \brief `ARCHETYPE_HOST_DEVICE`: marks a function that nvcc compiles for the device too
/// (`__host__ __device__`), and that every other compiler sees as a plain function. For the
/// arithmetic shared by the host and the cuDNN backend's kernels (codegen/dropout.hpp,
/// backends/cudnn/src/layout.hpp and batch_norm.hpp).

#if defined(__CUDACC__)
#define ARCHETYPE_HOST_DEVICE __host__ __device__
#else
#define ARCHETYPE_HOST_DEVICE
#endif
