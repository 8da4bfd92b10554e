# Builds the documentation site: cmake -DARCHETYPE=... -DDOXYGEN=... -DDOT=... \
#   -DDOXYFILE=... -DOUT=DIR -P build_docs.cmake
# 1. `archetype docs --out DIR/pages` writes the architecture pages and their .dot files;
# 2. dot renders every .dot to SVG next to it;
# 3. Doxygen builds DIR/html (API reference, README as main page, the pages), failing on
#    any warning;
# 4. the SVGs go to DIR/html too (the pages embed some and link the others).
# Used by the `docs` target and by the cpu.docs.site test.
foreach(var ARCHETYPE DOXYGEN DOT DOXYFILE OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "build_docs.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${OUT}/pages" "${OUT}/html")
file(MAKE_DIRECTORY "${OUT}/pages")
execute_process(COMMAND "${ARCHETYPE}" docs --out "${OUT}/pages" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build_docs.cmake: archetype docs failed (${rc})")
endif()

file(GLOB diagrams "${OUT}/pages/*.dot")
foreach(diagram IN LISTS diagrams)
  string(REGEX REPLACE "\\.dot$" ".svg" svg "${diagram}")
  execute_process(COMMAND "${DOT}" -Tsvg "${diagram}" -o "${svg}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "build_docs.cmake: dot failed on ${diagram} (${rc})")
  endif()
endforeach()

set(ENV{ARCHETYPE_DOCS_OUT} "${OUT}")
execute_process(COMMAND "${DOXYGEN}" "${DOXYFILE}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build_docs.cmake: doxygen failed (${rc}): its warnings are above")
endif()

file(GLOB svgs "${OUT}/pages/*.svg")
file(COPY ${svgs} DESTINATION "${OUT}/html")
message(STATUS "Archetype documentation: ${OUT}/html/index.html")
