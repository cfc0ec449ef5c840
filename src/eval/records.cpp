#include "eval/records.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace np::eval {
namespace {

Regex compile_one(const std::string& pattern, const std::string& what) {
    try {
        return Regex::compile(pattern);
    } catch (const core::Error& e) {
        throw core::invalid(what + ": " + e.what());
    }
}

std::string trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}

// Adds the named groups of `re` matched in `line` to `r` (groups that did not take part add nothing).
bool take(const Regex& re, std::string_view line, Record& r) {
    auto m = re.find(line);
    if (!m) return false;
    for (const auto& [name, index] : re.named_groups())
        if (index < m->groups.size() && !m->groups[index].empty())
            r.fields[name].push_back(trimmed(m->groups[index]));
    return true;
}

// Records with the same `key` value as one, in first-seen order; other fields' values appended.
std::vector<Record> merged(std::vector<Record> in, const std::string& key) {
    std::vector<Record> out;
    for (auto& r : in) {
        auto same = std::find_if(out.begin(), out.end(),
                                 [&](const Record& o) { return r.has(key) && o.get(key) == r.get(key); });
        if (same == out.end()) {
            out.push_back(std::move(r));
            continue;
        }
        for (auto& [field, values] : r.fields) {
            if (field == key) continue;
            auto& into = same->fields[field];
            for (auto& v : values)
                if (std::find(into.begin(), into.end(), v) == into.end()) into.push_back(std::move(v));
        }
    }
    return out;
}

}  // namespace

std::string Record::get(std::string_view field) const {
    auto it = fields.find(field);
    return it == fields.end() || it->second.empty() ? std::string() : it->second.front();
}

void IntentParser::compile(const std::string& where) {
    record_re = record.empty() ? Regex() : compile_one(record, where + ".record");
    start_re = start.empty() ? Regex() : compile_one(start, where + ".start");
    field_res.clear();
    for (std::size_t i = 0; i < fields.size(); ++i)
        field_res.push_back(compile_one(fields[i], where + ".fields[" + std::to_string(i) + "]"));
    context_res.clear();
    for (std::size_t i = 0; i < context.size(); ++i)
        context_res.push_back(compile_one(context[i], where + ".context[" + std::to_string(i) + "]"));
    split_res.clear();
    for (const auto& [field, sep] : split) split_res.push_back(compile_one(sep, where + ".split." + field));
    if (!record.empty() && !start.empty())
        throw core::invalid(where +
                            ": record and start exclude each other (a record per line, or per block)");
    if (!fields.empty() && start.empty())
        throw core::invalid(where + ": fields continue a block: they need start");
    if (style != "indent" && style != "set" && style != "path")
        throw core::invalid(where + ".style: '" + style + "' is not indent, set or path");
}

// Filldown, merge, join, split, map and set, in that order, on the records read.
std::vector<Record> IntentParser::finished(std::vector<Record> out) const {
    for (std::size_t k = 1; k < out.size(); ++k)
        for (const auto& f : filldown)
            if (!out[k].has(f) && out[k - 1].has(f)) out[k].fields[f] = out[k - 1].fields[f];
    if (!merge.empty()) out = merged(std::move(out), merge);
    for (auto& r : out)
        for (const auto& [field, parts] : join) {
            std::vector<std::string> joined;
            for (std::size_t k = 0;; ++k) {
                std::string v;
                bool all = !parts.empty();
                for (const auto& part : parts) {
                    auto it = r.fields.find(part);
                    all = all && it != r.fields.end() && k < it->second.size();
                    if (all) v += it->second[k];
                }
                if (!all) break;
                joined.push_back(std::move(v));
            }
            if (!joined.empty()) r.fields[field] = std::move(joined);
        }
    std::size_t i = 0;
    for (const auto& [field, sep] : split) {
        const Regex& re = split_res[i++];
        for (auto& r : out) {
            auto it = r.fields.find(field);
            if (it == r.fields.end()) continue;
            std::vector<std::string> parts;
            for (const auto& v : it->second) {
                std::string_view rest = v;
                while (!rest.empty()) {
                    auto m = re.find(rest);
                    std::size_t end = m && m->length > 0 ? m->position : rest.size();
                    if (auto p = trimmed(rest.substr(0, end)); !p.empty()) parts.push_back(p);
                    rest.remove_prefix(std::min(rest.size(), end + (m ? m->length : 0)));
                    if (m && m->length == 0) break;
                }
            }
            it->second = std::move(parts);
        }
    }
    for (auto& r : out) {
        for (const auto& [field, values] : map) {
            auto& vs = r.fields[field];
            if (vs.empty()) vs.emplace_back();
            for (auto& v : vs)
                if (auto t = values.find(v); t != values.end()) v = t->second;
            std::erase(vs, std::string());
            if (vs.empty()) r.fields.erase(field);
        }
        for (const auto& [field, value] : set) r.fields[field] = {value};
    }
    return out;
}

std::vector<Record> IntentParser::parse(std::string_view output) const {
    std::vector<Record> out;
    Record ctx;  // the last context line's fields
    for (auto line : split_lines(output)) {
        Record r;
        if (!record_re.empty()) {
            if (take(record_re, line, r)) {
                r.text = trimmed(line);
                out.push_back(std::move(r));
            }
            continue;
        }
        if (start_re.empty()) continue;
        bool starts = take(start_re, line, r);
        if (starts) {
            r.text = trimmed(line);
            for (const auto& [f, v] : ctx.fields)
                if (!r.has(f)) r.fields[f] = v;
            out.push_back(std::move(r));
        } else {
            Record c;
            bool is_context = false;
            for (const auto& re : context_res) is_context = take(re, line, c) || is_context;
            if (is_context) {
                ctx = std::move(c);
                continue;
            }
        }
        if (out.empty()) continue;
        for (const auto& re : field_res) take(re, line, out.back());
    }
    return finished(std::move(out));
}

}  // namespace np::eval
