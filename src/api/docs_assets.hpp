// Swagger UI's prebuilt files, embedded into the binary at build time (docs_assets.cpp). Empty views when
// the build did not find them (docs/api-ui/node_modules, made by `npm ci`).
#pragma once

#include <string_view>

namespace np::api::docs_assets {

bool available();
std::string_view swagger_ui_js();
std::string_view swagger_ui_css();

}  // namespace np::api::docs_assets
