# Layer check, run as a CTest test (tests/unit/layers): cmake -DSRC_DIR=<src> -DGRAPH=<file> -P check_layers.cmake
#
# GRAPH is written at configure time by np_write_layer_graph() (cmake/Layers.cmake) from the targets themselves,
# so the DEPS of each np_component(... DEPS ...) are the one source of truth. It sets:
#   NP_LAYERS            the layer order, bottom first; one string per layer, components separated by spaces
#   NP_LINKS_<component> the components np_<component> links directly (np_* targets only)
#
# It fails, naming file:line or CMakeLists and the arrow, when
#   - a folder src/<c>/ with a CMakeLists.txt is in no layer;
#   - np_<c> links a component of a higher layer, or the links form a cycle (same-layer links are allowed
#     where the DEPS say so, e.g. auth -> pve);
#   - a file under src/<c>/ has `#include "<d>/..."` for a component <d> that is neither <c> nor in the
#     transitive closure of np_<c>'s links.
cmake_minimum_required(VERSION 3.25)
if(NOT SRC_DIR OR NOT GRAPH)
  message(FATAL_ERROR "usage: cmake -DSRC_DIR=<src> -DGRAPH=<layer graph> -P check_layers.cmake")
endif()
include(${GRAPH})

set(components "")
set(level 0)
foreach(layer IN LISTS NP_LAYERS)
  string(REPLACE " " ";" layer "${layer}")
  foreach(c IN LISTS layer)
    set(layer_of_${c} ${level})
    list(APPEND components ${c})
  endforeach()
  math(EXPR level "${level} + 1")
endforeach()

set(errors "")
macro(report text)
  string(APPEND errors "${text}\n")
endmacro()

file(GLOB folders LIST_DIRECTORIES true RELATIVE ${SRC_DIR} ${SRC_DIR}/*)
foreach(f IN LISTS folders)
  if(EXISTS ${SRC_DIR}/${f}/CMakeLists.txt AND NOT DEFINED layer_of_${f})
    report("src/${f}/CMakeLists.txt: component '${f}' is in no layer (add it to NP_LAYERS in src/CMakeLists.txt)")
  endif()
endforeach()

# Links: each must point to the same or a lower layer.
foreach(c IN LISTS components)
  foreach(d IN LISTS NP_LINKS_${c})
    if(layer_of_${d} GREATER layer_of_${c})
      report("src/${c}/CMakeLists.txt: np_${c} links np_${d}: ${c} -> ${d} points up the layers")
    endif()
  endforeach()
endforeach()

# Transitive closure of the links (the include reach of each component); a component in its own closure is a cycle.
foreach(c IN LISTS components)
  set(reach "")
  set(todo ${NP_LINKS_${c}})
  while(todo)
    list(POP_FRONT todo d)
    if(NOT d IN_LIST reach)
      list(APPEND reach ${d})
      list(APPEND todo ${NP_LINKS_${d}})
    endif()
  endwhile()
  if(c IN_LIST reach)
    report("src/${c}/CMakeLists.txt: np_${c} links itself back through its DEPS (a cycle: ${reach})")
  endif()
  list(SORT reach)
  set(reach_${c} ${reach})
endforeach()

# Includes: `#include "<component>/..."` only for the component itself and what it links, transitively.
set(files_checked 0)
set(components_checked 0)
foreach(c IN LISTS components)
  if(NOT IS_DIRECTORY ${SRC_DIR}/${c})
    continue()
  endif()
  math(EXPR components_checked "${components_checked} + 1")
  file(GLOB_RECURSE sources RELATIVE ${SRC_DIR} ${SRC_DIR}/${c}/*.hpp ${SRC_DIR}/${c}/*.cpp ${SRC_DIR}/${c}/*.h
       ${SRC_DIR}/${c}/*.inc ${SRC_DIR}/${c}/*.ipp)
  foreach(src IN LISTS sources)
    math(EXPR files_checked "${files_checked} + 1")
    file(STRINGS ${SRC_DIR}/${src} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"[A-Za-z0-9_]+/")
    foreach(line IN LISTS includes)
      string(REGEX MATCH "\"([A-Za-z0-9_]+)/([^\"]*)\"" unused "${line}")
      set(d ${CMAKE_MATCH_1})
      set(header "${d}/${CMAKE_MATCH_2}")
      if(NOT d STREQUAL c AND DEFINED layer_of_${d} AND NOT d IN_LIST reach_${c})
        # file(STRINGS) has no line numbers: count the newlines before the line in the raw text.
        file(READ ${SRC_DIR}/${src} text)
        string(FIND "${text}" "${line}" at)
        string(SUBSTRING "${text}" 0 ${at} before)
        string(REGEX MATCHALL "\n" newlines "${before}")
        list(LENGTH newlines n)
        math(EXPR n "${n} + 1")
        if(layer_of_${d} GREATER layer_of_${c})
          set(why "points up the layers")
        else()
          set(why "np_${c} does not link np_${d}")
        endif()
        set(may ${c} ${reach_${c}})
        list(JOIN may ", " may)
        report("src/${src}:${n}: ${c} -> ${d} (\"${header}\"): ${why}; ${c} may include: ${may}")
      endif()
    endforeach()
  endforeach()
endforeach()

if(errors)
  message("${errors}")
  message(FATAL_ERROR "layer check failed: fix the include or the DEPS of np_component (see src/README.md)")
endif()
message(STATUS "layer check: ${files_checked} files of ${components_checked} components, no upward arrow")
