#include "eval/matcher.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>

#include "core/error.hpp"

namespace np::eval {
namespace {

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

// The matcher's regex: compiled once at parse time, or (a template) rendered for this student and compiled
// now. `pat` receives the pattern as matched, for evidence.
Regex regex_of(const Matcher& m, const Values& values, std::string& pat) {
    if (!m.compiled.empty()) {
        pat = m.pattern;
        return m.compiled;
    }
    pat = rendered(m, m.pattern, values);
    try {
        return Regex::compile(pat, Regex::Lines::multi);
    } catch (const core::Error& e) {
        throw core::invalid(m.path + ": " + e.what());
    }
}

// A regex search that names the matcher when matching itself fails (too complex).
template <class F>
auto guarded(const Matcher& m, F&& f) {
    try {
        return f();
    } catch (const core::Error& e) {
        throw core::invalid(m.path + ": " + e.what());
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
    std::string_view text = output;
    std::string pat;
    switch (m.kind) {
        case Matcher::Kind::match: {
            Regex re = regex_of(m, values, pat);
            if (auto sm = guarded(m, [&] { return re.find(text); })) {
                // Evidence: the whole line holding the match.
                auto begin = text.rfind('\n', sm->position);
                begin = begin == std::string_view::npos ? 0 : begin + 1;
                auto end = text.find('\n', sm->position + sm->length);
                return leaf(true, cut(trim(text.substr(begin, end - begin))));
            }
            return leaf(false, "no line matches /" + pat + "/");
        }
        case Matcher::Kind::contains: {
            std::string needle = rendered(m, m.pattern, values);
            auto pos = text.find(needle);
            // (Built with append: GCC 12 misreports -Wrestrict on `"'" + std::string` here.)
            std::string quoted = std::string(1, '\'').append(cut(needle)).append(1, '\'');
            if (pos != std::string::npos) return leaf(true, "found " + quoted);
            return leaf(false, quoted.append(" not found"));
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
            ev << s.received << "/" << s.sent << " replies (" << std::lround(pct) << "%, need "
               << m.min_success << "%)";
            return leaf(pct + 1e-9 >= m.min_success && s.received > 0, ev.str());
        }
        case Matcher::Kind::section: {
            Regex re = regex_of(m, values, pat);
            auto lines = split_lines(text);
            MatchOutcome best = leaf(false, "no line matches parent /" + pat + "/");
            bool found_parent = false;
            for (std::size_t i = 0; i < lines.size(); ++i) {
                if (!guarded(m, [&] { return re.search(lines[i]); })) continue;
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
            Regex re = regex_of(m, values, pat);
            std::int64_t n = 0;
            for (auto l : split_lines(text))
                if (guarded(m, [&] { return re.search(l); })) ++n;
            bool ok = (!m.min || n >= *m.min) && (!m.max || n <= *m.max);
            std::string range = (m.min ? ">= " + std::to_string(*m.min) : "") +
                                (m.min && m.max ? " and " : "") +
                                (m.max ? "<= " + std::to_string(*m.max) : "");
            return leaf(ok, std::to_string(n) + " line(s) match /" + pat + "/, need " + range);
        }
        case Matcher::Kind::number: {
            Regex re = regex_of(m, values, pat);
            std::string rhs_text = rendered(m, m.value, values);
            double rhs = 0;
            if (!to_double(rhs_text, rhs))
                throw core::invalid(m.path + ": value '" + rhs_text + "' is not a number");
            auto sm = guarded(m, [&] { return re.find(text); });
            if (!sm) return leaf(false, "no line matches /" + pat + "/");
            if (sm->groups.size() < 2) throw core::invalid(m.path + ": the pattern needs one capture group");
            std::string group(sm->groups[1]);
            double lhs = 0;
            if (!to_double(group, lhs)) return leaf(false, "'" + group + "' is not a number");
            return leaf(compare(lhs, m.op, rhs), group + " " + m.op + " " + rhs_text);
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
                    Regex re = Regex::compile(pat, Regex::Lines::multi);  // as evaluation compiles it
                    if (m.kind == Matcher::Kind::number && re.groups() < 1)
                        report("the pattern needs one capture group around the number");
                } catch (const core::Error& e) {
                    report(e.what());  // "bad regex '...': reason"
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
