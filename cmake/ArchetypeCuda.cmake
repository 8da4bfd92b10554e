# The CUDA toolchain of the cuDNN backend: the CUDA toolkit (nvcc, cudart, cuBLAS) and
# cuDNN 9, looked for in the toolkit's folders (/usr/local/cuda here) and then in a pip
# wheel's (nvidia-cudnn-cu13: <site-packages>/nvidia/cudnn/{include,lib}, as on the GPU
# machines, which have no cuDNN -dev package). Sets ARCHETYPE_HAVE_CUDA, enables the CUDA
# language and defines the imported target Archetype::cudnn_library.
#
# Cache variables: ARCHETYPE_CUDNN_INCLUDE_DIR, ARCHETYPE_CUDNN_LIBRARY (set them to point
# at another cuDNN), CMAKE_CUDA_ARCHITECTURES (default 80;90: A100, H100/H200).
set(ARCHETYPE_HAVE_CUDA OFF)
set(ARCHETYPE_CUDA_MISSING "")
if(NOT ARCHETYPE_WITH_CUDA)
  set(ARCHETYPE_CUDA_MISSING "ARCHETYPE_WITH_CUDA is OFF")
  return()
endif()
find_package(CUDAToolkit QUIET)
if(NOT CUDAToolkit_FOUND)
  set(ARCHETYPE_CUDA_MISSING "no CUDA toolkit found")
  return()
endif()

set(_archetype_cudnn_hints "")
find_program(ARCHETYPE_CUDNN_PYTHON NAMES python3 DOC "python3 whose site-packages may hold nvidia-cudnn-cu13")
if(ARCHETYPE_CUDNN_PYTHON)
  execute_process(
    COMMAND ${ARCHETYPE_CUDNN_PYTHON} -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__) if nvidia.cudnn.__file__ else list(nvidia.cudnn.__path__)[0])"
    OUTPUT_VARIABLE _archetype_pip_cudnn OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _archetype_pip_rc)
  if(_archetype_pip_rc EQUAL 0 AND _archetype_pip_cudnn)
    list(APPEND _archetype_cudnn_hints ${_archetype_pip_cudnn})
  endif()
endif()
find_path(ARCHETYPE_CUDNN_INCLUDE_DIR cudnn.h
          HINTS ${CUDAToolkit_INCLUDE_DIRS} ${_archetype_cudnn_hints}
          PATH_SUFFIXES include DOC "cuDNN 9 headers (cudnn.h)")
find_library(ARCHETYPE_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9
             HINTS ${CUDAToolkit_LIBRARY_DIR} ${_archetype_cudnn_hints}
             PATH_SUFFIXES lib lib64 DOC "cuDNN 9 library (libcudnn.so)")
if(NOT ARCHETYPE_CUDNN_INCLUDE_DIR OR NOT ARCHETYPE_CUDNN_LIBRARY)
  set(ARCHETYPE_CUDA_MISSING "no cuDNN found (cudnn.h: ${ARCHETYPE_CUDNN_INCLUDE_DIR}, libcudnn: ${ARCHETYPE_CUDNN_LIBRARY})")
  return()
endif()
file(STRINGS ${ARCHETYPE_CUDNN_INCLUDE_DIR}/cudnn_version.h _archetype_cudnn_major REGEX "define CUDNN_MAJOR [0-9]+")
if(NOT _archetype_cudnn_major MATCHES "CUDNN_MAJOR 9")
  set(ARCHETYPE_CUDA_MISSING "cuDNN at ${ARCHETYPE_CUDNN_INCLUDE_DIR} is not version 9")
  return()
endif()
if(NOT TARGET CUDA::cublas)
  set(ARCHETYPE_CUDA_MISSING "the CUDA toolkit has no cuBLAS")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 80 90 CACHE STRING "GPU architectures the CUDA kernels are compiled for")
endif()
if(NOT CMAKE_CUDA_COMPILER AND EXISTS ${CUDAToolkit_NVCC_EXECUTABLE})
  set(CMAKE_CUDA_COMPILER ${CUDAToolkit_NVCC_EXECUTABLE})
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  set(ARCHETYPE_CUDA_MISSING "no working CUDA compiler (nvcc)")
  return()
endif()
enable_language(CUDA)

add_library(archetype_cudnn_library UNKNOWN IMPORTED)
set_target_properties(archetype_cudnn_library PROPERTIES
  IMPORTED_LOCATION ${ARCHETYPE_CUDNN_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${ARCHETYPE_CUDNN_INCLUDE_DIR})
add_library(Archetype::cudnn_library ALIAS archetype_cudnn_library)
set(ARCHETYPE_HAVE_CUDA ON)
