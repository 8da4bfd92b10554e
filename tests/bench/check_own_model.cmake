# cpu.bench.own_model_without_the_zoo: a net of one's own (archetype_add_model) gets
# bench_NAME, which runs the suite on it without linking the zoo's registry, while NAME
# (the command line) lists it beside the zoo.
# -DBENCH=bench_own_net -DCLI=own_net -DNM=nm
execute_process(COMMAND ${BENCH} --benchmark_list_tests --threads 1
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "own_net/inference/batch:1/" OR NOT out MATCHES "own_net/train_step/batch:128/")
  message(FATAL_ERROR "${BENCH} --benchmark_list_tests exited ${rc}, listing:\n${out}${err}")
endif()

execute_process(COMMAND ${CLI} list OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "own_net" OR NOT out MATCHES "lenet5")
  message(FATAL_ERROR "${CLI} list exited ${rc}, expected own_net beside the zoo:\n${out}${err}")
endif()

# The zoo's entries are the registry's (archetype::registry_detail::<family>_models()):
# present in the command line, which looks models up, and absent from the benchmark.
foreach(exe IN ITEMS ${CLI} ${BENCH})
  execute_process(COMMAND ${NM} -C ${exe} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -C ${exe} exited ${rc}")
  endif()
  string(REGEX MATCHALL "archetype::registry_detail::[a-z0-9_]+_models\\(\\)" zoo "${symbols}")
  list(LENGTH zoo found)
  if(exe STREQUAL CLI AND found EQUAL 0)
    message(FATAL_ERROR "no registry_detail::*_models() in ${CLI}: this check finds nothing")
  endif()
  if(exe STREQUAL BENCH AND NOT found EQUAL 0)
    message(FATAL_ERROR "${BENCH} links the zoo's registry: ${zoo}")
  endif()
  message(STATUS "${exe}: ${found} zoo family symbols")
endforeach()
