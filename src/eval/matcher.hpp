// Evaluates an `expect:` matcher tree against a command's output, with the student's variables rendered
// into every pattern first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "eval/platform.hpp"
#include "eval/spec.hpp"

namespace np::eval {

struct MatchOutcome {
    bool passed = false;
    double fraction = 0;   // of the top combinator's children that passed (1/0 for a leaf)
    std::string evidence;  // the lines that decided, or what was missing
};

// Throws core::Error(invalid) naming the matcher path on a bad regex or template.
MatchOutcome evaluate_matcher(const Matcher& m, std::string_view output, const Values& values,
                              const Platform& platform);

// Renders and compiles every pattern of the tree (the linter's check); appends one Diagnostic per problem.
void compile_matcher(const Matcher& m, const Values& values, std::vector<Diagnostic>& out);

}  // namespace np::eval
