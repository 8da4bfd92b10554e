# Builds and runs examples/custom_model against Archetype, in a fresh folder WORK:
#   cmake -DMODE=find_package -DBUILD_DIR=<this build> -DBUILD_TYPE=<config> ...
#         installs BUILD_DIR into WORK/prefix and builds the example with find_package;
#   cmake -DMODE=add_subdirectory ...
#         builds the example with SOURCE_DIR as its subproject (without CUDA).
# Both also take -DSOURCE_DIR -DWORK -DGENERATOR -DCXX_COMPILER [-DLAUNCHER], then
# -P custom_model.cmake. Fails with the step's output on the first problem.
cmake_minimum_required(VERSION 3.25)

# run(WHAT command...): runs the command; its stdout and stderr in `output`.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (exit ${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(output "${out}${err}" PARENT_SCOPE)
endfunction()

# expect(TEXT PATTERN WHAT): fails unless TEXT matches the regular expression PATTERN.
function(expect text pattern what)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: expected to match '${pattern}', got:\n${text}")
  endif()
endfunction()

# cache_value(DIR NAME OUT): NAME's value in DIR/CMakeCache.txt ("<unset>" when absent).
function(cache_value dir name out)
  file(STRINGS ${dir}/CMakeCache.txt lines REGEX "^${name}:[A-Z]+=")
  if(lines)
    string(REGEX REPLACE "^[^=]*=" "" value "${lines}")
  else()
    set(value "<unset>")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

