// Exercise bundles: the files an exercise refers to (topology configs, its GNS3 project, its instructions)
// live inside the exercise's own folder. A name written in an exercise is relative to that folder and may
// not leave it — not by an absolute path, not by '..', not through a symlink — because whoever writes the
// exercise is trusted with the course, not with the host the server runs on (docs/SECURITY.md).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace np::core {

// Why `name` cannot name a file of a bundle (empty when it can): empty, absolute, a '..' component,
// a NUL, a backslash or a control character, longer than 255 bytes. Purely lexical: no file is touched.
std::string bundle_name_problem(std::string_view name);

// The canonical path of `name` inside `bundle_dir`, which must be a regular file inside that folder once
// every symlink is followed. Throws core::invalid with the reason (bundle_name_problem, "missing",
// "leaves the exercise's folder through a symlink", "not a regular file").
std::filesystem::path resolve_in_bundle(const std::filesystem::path& bundle_dir, std::string_view name);

}  // namespace np::core
