# Configures and builds tests/fuzz/project with the given clang (ctest: cpu.fuzz.build).
# -D SOURCE, BINARY, CXX, GENERATOR.
# As many build jobs as scripts/test.sh was given (ARCHETYPE_JOBS), else 2.
set(jobs 2)
if(DEFINED ENV{ARCHETYPE_JOBS})
  set(jobs $ENV{ARCHETYPE_JOBS})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G ${GENERATOR}
                        -DCMAKE_CXX_COMPILER=${CXX} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the fuzz targets failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY} --parallel ${jobs} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the fuzz targets failed (${rc}): is libclang-rt-19-dev installed?")
endif()
