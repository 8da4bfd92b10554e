# bench_<model> --device cuda --benchmark_format=json: on a GPU, the suite on the cuDNN
# backend (inference at batch 1, 32, 128; training step at 128 and 256), every benchmark
# without error and with positive img/s, GFLOP/s and device_MB, and the context naming
# the device. Without a GPU (or a build without the CUDA backend) it exits 77 with the
# reason, which ctest reports as skipped (SKIP_RETURN_CODE).
# Usage: cmake -DBENCH=path -P check_model_cuda.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${BENCH} --device cuda --benchmark_min_time=0.01 --benchmark_format=json
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(rc EQUAL 77)
  if(NOT err MATCHES "--device cuda: .+")
    message(FATAL_ERROR "exit code 77 without the reason:\n${err}")
  endif()
  message("SKIP: ${err}")
  # cmake -P cannot exit with 77 itself: the caller's SKIP_REGULAR_EXPRESSION reads "SKIP:"
  return()
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BENCH} --device cuda exited with ${rc}:\n${err}\n${out}")
endif()
string(JSON device GET "${out}" context device)
if(NOT device MATCHES "^cuda")
  message(FATAL_ERROR "context.device should say cuda: '${device}'")
endif()
set(expected_names "cuda/inference/batch:1" "cuda/inference/batch:32" "cuda/inference/batch:128"
                   "cuda/train_step/batch:128" "cuda/train_step/batch:256")
include(${CMAKE_CURRENT_LIST_DIR}/benchmark_list.cmake)
check_benchmark_list(out expected_names)
string(JSON n LENGTH "${out}" benchmarks)
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${out}" benchmarks ${i} name)
  foreach(counter img/s GFLOP/s device_MB)
    string(JSON value ERROR_VARIABLE e GET "${out}" benchmarks ${i} ${counter})
    if(e OR NOT value GREATER 0)
      message(FATAL_ERROR "${name}: counter ${counter} missing or not positive ('${value}' ${e})")
    endif()
  endforeach()
  string(JSON images GET "${out}" benchmarks ${i} img/s)
  message(STATUS "${name}: img/s ${images}")
endforeach()
