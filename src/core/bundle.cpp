#include "core/bundle.hpp"

#include "core/error.hpp"

namespace np::core {
namespace fs = std::filesystem;

std::string bundle_name_problem(std::string_view name) {
    if (name.empty()) return "is empty";
    if (name.size() > 255) return "is longer than 255 bytes";
    for (unsigned char c : name) {
        if (c == 0 || c < 0x20 || c == 0x7f) return "contains a control character";
        if (c == '\\') return "contains a backslash: use '/' between folders";
    }
    if (name.front() == '/' || name.front() == '~')
        return "is an absolute path: name a file of the exercise's folder, relative to it";
    fs::path p{std::string(name)};
    for (const auto& part : p)
        if (part == "..") return "contains '..': files outside the exercise's folder cannot be used";
    return {};
}

fs::path resolve_in_bundle(const fs::path& bundle_dir, std::string_view name) {
    if (auto problem = bundle_name_problem(name); !problem.empty())
        throw invalid("'" + std::string(name) + "' " + problem);
    std::error_code ec;
    auto root = fs::canonical(bundle_dir.empty() ? fs::path(".") : bundle_dir, ec);
    if (ec)
        throw invalid("the exercise's folder '" + bundle_dir.string() + "' cannot be read: " + ec.message());
    auto file = fs::canonical(root / fs::path(std::string(name)), ec);
    if (ec) throw invalid("'" + std::string(name) + "' is missing from the exercise's folder");
    // Both are canonical (no '.', '..' or symlink left): inside means `root` is a leading part of `file`.
    auto [r, f] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
    if (r != root.end() || file == root)
        throw invalid("'" + std::string(name) + "' leaves the exercise's folder through a symlink");
    if (!fs::is_regular_file(file, ec)) throw invalid("'" + std::string(name) + "' is not a regular file");
    return file;
}

}  // namespace np::core
