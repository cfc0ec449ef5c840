// Fuzz target: the exercise spec parser, the linter (templates, regex compilation of every matcher) and
// the matcher evaluator, on untrusted teacher YAML. Nothing may crash, hang or throw out of these calls.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "eval/lint.hpp"
#include "eval/matcher.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 16384) return 0;  // specs are small; bigger inputs only slow the fuzzer down
    std::string text(reinterpret_cast<const char*>(data), size);
    using namespace np::eval;
    const PlatformRegistry& platforms = PlatformRegistry::builtin();
    LintReport report = lint_spec(text, platforms, std::string("{{ student }}"));
    ParseResult parsed = parse_spec(text);
    if (!parsed.ok() || !report.ok()) return 0;
    // A spec that lints clean must evaluate without throwing anything but core::Error.
    try {
        Values values = derive_values(parsed.spec.variables, parsed.spec.id, "fuzz");
        const std::string output =
            "interface eth0\n ip address 10.0.0.1/24\n 3 packets transmitted, 3 received\n";
        for (const auto& check : parsed.spec.checks) {
            const Platform* p = platforms.find("linux");
            (void)evaluate_matcher(check.expect, output, values, *p);
        }
    } catch (const np::core::Error&) {
    }
    return 0;
}