foreach(var MODE SOURCE_DIR WORK GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "custom_model.cmake: -D${var}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(example ${SOURCE_DIR}/examples/custom_model)
set(configure -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
if(LAUNCHER)
  list(APPEND configure -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
set(build ${WORK}/build)

if(MODE STREQUAL "find_package")
  set(prefix ${WORK}/prefix)
  run("building the installed targets" ${CMAKE_COMMAND} --build ${BUILD_DIR} --target archetype_installed)
  run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --config ${BUILD_TYPE})
  foreach(file include/archetype/archetype.hpp include/archetype/architectures/resnet.hpp
               include/archetype/codegen/program.hpp include/archetype/runtime/trainer.hpp
               include/archetype/backends/onednn/executable.hpp
               lib/cmake/Archetype/ArchetypeConfig.cmake lib/cmake/Archetype/ArchetypeConfigVersion.cmake
               lib/cmake/Archetype/Archetype_dslTargets.cmake lib/libarchetype_trainer.a bin/archetype)
    if(NOT EXISTS ${prefix}/${file})
      message(FATAL_ERROR "cmake --install did not install ${file} (in ${prefix})")
    endif()
  endforeach()
  run("the installed archetype tool" ${prefix}/bin/archetype describe lenet5 --json)
  expect("${output}" "\"params\": *61706" "archetype describe lenet5 --json")

  # A header-only user: COMPONENTS dsl looks for Hana and nothing else (no zlib, no oneDNN).
  file(WRITE ${WORK}/dsl_only/CMakeLists.txt
       "cmake_minimum_required(VERSION 3.25)\nproject(dsl_only LANGUAGES CXX)\n"
       "find_package(Archetype CONFIG REQUIRED COMPONENTS dsl)\n"
       "add_library(figures OBJECT ${example}/figures.cpp)\n"
       "target_link_libraries(figures PRIVATE Archetype::dsl)\n")
  run("configuring a header-only user" ${CMAKE_COMMAND} -S ${WORK}/dsl_only -B ${WORK}/dsl_only/build
      ${configure} -DCMAKE_PREFIX_PATH=${prefix})
  run("building a header-only user" ${CMAKE_COMMAND} --build ${WORK}/dsl_only/build)
  foreach(var ZLIB_INCLUDE_DIR dnnl_DIR nlohmann_json_DIR)
    cache_value(${WORK}/dsl_only/build ${var} value)
    if(NOT value STREQUAL "<unset>")
      message(FATAL_ERROR "find_package(Archetype COMPONENTS dsl) looked for ${var} (${value})")
    endif()
  endforeach()
  # An unknown component is refused by name.
  file(WRITE ${WORK}/bad_component/CMakeLists.txt
       "cmake_minimum_required(VERSION 3.25)\nproject(bad_component LANGUAGES CXX)\n"
       "find_package(Archetype CONFIG REQUIRED COMPONENTS dls)\n")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${WORK}/bad_component -B ${WORK}/bad_component/build
                          ${configure} -DCMAKE_PREFIX_PATH=${prefix}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "find_package(Archetype COMPONENTS dls) succeeded")
  endif()
  expect("${out}${err}" "Archetype has no component 'dls'" "find_package(Archetype COMPONENTS dls)")

  run("configuring the example against the installation" ${CMAKE_COMMAND} -S ${example} -B ${build}
      ${configure} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
  cache_value(${build} Archetype_DIR archetype_dir)
  if(NOT archetype_dir STREQUAL "${prefix}/lib/cmake/Archetype")
    message(FATAL_ERROR "the example found Archetype in ${archetype_dir}, not in ${prefix}")
  endif()
  run("building the example" ${CMAKE_COMMAND} --build ${build})
elseif(MODE STREQUAL "add_subdirectory")
  # No build type: the parent's choice (none) must stay as it is.
  run("configuring the example with Archetype as a subproject" ${CMAKE_COMMAND} -S ${example}
      -B ${build} ${configure} -DARCHETYPE_SOURCE_DIR=${SOURCE_DIR} -DARCHETYPE_WITH_CUDA=OFF)
  foreach(check "CMAKE_BUILD_TYPE;" "ARCHETYPE_BUILD_TESTS;OFF" "ARCHETYPE_BUILD_TOOLS;OFF"
                "ARCHETYPE_BUILD_BENCH;OFF" "ARCHETYPE_INSTALL;OFF")
    list(GET check 0 var)
    list(LENGTH check n)
    set(want "")
    if(n GREATER 1)
      list(GET check 1 want)
    endif()
    cache_value(${build} ${var} value)
    if(NOT value STREQUAL want)
      message(FATAL_ERROR "as a subproject ${var} is '${value}', expected '${want}'")
    endif()
  endforeach()
  # The header-only figures build none of Archetype's libraries.
  run("building the header-only figures" ${CMAKE_COMMAND} --build ${build} --target se_mix_net_figures)
  file(GLOB_RECURSE built ${build}/archetype/*.a)
  if(built)
    message(FATAL_ERROR "building se_mix_net_figures built libraries: ${built}")
  endif()
  run("building the example" ${CMAKE_COMMAND} --build ${build})
  # Only what the example links is built: not the zoo's registry, no tool, no test.
  file(GLOB_RECURSE built ${build}/archetype/*.a)
  expect("${built}" "libarchetype_trainer\\.a" "the libraries the example built")
  if(built MATCHES "registry|bench|peak|experiments")
    message(FATAL_ERROR "the example's build compiled libraries it does not link: ${built}")
  endif()
else()
  message(FATAL_ERROR "custom_model.cmake: MODE must be find_package or add_subdirectory, not '${MODE}'")
endif()

if(MODE STREQUAL "find_package")
  # archetype_add_model's executable: the command line on SEMixNet.
  run("se_mix_net describe" ${build}/se_mix_net describe se_mix_net --json)
  expect("${output}" "\"params\": *14146" "se_mix_net describe se_mix_net --json")
  expect("${output}" "stage2\\.mix\\.sepconv\\.depthwise" "se_mix_net describe se_mix_net --json")
  run("se_mix_net describe" ${build}/se_mix_net describe se_mix_net)
  expect("${output}" "SE-Mix net \\(se_mix_net\\)" "se_mix_net describe se_mix_net")
  expect("${output}" "stage1\\.0\\.se" "se_mix_net describe se_mix_net")
  run("se_mix_net train" ${build}/se_mix_net train se_mix_net --data synthetic --epochs 1
      --max-steps 4 --batch 16 --limit-test 64 --threads 1 --save ${WORK}/se_mix_net.params)
  expect("${output}" "final test accuracy .*, 4 steps" "se_mix_net train se_mix_net")
  # and exported with its trained weights, where the installation has ONNX export.
  run("se_mix_net --help" ${build}/se_mix_net --help)
  if(output MATCHES "\n  export ")
    run("se_mix_net export" ${build}/se_mix_net export se_mix_net --weights ${WORK}/se_mix_net.params
        --onnx ${WORK}/se_mix_net.onnx)
    expect("${output}" "output 'logits' float batchx10" "se_mix_net export se_mix_net")
    if(NOT EXISTS ${WORK}/se_mix_net.onnx)
      message(FATAL_ERROR "se_mix_net export wrote no ${WORK}/se_mix_net.onnx:\n${output}")
    endif()
  endif()
  # and its Google Benchmark suite: one benchmark, the peak given (nothing is timed here).
  run("bench_se_mix_net" ${CMAKE_COMMAND} -E env ARCHETYPE_PEAK_GFLOPS=100 ${build}/bench_se_mix_net
      --benchmark_filter=inference/batch:1/ --benchmark_min_time=0.01 --benchmark_format=json
      --threads 1)
  string(JSON model ERROR_VARIABLE e GET "${output}" context model)
  string(JSON images ERROR_VARIABLE e GET "${output}" benchmarks 0 "img/s")
  if(NOT model STREQUAL "se_mix_net" OR NOT images GREATER 0)
    message(FATAL_ERROR "bench_se_mix_net: model '${model}', img/s '${images}' (${e}):\n${output}")
  endif()
endif()

run("running the example" ${build}/custom_model)
expect("${output}" "SEMixNet: 14146 parameters, 8097728 MACs per image" "custom_model's figures")
expect("${output}" "trained 64 steps" "custom_model's training")
message(STATUS "${output}")
