// The exercise linter (`netpraxis exercise lint DIR`): every error with its path and line, plus warnings
// (unused variables, `requires` naming a missing check, zero total points, ...).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/platform.hpp"
#include "eval/spec.hpp"

namespace np::eval {

struct LintReport {
    std::vector<Diagnostic> diagnostics;
    std::size_t errors() const;
    std::size_t warnings() const;
    bool ok() const { return errors() == 0; }
};

// Lints spec text; `instructions` is the instructions file's text when known (it is templated too).
LintReport lint_spec(std::string_view yaml, const PlatformRegistry& platforms,
                     std::optional<std::string> instructions = std::nullopt);

// Lints `<dir>/exercise.yaml` and the files it names.
LintReport lint_exercise(const std::string& dir, const PlatformRegistry& platforms);

}  // namespace np::eval
