// Compiled regular expressions for prompts, pagers, dialogs, ping parsers and matchers. Boost.Regex (Perl
// syntax, a superset of the ECMAScript patterns teachers and platform files write) behind a small handle, so
// that headers stay free of Boost and every pattern is compiled once (at platform load or spec parse time)
// and shared by copies. `.` never matches a newline; with Lines::multi `^` and `$` match at every line,
// otherwise only at the ends of the text (ECMAScript's defaults).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace np::eval {

class Regex {
 public:
    enum class Lines { single, multi };

    struct Match {
        std::size_t position = 0, length = 0;  // of the whole match in the searched text
        std::vector<std::string_view>
            groups;  // [0] the whole match, then each capture group (empty if unset)
    };

    Regex() = default;  // empty: compiles nothing, matches nothing

    // Throws core::Error(invalid) "bad regex '<pattern>': <reason>".
    static Regex compile(std::string_view pattern, Lines lines = Lines::single);

    bool empty() const { return !impl_; }
    const std::string& pattern() const;
    std::size_t groups() const;  // number of capture groups
    // Named capture groups (`(?<name>...)`, `(?P<name>...)`): name and group index, in pattern order.
    const std::vector<std::pair<std::string, std::size_t>>& named_groups() const;

    // Throws core::Error(invalid) when matching is too complex (catastrophic backtracking): Boost.Regex gives
    // up instead of exhausting the stack.
    bool search(std::string_view text) const;
    std::optional<Match> find(std::string_view text) const;

 private:
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

// The lines of a device's output as matchers and record readers see them: split at '\n', a trailing '\r'
// dropped from each, no last empty line for text that ends with a newline ("a\n" is one line, "" none).
std::vector<std::string_view> split_lines(std::string_view text);

}  // namespace np::eval
