# Runs one compile-fail case: cmake -DCXX=<compiler> -DSOURCE=<case.cpp>
#   -DINCLUDE_DIRS=<dir>|<dir>|… [-DSYSTEM_INCLUDE_DIRS=<dir>|…] [-DMAX_LINES=40]
#   [-DFIRST_ERROR_LINE=10] -P check.cmake
#
# A case is one .cpp whose first line is `// expect: <text>`, optionally followed by
# `// expect-also: <text>` lines (the layer's path and the values the error must state),
# and which holds a failing version and its fixed twin (`#ifdef ARCHETYPE_FIXED … #else …
# #endif`). The check passes when
#   - without ARCHETYPE_FIXED the compiler rejects the file, its diagnostics contain <text>
#     and every expect-also text, are at most MAX_LINES lines long (one readable error, not
#     a cascade), and their first `error:` line is at most line FIRST_ERROR_LINE (the error
#     on top, not after a page of instantiation context);
#   - with -DARCHETYPE_FIXED the file compiles (so the case cannot pass because of a typo).
# Directory lists are separated by `|` (a `;` would split the ctest command line).

foreach(var CXX SOURCE INCLUDE_DIRS)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check.cmake: -D${var}=… is required")
  endif()
endforeach()
if(NOT DEFINED MAX_LINES)
  set(MAX_LINES 40)
endif()
if(NOT DEFINED FIRST_ERROR_LINE)
  set(FIRST_ERROR_LINE 10)
endif()

get_filename_component(case_name "${SOURCE}" NAME_WE)

file(STRINGS "${SOURCE}" first_line LIMIT_COUNT 1)
if(NOT first_line MATCHES "^// expect: (.+)$")
  message(FATAL_ERROR "${case_name}: the first line must be `// expect: <message>`, "
                      "found `${first_line}`")
endif()
string(STRIP "${CMAKE_MATCH_1}" expected)
file(STRINGS "${SOURCE}" also_lines REGEX "^// expect-also: ")
set(also_expected "")
foreach(line IN LISTS also_lines)
  string(REGEX REPLACE "^// expect-also: " "" text "${line}")
  string(STRIP "${text}" text)
  list(APPEND also_expected "${text}")
endforeach()

set(flags -std=c++20 -fsyntax-only -fdiagnostics-color=never)
string(REPLACE "|" ";" include_dirs "${INCLUDE_DIRS}")
foreach(dir IN LISTS include_dirs)
  list(APPEND flags "-I${dir}")
endforeach()
if(DEFINED SYSTEM_INCLUDE_DIRS AND NOT "${SYSTEM_INCLUDE_DIRS}" STREQUAL "")
  string(REPLACE "|" ";" system_dirs "${SYSTEM_INCLUDE_DIRS}")
  foreach(dir IN LISTS system_dirs)
    list(APPEND flags -isystem "${dir}")
  endforeach()
endif()

# --- The failing version ------------------------------------------------------------------
execute_process(
  COMMAND "${CXX}" ${flags} "${SOURCE}"
  RESULT_VARIABLE failing_result
  OUTPUT_VARIABLE failing_out
  ERROR_VARIABLE failing_err)
set(diagnostic "${failing_out}${failing_err}")
string(REGEX REPLACE "\n$" "" diagnostic_trimmed "${diagnostic}")
if(diagnostic_trimmed STREQUAL "")
  set(lines 0)
else()
  string(REGEX MATCHALL "\n" newlines "${diagnostic_trimmed}")
  list(LENGTH newlines lines)
  math(EXPR lines "${lines} + 1")
endif()
string(REGEX MATCHALL "(^|\n)[^\n]*: error: " error_lines "${diagnostic}")
list(LENGTH error_lines errors)
# The line number of the first `error:` line (0: none).
set(first_error 0)
string(FIND "${diagnostic}" ": error: " first_error_offset)
if(NOT first_error_offset EQUAL -1)
  string(SUBSTRING "${diagnostic}" 0 ${first_error_offset} before_first_error)
  string(REGEX MATCHALL "\n" newlines_before "${before_first_error}")
  list(LENGTH newlines_before first_error)
  math(EXPR first_error "${first_error} + 1")
endif()

set(problems "")
if(failing_result EQUAL 0)
  list(APPEND problems "the failing version compiled")
endif()
string(FIND "${diagnostic}" "${expected}" found)
if(found EQUAL -1)
  list(APPEND problems "its diagnostic does not contain `${expected}`")
endif()
foreach(text IN LISTS also_expected)
  string(FIND "${diagnostic}" "${text}" found)
  if(found EQUAL -1)
    list(APPEND problems "its diagnostic does not contain `${text}`")
  endif()
endforeach()
if(lines GREATER MAX_LINES)
  list(APPEND problems "its diagnostic is ${lines} lines long (at most ${MAX_LINES})")
endif()
if(first_error EQUAL 0 OR first_error GREATER FIRST_ERROR_LINE)
  list(APPEND problems "its first `error:` line is line ${first_error} (at most ${FIRST_ERROR_LINE})")
endif()

# --- The fixed twin -----------------------------------------------------------------------
execute_process(
  COMMAND "${CXX}" ${flags} -DARCHETYPE_FIXED "${SOURCE}"
  RESULT_VARIABLE fixed_result
  OUTPUT_VARIABLE fixed_out
  ERROR_VARIABLE fixed_err)
if(NOT fixed_result EQUAL 0)
  list(APPEND problems "the fixed twin (-DARCHETYPE_FIXED) does not compile")
endif()

if(problems)
  string(REPLACE ";" "\n  - " problem_text "${problems}")
  message("${case_name}: FAILED\n  - ${problem_text}")
  message("--- diagnostic of the failing version (${lines} lines, ${errors} errors):\n${diagnostic}")
  if(NOT fixed_result EQUAL 0)
    message("--- diagnostic of the fixed twin:\n${fixed_out}${fixed_err}")
  endif()
  message(FATAL_ERROR "${case_name}: compile-fail check failed")
endif()
message(STATUS "${case_name}: rejected with `${expected}` in ${lines} lines "
               "(${errors} error(s), the first on line ${first_error}); the fixed twin compiles")
