# bench_<model> refuses bad options with exit code 2 and a message that names the option.
# Usage: cmake -DBENCH=path -P check_bad_flags.cmake
cmake_minimum_required(VERSION 3.25)
function(expect_usage_error message_regex)
  execute_process(COMMAND ${BENCH} --benchmark_filter=none_at_all ${ARGN}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "'${ARGN}': expected exit code 2, got ${rc}:\n${err}\n${out}")
  endif()
  if(NOT err MATCHES "${message_regex}")
    message(FATAL_ERROR "'${ARGN}': expected a message matching '${message_regex}', got:\n${err}")
  endif()
endfunction()

expect_usage_error("--threads expects an integer in \\[1, 1024\\], got 'abc'" --threads abc)
expect_usage_error("--threads expects an integer in \\[1, 1024\\], got '0'" --threads=0)
expect_usage_error("--threads expects .*got nothing" --threads)
expect_usage_error("--conv-algorithm expects direct, fastest or winograd, got 'fast'"
                   --conv-algorithm fast)
expect_usage_error("--peak-gflops expects a positive number of GFLOP/s, got '-3'" --peak-gflops -3)
expect_usage_error("unknown option '--batch'" --batch 64)
expect_usage_error("--device expects cpu or cuda, got 'gpu'" --device gpu)
expect_usage_error("--tf32 needs --device cuda" --tf32)
expect_usage_error("--no-graph needs --device cuda" --device cpu --no-graph)
expect_usage_error("--conv-algorithm is oneDNN's" --device=cuda --conv-algorithm fastest)
expect_usage_error("unrecognized command-line flag: --benchmark_no_such_flag"
                   --benchmark_no_such_flag=1)

# The environment variable is checked like the flag.
execute_process(COMMAND ${CMAKE_COMMAND} -E env ARCHETYPE_PEAK_GFLOPS=lots ${BENCH}
                        --benchmark_filter=none_at_all
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 2 OR NOT err MATCHES "ARCHETYPE_PEAK_GFLOPS expects a positive number")
  message(FATAL_ERROR "ARCHETYPE_PEAK_GFLOPS=lots: expected exit code 2 and a message, got ${rc}:\n${err}")
endif()

# A correct flag set with a filter that matches nothing runs nothing and succeeds.
execute_process(COMMAND ${CMAKE_COMMAND} -E env ARCHETYPE_PEAK_GFLOPS=100 ${BENCH}
                        --threads 1 --conv-algorithm=fastest --benchmark_filter=none_at_all
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "good flags: expected exit code 0, got ${rc}:\n${err}")
endif()

# --device cuda with good flags: runs nothing here (the filter) and succeeds on a GPU, or
# says why not with exit code 77 where there is none (or the build has no CUDA backend).
execute_process(COMMAND ${BENCH} --device cuda --tf32 --benchmark_filter=none_at_all
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT (rc EQUAL 0 OR (rc EQUAL 77 AND err MATCHES "--device cuda: (no CUDA device|this build has no CUDA backend|CUDA device|cannot|cuDNN)")))
  message(FATAL_ERROR "--device cuda: expected exit code 0 (a GPU) or 77 and the reason, got ${rc}:\n${err}")
endif()
