// The `config` intent: a line (or a regex) present or absent in a device's configuration, in a section,
// whatever way the vendor writes sections.
#include <algorithm>
#include <iterator>
#include <sstream>

#include "core/error.hpp"
#include "eval/intent.hpp"
#include "eval/matcher.hpp"

namespace np::eval {
namespace {

// Trimmed, inner blanks collapsed to one space.
std::string normal(std::string_view s) {
    std::string out;
    bool blank = false;
    for (char c : s) {
        if (c == ' ' || c == '\t' || c == '\r') {
            blank = !out.empty();
            continue;
        }
        if (blank) out += ' ';
        blank = false;
        out += c;
    }
    return out;
}

std::size_t indent_of(std::string_view l) {
    std::size_t i = 0;
    while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
    return i;
}

bool starts_with_words(const std::string& text, const std::string& prefix) {
    return text == prefix ||
           (text.size() > prefix.size() && text.rfind(prefix, 0) == 0 && text[prefix.size()] == ' ');
}

struct Candidate {
    std::string line, shown;  // what is compared; what evidence shows
};

std::vector<std::string> raw_lines(std::string_view output, bool join_backslash) {
    std::vector<std::string> out;
    std::istringstream in{std::string(output)};
    std::string l;
    bool cont = false;
    while (std::getline(in, l)) {
        if (!l.empty() && l.back() == '\r') l.pop_back();
        if (cont && !out.empty())
            out.back() += " " + normal(l);
        else
            out.push_back(l);
        cont = join_backslash && !out.back().empty() && out.back().back() == '\\';
        if (cont) out.back().pop_back();
    }
    return out;
}

// The lines of `section` (all lines when empty), each with the text to compare.
std::vector<Candidate> candidates(std::string_view output, const std::string& section,
                                  const std::string& style, bool& section_found) {
    std::vector<Candidate> out;
    auto lines = raw_lines(output, style == "path");
    section_found = section.empty();
    std::string sec = normal(section);
    if (style == "set") {
        std::string with_set = sec.rfind("set ", 0) == 0 ? sec : "set " + sec;
        for (const auto& l : lines) {
            std::string n = normal(l);
            if (sec.empty()) {
                out.push_back({n, n});
            } else if (starts_with_words(n, with_set)) {
                section_found = true;
                out.push_back({normal(n.substr(with_set.size())), n});
                out.push_back({n, n});
            }
        }
        return out;
    }
    if (style == "path") {
        std::string current;
        for (const auto& l : lines) {
            std::string n = normal(l);
            if (n.empty() || n[0] == '#') continue;
            if (n[0] == '/') {
                // `/ip address` alone, or `/ip address add ...` (export terse)
                auto verb = n.find(" add ");
                verb = verb == std::string::npos ? n.find(" set ") : verb;
                current = verb == std::string::npos ? n : n.substr(0, verb);
                if (current == sec) section_found = true;
                if (verb == std::string::npos) continue;
                n = n.substr(verb + 1);
            }
            if (sec.empty() || current == sec) out.push_back({n, current + " " + n});
        }
        return out;
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string n = normal(lines[i]);
        if (sec.empty()) {
            if (!n.empty()) out.push_back({n, n});
            continue;
        }
        if (!starts_with_words(n, sec)) continue;
        section_found = true;
        std::size_t ind = indent_of(lines[i]);
        for (std::size_t j = i + 1; j < lines.size(); ++j) {
            std::string c = normal(lines[j]);
            if (c.empty()) continue;
            if (indent_of(lines[j]) <= ind) break;
            out.push_back({c, n + " > " + c});
        }
    }
    return out;
}

// RouterOS: `add address=10.0.0.1/24 interface=ether1` is in a line holding those words in any order.
bool same_words(const std::string& want, const std::string& have) {
    std::istringstream w(want), h(have);
    std::vector<std::string> hw{std::istream_iterator<std::string>(h), {}};
    std::string word;
    while (w >> word)
        if (std::find(hw.begin(), hw.end(), word) == hw.end()) return false;
    return true;
}

}  // namespace

MatchOutcome grade_config(const Intent& intent, const std::string* line, const std::string* match,
                          const std::string* section, std::string_view output, const std::string& style) {
    std::string sec = section ? *section : std::string();
    bool section_found = false;
    auto lines = candidates(output, sec, style, section_found);
    Regex re;
    if (match) {
        try {
            re = Regex::compile(*match);
        } catch (const core::Error& e) {
            throw core::invalid(intent.path + ".match: " + e.what());
        }
    }
    std::string want = line ? normal(*line) : std::string();
    const Candidate* hit = nullptr;
    for (const auto& c : lines) {
        bool ok = match  ? re.search(c.line)
                  : line ? (c.line == want || (style == "path" && same_words(want, c.line)))
                         : true;
        if (ok) {
            hit = &c;
            break;
        }
    }
    if (!line && !match) hit = section_found && !lines.empty() ? &lines.front() : nullptr;
    std::string what = match ? "a line matching /" + *match + "/" : line ? "'" + want + "'" : "section";
    std::string where = sec.empty() ? "" : " in section '" + normal(sec) + "'";
    if (!line && !match) where = " '" + normal(sec) + "'";
    if (!intent.present) {
        if (hit || (!line && !match && section_found))
            return {false, 0, "unexpected: " + (hit ? hit->shown : normal(sec))};
        return {true, 1, "no " + what + where + ", as required"};
    }
    if (!line && !match) {
        if (section_found) return {true, 1, "section '" + normal(sec) + "' present"};
        return {false, 0, "no section '" + normal(sec) + "'"};
    }
    if (hit) return {true, 1, hit->shown};
    if (!sec.empty() && !section_found)
        return {false, 0, "no section '" + normal(sec) + "' (looking for " + what + ")"};
    return {false, 0, "no " + what + where};
}

}  // namespace np::eval
