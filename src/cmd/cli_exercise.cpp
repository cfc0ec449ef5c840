// `netpraxis exercise lint DIR`: checks an exercise folder and prints every error and warning with its
// path and line. Exit 0 when clean (warnings allowed), 1 on errors.
#include <unistd.h>

#include <iostream>

#include "cmd/cli.hpp"
#include "core/error.hpp"
#include "eval/lint.hpp"

namespace np::cmd {
namespace {

struct LintOptions {
    std::vector<std::string> dirs;
    std::string platforms_dir;
    bool json = false;
    bool strict = false;
};

int run_lint(const LintOptions& o) {
    eval::PlatformRegistry platforms = o.platforms_dir.empty()
                                           ? eval::PlatformRegistry::builtin()
                                           : eval::PlatformRegistry::with_overrides(o.platforms_dir);
    bool color = isatty(STDOUT_FILENO) && !o.json;
    std::size_t errors = 0, warnings = 0;
    std::string json = "[";
    for (const auto& dir : o.dirs) {
        eval::LintReport r = eval::lint_exercise(dir, platforms);
        errors += r.errors();
        warnings += r.warnings();
        if (o.json) {
            for (const auto& d : r.diagnostics) {
                auto esc = [](const std::string& s) {
                    std::string out;
                    for (char c : s) {
                        if (c == '"' || c == '\\')
                            out += '\\', out += c;
                        else if (c == '\n')
                            out += "\\n";
                        else if (static_cast<unsigned char>(c) < 0x20)
                            out += ' ';
                        else
                            out += c;
                    }
                    return out;
                };
                if (json.size() > 1) json += ",";
                json += "{\"exercise\":\"" + esc(dir) + "\",\"severity\":\"" +
                        (d.severity == eval::Diagnostic::Severity::error ? "error" : "warning") +
                        "\",\"path\":\"" + esc(d.path) + "\",\"line\":" + std::to_string(d.line) +
                        ",\"message\":\"" + esc(d.message) + "\"}";
            }
            continue;
        }
        for (const auto& d : r.diagnostics) {
            bool err = d.severity == eval::Diagnostic::Severity::error;
            std::string tag = err ? "error" : "warning";
            if (color) tag = std::string(err ? "\x1b[31m" : "\x1b[33m") + tag + "\x1b[0m";
            std::cout << dir << "/exercise.yaml:" << (d.line > 0 ? std::to_string(d.line) + ":" : "") << " "
                      << tag << ": " << (d.path.empty() ? "" : d.path + ": ") << d.message << "\n";
        }
        std::cout << dir << ": " << r.errors() << " error(s), " << r.warnings() << " warning(s)\n";
    }
    if (o.json) std::cout << json << "]\n";
    if (errors > 0) return kExitFailure;
    if (o.strict && warnings > 0) return kExitPartial;
    return 0;
}

void setup(CLI::App& root, GlobalOptions&) {
    auto* exercise = root.add_subcommand("exercise", "Author exercises: check a folder before publishing it");
    exercise->require_subcommand(1);
    auto opts = std::make_shared<LintOptions>();
    auto* lint = exercise->add_subcommand(
        "lint",
        "Check exercise folders (exercise.yaml, instructions, topology): every error with its path and line");
    lint->add_option("DIR", opts->dirs, "Exercise folder(s) holding exercise.yaml")
        ->required()
        ->check(CLI::ExistingDirectory);
    lint->add_option("--platforms", opts->platforms_dir,
                     "Directory of platform YAML files overriding the built-ins (intent parsers included)")
        ->check(CLI::ExistingDirectory);
    lint->add_flag("--json", opts->json, "Print the diagnostics as a JSON array");
    lint->add_flag("--strict", opts->strict, "Exit 3 when there are warnings");
    lint->callback([opts] {
        int rc = run_lint(*opts);
        if (rc != 0) throw CLI::RuntimeError(rc);
    });
}

NP_REGISTER_COMMAND(40, setup);

}  // namespace
}  // namespace np::cmd
