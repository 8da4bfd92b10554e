# Runs one fuzz target (ctest: cpu.fuzz.TARGET): writes its seed corpus, replays the kept
# crash inputs of REGRESSIONS, then fuzzes for SECONDS from the seeds and the corpus grown by
# earlier runs in this build tree. A crash, a leak, undefined behaviour, an out-of-memory
# (over 2 GiB) or a 10-second input fails the test; the input is left in BINARY/artifacts/
# (copy it to tests/fuzz/regressions/TARGET/ once fixed). Prints the corpus size.
# -D TARGET, BINARY, REGRESSIONS, SECONDS, DICT (used where the file exists).
set(fuzzer ${BINARY}/fuzz_${TARGET})
set(seeds ${BINARY}/seeds/${TARGET})
set(corpus ${BINARY}/corpus/${TARGET})
file(MAKE_DIRECTORY ${seeds} ${corpus} ${BINARY}/artifacts)
execute_process(COMMAND ${BINARY}/fuzz_seeds ${TARGET} ${seeds} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_seeds ${TARGET} failed (${rc})")
endif()

file(GLOB kept ${REGRESSIONS}/*)
if(kept)
  # Each file once: the inputs that crashed before must not crash now. 512 MB, not the
  # fuzzing's 2 GB: one input alone must stay far below it (image/png-ztxt-claims-2gb.bin
  # took 1,986 MB before libpng's allocations were capped, 33 MB after).
  execute_process(COMMAND ${fuzzer} -timeout=10 -rss_limit_mb=512 ${kept} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fuzz_${TARGET}: a kept regression input fails again (${rc})")
  endif()
endif()

set(dict_option)
if(EXISTS "${DICT}")
  set(dict_option -dict=${DICT})
endif()
execute_process(COMMAND ${fuzzer} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
                        -max_len=8192 -print_final_stats=1 -artifact_prefix=${BINARY}/artifacts/${TARGET}-
                        ${dict_option} ${corpus} ${seeds}
                RESULT_VARIABLE rc)
file(GLOB grown ${corpus}/*)
list(LENGTH grown n)
message(STATUS "fuzz_${TARGET}: ${SECONDS} s, corpus of ${n} inputs in ${corpus}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_${TARGET} found a failing input (${rc}): see ${BINARY}/artifacts/")
endif()
