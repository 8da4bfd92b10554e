# bench_<model> --benchmark_format=json: every benchmark reports the counters img/s, GFLOP/s,
# %peak, peak_rss_MB, p50_ms and p99_ms as positive numbers (p50 not above p99), and the
# context says where the peak came from.
# Usage: cmake -DBENCH=path [-DPEAK_FROM_ENV=ON] -P check_model_json.cmake
#   default: the whole suite (inference at batch 1, 32, 128, training step at 128), the
#            peak measured at start;
#   PEAK_FROM_ENV: inference at batch 1 only, --fashion-mnist, ARCHETYPE_PEAK_GFLOPS=100,
#            so %peak must equal GFLOP/s (100 x GFLOP/s / 100).
cmake_minimum_required(VERSION 3.25)
set(args --benchmark_min_time=0.01 --benchmark_format=json)
set(env "")
if(PEAK_FROM_ENV)
  list(APPEND args --fashion-mnist --benchmark_filter=inference/batch:1/)
  set(env ARCHETYPE_PEAK_GFLOPS=100)
  set(expected_names "inference/batch:1")
else()
  set(expected_names "inference/batch:1" "inference/batch:32" "inference/batch:128"
                     "train_step/batch:128")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env ${env} ${BENCH} ${args}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BENCH} exited with ${rc}:\n${err}\n${out}")
endif()

string(JSON source ERROR_VARIABLE e GET "${out}" context peak_source)
if(e)
  message(FATAL_ERROR "no context.peak_source in the output (${e}):\n${out}")
endif()
if(PEAK_FROM_ENV AND NOT source MATCHES "ARCHETYPE_PEAK_GFLOPS")
  message(FATAL_ERROR "peak_source should name the environment variable: '${source}'")
endif()
if(NOT PEAK_FROM_ENV AND NOT source MATCHES "^measured")
  message(FATAL_ERROR "peak_source should say the peak was measured: '${source}'")
endif()
if(PEAK_FROM_ENV)
  string(JSON input GET "${out}" context input)
  if(NOT input MATCHES "^1x28x28")
    message(FATAL_ERROR "--fashion-mnist: the input should be 1x28x28, is '${input}'")
  endif()
endif()

include(${CMAKE_CURRENT_LIST_DIR}/benchmark_list.cmake)
check_benchmark_list(out expected_names)
string(JSON n LENGTH "${out}" benchmarks)
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${out}" benchmarks ${i} name)
  # counter name -> variable (a variable reference cannot contain '%')
  foreach(pair "img/s=images" "GFLOP/s=gflops" "%peak=percent_of_peak" "peak_rss_MB=rss" "p50_ms=p50"
               "p99_ms=p99")
    string(REPLACE "=" ";" pair "${pair}")
    list(GET pair 0 counter)
    list(GET pair 1 variable)
    string(JSON value ERROR_VARIABLE e GET "${out}" benchmarks ${i} ${counter})
    if(e OR NOT value GREATER 0)
      message(FATAL_ERROR "${name}: counter ${counter} missing or not positive ('${value}' ${e})")
    endif()
    set(${variable} ${value})
  endforeach()
  # The percentiles of one sorted list of step times (if() compares numbers as doubles).
  if(p50 GREATER p99)
    message(FATAL_ERROR "${name}: p50_ms ${p50} above p99_ms ${p99}")
  endif()
  if(PEAK_FROM_ENV)
    # %peak = 100 x GFLOP/s / 100 GFLOP/s: equal up to rounding in the last bits, so the
    # first 7 characters agree (if() compares numbers exactly; math() has integers only).
    string(SUBSTRING "${gflops}" 0 7 a)
    string(SUBSTRING "${percent_of_peak}" 0 7 b)
    if(NOT a STREQUAL b)
      message(FATAL_ERROR "${name}: %peak ${percent_of_peak} should equal GFLOP/s ${gflops} at a peak of 100")
    endif()
  endif()
  message(STATUS "${name}: img/s ${images}, GFLOP/s ${gflops}, %peak ${percent_of_peak}, "
                 "peak_rss_MB ${rss}, p50_ms ${p50}, p99_ms ${p99}")
endforeach()
