# cmake --install: the headers, the libraries, the `archetype` tool and the CMake package
# that find_package(Archetype CONFIG [COMPONENTS ...]) reads (ArchetypeConfig.cmake.in).
#
# One export set per component, so a header-only user loads no target that needs zlib or
# oneDNN:
#   dsl            Archetype::dsl, Archetype::codegen            Boost.Hana
#   architectures  Archetype::architectures, Archetype::registry  (dsl)
#   runtime        Archetype::runtime_data, Archetype::runtime    zlib, Threads, nlohmann-json
#   cudnn          Archetype::cudnn (+ the plug-in it opens)      (dsl; CUDA only in the plug-in)
#   onednn         Archetype::onednn, Archetype::trainer          oneDNN, OpenMP (runtime)
#   tool           Archetype::archetype (the command line), Archetype::cli (what
#                  archetype_add_model links) and the libraries of its subcommands
#                  (Archetype::onnx_export: ONNX, protobuf)
#   bench          Archetype::bench_models (the Google Benchmark suite)  Google Benchmark
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ARCHETYPE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/Archetype)

# archetype_install_component(NAME TARGETS... [HEADERS dir...])
function(archetype_install_component name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "TARGETS;HEADERS")
  install(TARGETS ${ARG_TARGETS} EXPORT Archetype_${name}
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  foreach(dir IN LISTS ARG_HEADERS)
    install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endforeach()
  install(EXPORT Archetype_${name} NAMESPACE Archetype:: FILE Archetype_${name}Targets.cmake
          DESTINATION ${ARCHETYPE_INSTALL_CMAKEDIR})
  set_property(GLOBAL APPEND PROPERTY ARCHETYPE_INSTALLED_COMPONENTS ${name})
  set_property(GLOBAL APPEND PROPERTY ARCHETYPE_INSTALLED_TARGETS ${ARG_TARGETS})
endfunction()

archetype_install_component(dsl TARGETS archetype_dsl archetype_codegen
                            HEADERS ${PROJECT_SOURCE_DIR}/dsl/include ${PROJECT_SOURCE_DIR}/codegen/include)
archetype_install_component(architectures TARGETS archetype_architectures archetype_registry
                            HEADERS ${PROJECT_SOURCE_DIR}/architectures/include)
if(TARGET archetype_runtime)
  archetype_install_component(runtime TARGETS archetype_runtime_data archetype_runtime
                              HEADERS ${PROJECT_SOURCE_DIR}/runtime/include)
endif()
if(TARGET archetype_cudnn)
  archetype_install_component(cudnn TARGETS archetype_cudnn
                              HEADERS ${PROJECT_SOURCE_DIR}/backends/cudnn/include)
  # The plug-in the facade opens with dlopen: beside the installed tool, where the facade
  # looks first, and in the library folder (ARCHETYPE_CUDNN_PLUGIN may name it there).
  install(TARGETS archetype_cudnn_plugin LIBRARY DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES $<TARGET_FILE:archetype_cudnn_plugin> DESTINATION ${CMAKE_INSTALL_LIBDIR})
  set_property(GLOBAL APPEND PROPERTY ARCHETYPE_INSTALLED_TARGETS archetype_cudnn_plugin)
endif()
if(TARGET archetype_onednn)
  set(onednn_targets archetype_onednn)
  if(TARGET archetype_trainer)
    list(APPEND onednn_targets archetype_trainer)
  endif()
  archetype_install_component(onednn TARGETS ${onednn_targets}
                              HEADERS ${PROJECT_SOURCE_DIR}/backends/onednn/include)
endif()
if(TARGET archetype)
  # The command line, and what archetype_add_model links: the CLI library and the libraries
  # its subcommands use (benchmarks, studies) with their headers.
  set(tool_targets archetype archetype_cli)
  set(tool_headers ${PROJECT_SOURCE_DIR}/tools/include)
  foreach(target archetype_bench_core archetype_peak archetype_experiments archetype_studies
                 archetype_onnx_export)
    if(TARGET ${target})
      list(APPEND tool_targets ${target})
    endif()
  endforeach()
  if(TARGET archetype_bench_core)
    list(APPEND tool_headers ${PROJECT_SOURCE_DIR}/bench/include)
  endif()
  if(TARGET archetype_experiments)
    list(APPEND tool_headers ${PROJECT_SOURCE_DIR}/experiments/include)
  endif()
  if(TARGET archetype_onnx_export)
    list(APPEND tool_headers ${PROJECT_SOURCE_DIR}/export/include)
  endif()
  set_target_properties(archetype PROPERTIES EXPORT_NAME archetype)
  archetype_install_component(tool TARGETS ${tool_targets} HEADERS ${tool_headers})
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/ArchetypeModel.cmake DESTINATION ${ARCHETYPE_INSTALL_CMAKEDIR})
endif()
if(TARGET archetype AND TARGET archetype_bench_models)
  # The Google Benchmark suite of one model (bench_<model>; archetype_add_model's bench_NAME).
  archetype_install_component(bench TARGETS archetype_bench_models)
endif()

# What the package's config needs to know of this build.
get_property(ARCHETYPE_INSTALLED_COMPONENTS GLOBAL PROPERTY ARCHETYPE_INSTALLED_COMPONENTS)
# The tool's `export` links the ONNX library and protobuf (Debian: libonnx-dev, libprotobuf-dev).
set(ARCHETYPE_TOOL_ONNX OFF)
if(TARGET archetype AND TARGET archetype_onnx_export)
  set(ARCHETYPE_TOOL_ONNX ON)
endif()
set(ARCHETYPE_ONEDNN_OPENMP OFF)
if(TARGET archetype_onednn)
  get_target_property(onednn_links archetype_onednn LINK_LIBRARIES)
  if("OpenMP::OpenMP_CXX" IN_LIST onednn_links)
    set(ARCHETYPE_ONEDNN_OPENMP ON)
  endif()
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ArchetypeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ArchetypeConfig.cmake
  INSTALL_DESTINATION ${ARCHETYPE_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ArchetypeConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ArchetypeConfig.cmake
              ${PROJECT_BINARY_DIR}/ArchetypeConfigVersion.cmake
        DESTINATION ${ARCHETYPE_INSTALL_CMAKEDIR})

# Everything `cmake --install` copies, built (the package tests build it before installing).
get_property(ARCHETYPE_INSTALLED_TARGETS GLOBAL PROPERTY ARCHETYPE_INSTALLED_TARGETS)
add_custom_target(archetype_installed)
add_dependencies(archetype_installed ${ARCHETYPE_INSTALLED_TARGETS})
