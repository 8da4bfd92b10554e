# Configures the project with sanitizer FLAGS into BINARY, builds TARGETS and runs the ctest
# cases matching TESTS there (without the slow ones). Sanitizer reports fail the test: ASan
# and UBSan abort (no recovery), TSan exits with 66.
# -D SOURCE, BINARY, GENERATOR, COMMON (comma-separated cmake options), FLAGS, TARGETS
# (comma-separated), TESTS (a ctest -R expression).
# As many build jobs as scripts/test.sh was given (ARCHETYPE_JOBS), else 2.
set(jobs 2)
if(DEFINED ENV{ARCHETYPE_JOBS})
  set(jobs $ENV{ARCHETYPE_JOBS})
endif()
string(REPLACE "," ";" common "${COMMON}")
string(REPLACE "," ";" targets "${TARGETS}")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G ${GENERATOR} ${common}
                        "-DCMAKE_CXX_FLAGS=${FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}"
                        "-DCMAKE_SHARED_LINKER_FLAGS=${FLAGS}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring ${BINARY} with ${FLAGS} failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY} --target ${targets} --parallel ${jobs}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building ${targets} with ${FLAGS} failed (${rc})")
endif()
set(ENV{ASAN_OPTIONS} "detect_leaks=1:abort_on_error=1")
set(ENV{UBSAN_OPTIONS} "print_stacktrace=1:halt_on_error=1")
set(ENV{TSAN_OPTIONS} "halt_on_error=1:second_deadlock_stack=1")
set(ENV{OMP_NUM_THREADS} "2")
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${BINARY} -R "${TESTS}" -LE slow
                        --output-on-failure --no-tests=error -j2
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the ${FLAGS} run of ${TESTS} failed (${rc})")
endif()
