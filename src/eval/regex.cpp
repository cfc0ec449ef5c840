#include "eval/regex.hpp"

#include <boost/regex.hpp>
#include <cctype>

#include "core/error.hpp"

namespace np::eval {

struct Regex::Impl {
    std::string pattern;
    boost::regex re;
    std::vector<std::pair<std::string, std::size_t>> named;
};

namespace {

// Boost's messages end with a copy of the pattern (".  The error occurred while parsing the regular
// expression: '...>>>HERE>>>...'"): keep the reason and say where instead.
std::string reason(const boost::regex_error& e) {
    std::string what = e.what();
    if (auto cut = what.find(".  The error occurred"); cut != std::string::npos) what.resize(cut);
    if (!what.empty() && what.back() == '.') what.pop_back();
    return what + " (at offset " + std::to_string(e.position()) + ")";
}

// "The complexity of matching the regular expression exceeded predefined bounds.  Try refactoring ...":
// the first sentence says it.
std::string first_sentence(std::string what) {
    if (auto cut = what.find(".  "); cut != std::string::npos) what.resize(cut);
    return what;
}

const std::string kEmpty;
const std::vector<std::pair<std::string, std::size_t>> kNoNames;

// The names of `(?<name>` / `(?P<name>` groups (not lookbehinds `(?<=`, `(?<!`), resolved to their index
// by Boost (a candidate inside a character class or escaped is simply not found).
std::vector<std::pair<std::string, std::size_t>> named_groups_of(const std::string& pattern,
                                                                 const boost::regex& re) {
    std::vector<std::pair<std::string, std::size_t>> out;
    auto subs = re.get_named_subs();
    for (std::size_t i = 0; subs && (i = pattern.find("(?", i)) != std::string::npos; i += 2) {
        std::size_t start = i + 2 + (pattern.compare(i + 2, 1, "P") == 0);
        if (pattern.compare(start, 1, "<") != 0) continue;
        std::size_t end = ++start;
        while (end < pattern.size() &&
               (std::isalnum(static_cast<unsigned char>(pattern[end])) || pattern[end] == '_'))
            ++end;
        if (end == start || end >= pattern.size() || pattern[end] != '>') continue;
        int index = subs->get_id(pattern.data() + start, pattern.data() + end);
        if (index > 0) out.emplace_back(pattern.substr(start, end - start), static_cast<std::size_t>(index));
    }
    return out;
}

}  // namespace

Regex Regex::compile(std::string_view pattern, Lines lines) {
    auto flags = boost::regex::perl | boost::regex::no_mod_s;  // `.` stops at newlines, as in ECMAScript
    if (lines == Lines::single) flags |= boost::regex::no_mod_m;
    auto impl = std::make_shared<Impl>();
    impl->pattern = std::string(pattern);
    try {
        impl->re.assign(pattern.data(), pattern.data() + pattern.size(), flags);
    } catch (const boost::regex_error& e) {
        throw core::invalid("bad regex '" + impl->pattern + "': " + reason(e));
    }
    impl->named = named_groups_of(impl->pattern, impl->re);
    Regex r;
    r.impl_ = std::move(impl);
    return r;
}

const std::string& Regex::pattern() const {
    return impl_ ? impl_->pattern : kEmpty;
}

std::size_t Regex::groups() const {
    return impl_ ? impl_->re.mark_count() : 0;
}

const std::vector<std::pair<std::string, std::size_t>>& Regex::named_groups() const {
    return impl_ ? impl_->named : kNoNames;
}

bool Regex::search(std::string_view text) const {
    if (!impl_) return false;
    try {
        return boost::regex_search(text.data(), text.data() + text.size(), impl_->re);
    } catch (const std::runtime_error& e) {
        throw core::invalid("regex '" + impl_->pattern + "': " + first_sentence(e.what()));
    }
}

std::optional<Regex::Match> Regex::find(std::string_view text) const {
    if (!impl_) return std::nullopt;
    boost::cmatch m;
    try {
        if (!boost::regex_search(text.data(), text.data() + text.size(), m, impl_->re)) return std::nullopt;
    } catch (const std::runtime_error& e) {
        throw core::invalid("regex '" + impl_->pattern + "': " + first_sentence(e.what()));
    }
    Match out;
    out.position = static_cast<std::size_t>(m.position(std::size_t{0}));
    out.length = static_cast<std::size_t>(m[0].length());
    out.groups.reserve(m.size());
    for (std::size_t i = 0; i < m.size(); ++i)
        out.groups.push_back(m[i].matched
                                 ? std::string_view(m[i].first, static_cast<std::size_t>(m[i].length()))
                                 : std::string_view());
    return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view l = text.substr(start, nl - start);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        out.push_back(l);
        start = nl + 1;
    }
    return out;
}

}  // namespace np::eval
