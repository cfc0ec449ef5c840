#include "eval/matcher.hpp"

#include <cctype>
#include <charconv>
#include <regex>
#include <sstream>

#include "core/error.hpp"

namespace np::eval {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view l = text.substr(start, nl - start);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        lines.push_back(l);
        start = nl + 1;
    }
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::size_t indent_of(std::string_view l) {
    std::size_t i = 0;
    while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
    return i;
}

std::string rendered(const Matcher& m, const std::string& text, const Values& values) {
    try {
        return render(text, values);
    } catch (const core::Error& e) {
        throw core::invalid(m.path + ": " + e.what());
    }
}

std::regex regex_of(const Matcher& m, const std::string& pattern) {
    try {
        return std::regex(pattern, std::regex::ECMAScript | std::regex::multiline);
    } catch (const std::regex_error& e) {
        throw core::invalid(m.path + ": bad regex '" + pattern + "': " + e.what());
    }
}

std::string cut(std::string_view s, std::size_t max = 200) {
    return s.size() <= max ? std::string(s) : std::string(s.substr(0, max)) + "...";
}

MatchOutcome leaf(bool passed, std::string evidence) {
    return {passed, passed ? 1.0 : 0.0, std::move(evidence)};
}

bool compare(double a, const std::string& op, double b) {
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == "==") return a == b;
    if (op == "!=") return a != b;
    if (op == ">") return a > b;
    return a >= b;
}

