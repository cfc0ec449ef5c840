# INTERFACE targets linked by every target of ours: warnings and sanitizers (cmake_template style).
#
# Switching a warning off: here, and only here, as a -Wno-<warning> on np_warnings with the reason (and the
# compiler bug, if it is one) in a comment. No `#pragma GCC diagnostic` in the code, no per-target or per-file
# compile options for warnings.
add_library(np_warnings INTERFACE)
target_compile_options(np_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                             -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                             -Wimplicit-fallthrough
                                             # GCC 12 false positive on Asio coroutine frames (operator new/
                                             # delete of awaitable_frame_base), seen at -O1 and above
                                             # (GCC bug 109224).
                                             -Wno-mismatched-new-delete
                                             # GCC 12 warns (under -Wextra) on C++20 designated initializers
                                             # that leave fields with default member initializers out, which
                                             # the tests and benchmarks do on purpose when building rows.
                                             -Wno-missing-field-initializers
                                             # GCC 12 at -O3 (the release preset of `make run`) reports
                                             # impossible overlaps in std::string's inlined memcpy for
                                             # operator+ chains (GCC bug 105329); -O1 (ci) does not.
                                             $<$<CONFIG:Release>:-Wno-restrict>)
if(NETPRAXIS_WERROR)
  target_compile_options(np_warnings INTERFACE -Werror)
endif()

add_library(np_options INTERFACE)
# Asio and Beast are compiled once, in src/core/asio_impl.cpp.
target_compile_definitions(np_options INTERFACE BOOST_ASIO_SEPARATE_COMPILATION
                                                BOOST_BEAST_SEPARATE_COMPILATION
                                                BOOST_ASIO_NO_DEPRECATED
                                                BOOST_ASIO_DISABLE_BOOST_DATE_TIME)
if(NETPRAXIS_SANITIZE)
  target_compile_options(np_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(np_options INTERFACE -fsanitize=address,undefined)
endif()

# Every component library: np_component(NAME SOURCES... DEPS ...)
function(np_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(np_${name} STATIC ${ARG_SOURCES})
  np_include_root(np_${name} ${name})
  target_link_libraries(np_${name} PUBLIC np_options ${ARG_DEPS} PRIVATE np_warnings)
endfunction()

# ccache makes rebuilds in several build folders (presets, helpers' trees) share their objects.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
