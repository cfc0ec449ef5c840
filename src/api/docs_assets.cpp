#include "api/docs_assets.hpp"

#include <cstddef>

// The assembler's .incbin puts the files into .rodata as they are: no 1.7 MB generated C array to compile
// (CMake's file(READ HEX) route made that file 9 MB and the compile slow). NP_SWAGGER_VERSION is part of the
// preprocessed text so that a new version of the files is a new ccache key.
#ifdef NP_API_DOCS_DIR
__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".global np_swagger_ui_js\n"
    "np_swagger_ui_js:\n"
    ".incbin \"" NP_API_DOCS_DIR
    "/swagger-ui-bundle.js\"\n"
    ".global np_swagger_ui_js_end\n"
    "np_swagger_ui_js_end:\n"
    ".balign 16\n"
    ".global np_swagger_ui_css\n"
    "np_swagger_ui_css:\n"
    ".incbin \"" NP_API_DOCS_DIR
    "/swagger-ui.css\"\n"
    ".global np_swagger_ui_css_end\n"
    "np_swagger_ui_css_end:\n"
    ".previous\n");
extern "C" const char np_swagger_ui_js[], np_swagger_ui_js_end[], np_swagger_ui_css[],
    np_swagger_ui_css_end[];
[[maybe_unused]] static constexpr const char* kSwaggerVersion = NP_SWAGGER_VERSION;
#endif

namespace np::api::docs_assets {

bool available() {
#ifdef NP_API_DOCS_DIR
    return true;
#else
    return false;
#endif
}

std::string_view swagger_ui_js() {
#ifdef NP_API_DOCS_DIR
    return {np_swagger_ui_js, static_cast<std::size_t>(np_swagger_ui_js_end - np_swagger_ui_js)};
#else
    return {};
#endif
}

std::string_view swagger_ui_css() {
#ifdef NP_API_DOCS_DIR
    return {np_swagger_ui_css, static_cast<std::size_t>(np_swagger_ui_css_end - np_swagger_ui_css)};
#else
    return {};
#endif
}

}  // namespace np::api::docs_assets