bool to_double(std::string_view s, double& out) {
    s = trim(s);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

MatchOutcome evaluate_matcher(const Matcher& m, std::string_view output, const Values& values,
                              const Platform& platform) {
    std::string text(output);
    switch (m.kind) {
        case Matcher::Kind::match: {
            std::string pat = rendered(m, m.pattern, values);
            std::regex re = regex_of(m, pat);
            std::smatch sm;
            if (std::regex_search(text, sm, re)) {
                // Evidence: the whole line holding the match.
                auto begin = text.rfind('\n', static_cast<std::size_t>(sm.position(0)));
                begin = begin == std::string::npos ? 0 : begin + 1;
                auto end = text.find('\n', static_cast<std::size_t>(sm.position(0) + sm.length(0)));
                return leaf(true, cut(trim(std::string_view(text).substr(begin, end - begin))));
            }
            return leaf(false, "no line matches /" + pat + "/");
        }
        case Matcher::Kind::contains: {
            std::string needle = rendered(m, m.pattern, values);
            auto pos = text.find(needle);
            if (pos != std::string::npos) return leaf(true, "found '" + cut(needle) + "'");
            return leaf(false, "'" + cut(needle) + "' not found");
        }
        case Matcher::Kind::line: {
            std::string want(trim(rendered(m, m.pattern, values)));
            for (auto l : split_lines(text))
                if (trim(l) == want) return leaf(true, want);
            return leaf(false, "no line equals '" + cut(want) + "'");
        }
        case Matcher::Kind::ping: {
            PingStats s = platform.parse_ping(text);
            if (!s.parsed) return leaf(false, "no ping result found in the output");
            double pct = s.success_percent();
            std::ostringstream ev;
            ev << s.received << "/" << s.sent << " replies (" << static_cast<int>(pct + 0.5) << "%, need "
               << m.min_success << "%)";
            return leaf(pct + 1e-9 >= m.min_success && s.received > 0, ev.str());
        }
        case Matcher::Kind::section: {
            std::string pat = rendered(m, m.pattern, values);
            std::regex re = regex_of(m, pat);
            auto lines = split_lines(text);
            MatchOutcome best = leaf(false, "no line matches parent /" + pat + "/");
            bool found_parent = false;
            for (std::size_t i = 0; i < lines.size(); ++i) {
                std::string line(lines[i]);
                if (!std::regex_search(line, re)) continue;
                std::size_t ind = indent_of(lines[i]);
                std::string block;
                for (std::size_t j = i + 1; j < lines.size(); ++j) {
                    if (trim(lines[j]).empty()) continue;
                    if (indent_of(lines[j]) <= ind) break;
                    block += std::string(trim(lines[j])) + "\n";
                }
                if (m.children.empty()) return leaf(true, cut(trim(lines[i])));
                MatchOutcome o = evaluate_matcher(m.children.front(), block, values, platform);
                if (o.passed) {
                    o.evidence = std::string(trim(lines[i])) + " > " + o.evidence;
                    return o;
                }
                if (!found_parent || o.fraction > best.fraction) {
                    best = o;
                    best.evidence = std::string(trim(lines[i])) + " > " + o.evidence;
                }
                found_parent = true;
            }
            return best;
        }
        case Matcher::Kind::count: {
            std::string pat = rendered(m, m.pattern, values);
            std::regex re = regex_of(m, pat);
            std::int64_t n = 0;
            for (auto l : split_lines(text)) {
                std::string line(l);
                if (std::regex_search(line, re)) ++n;
            }
            bool ok = (!m.min || n >= *m.min) && (!m.max || n <= *m.max);
            std::string range = (m.min ? ">= " + std::to_string(*m.min) : "") +
                                (m.min && m.max ? " and " : "") +
                                (m.max ? "<= " + std::to_string(*m.max) : "");
            return leaf(ok, std::to_string(n) + " line(s) match /" + pat + "/, need " + range);
        }
        case Matcher::Kind::number: {
            std::string pat = rendered(m, m.pattern, values);
            std::regex re = regex_of(m, pat);
            std::string rhs_text = rendered(m, m.value, values);
            double rhs = 0;
            if (!to_double(rhs_text, rhs))
                throw core::invalid(m.path + ": value '" + rhs_text + "' is not a number");
            std::smatch sm;
            if (!std::regex_search(text, sm, re)) return leaf(false, "no line matches /" + pat + "/");
            if (sm.size() < 2) throw core::invalid(m.path + ": the pattern needs one capture group");
            double lhs = 0;
            if (!to_double(sm[1].str(), lhs)) return leaf(false, "'" + sm[1].str() + "' is not a number");
            return leaf(compare(lhs, m.op, rhs), sm[1].str() + " " + m.op + " " + rhs_text);
        }
        case Matcher::Kind::all:
        case Matcher::Kind::any:
        case Matcher::Kind::at_least: {
            std::size_t passed = 0;
            std::string evidence;
            std::string first_failure;
            for (const auto& c : m.children) {
                MatchOutcome o = evaluate_matcher(c, output, values, platform);
                if (o.passed) {
                    ++passed;
                    if (evidence.empty()) evidence = o.evidence;
                } else if (first_failure.empty()) {
                    first_failure = o.evidence;
                }
            }
            std::size_t total = m.children.size();
            bool ok = m.kind == Matcher::Kind::all   ? passed == total
                      : m.kind == Matcher::Kind::any ? passed > 0
                                                     : static_cast<std::int64_t>(passed) >= m.n;
            std::string summary = std::to_string(passed) + "/" + std::to_string(total) + " passed";
            std::string detail = ok ? (m.kind == Matcher::Kind::any ? evidence : summary)
                                    : summary + (first_failure.empty() ? "" : "; " + first_failure);
            return {ok, total ? static_cast<double>(passed) / static_cast<double>(total) : 0.0,
                    cut(detail, 400)};
        }
        case Matcher::Kind::negate: {
            MatchOutcome o = evaluate_matcher(m.children.front(), output, values, platform);
            return leaf(!o.passed, o.passed ? "unexpected: " + o.evidence : "absent as required");
        }
    }
    return {};
}

void compile_matcher(const Matcher& m, const Values& values, std::vector<Diagnostic>& out) {
    auto report = [&](const std::string& msg) {
        out.push_back({Diagnostic::Severity::error, m.path, m.line, msg});
    };
    auto render_or_report = [&](const std::string& text, std::string& result) {
        try {
            result = render(text, values);
            return true;
        } catch (const core::Error& e) {
            report(e.what());
            return false;
        }
    };
    std::string pat;
    switch (m.kind) {
        case Matcher::Kind::match:
        case Matcher::Kind::section:
        case Matcher::Kind::count:
        case Matcher::Kind::number:
            if (render_or_report(m.pattern, pat)) {
                try {
                    std::regex re(pat, std::regex::ECMAScript | std::regex::multiline);
                    if (m.kind == Matcher::Kind::number && re.mark_count() < 1)
                        report("the pattern needs one capture group around the number");
                } catch (const std::regex_error& e) {
                    report("bad regex '" + pat + "': " + e.what());
                }
            }
            if (m.kind == Matcher::Kind::number && render_or_report(m.value, pat)) {
                double d = 0;
                if (!to_double(pat, d)) report("value '" + pat + "' is not a number");
            }
            break;
        case Matcher::Kind::contains:
        case Matcher::Kind::line:
            if (render_or_report(m.pattern, pat) && trim(pat).empty()) report("is empty");
            break;
        default: break;
    }
    for (const auto& c : m.children) compile_matcher(c, values, out);
}

}  // namespace np::eval
