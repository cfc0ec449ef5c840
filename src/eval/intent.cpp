#include "eval/intent.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "eval/matcher.hpp"
#include "eval/spec.hpp"

namespace np::eval {
namespace {

// How a stated field compares with the observed one.
enum class Type {
    text,     // equal, ignoring case and surrounding blanks
    number,   // `1500`, or a comparison `>= 1`
    list,     // every stated item (comma-separated) among the observed values
    boolean,  // true / false
    area,     // an OSPF area: `0` and `0.0.0.0` are the same
    percent,  // reachability: the least success rate
    param,    // only fills a command placeholder
};

struct FieldSpec {
    std::string_view name;
    Type type;
    bool key = false;  // identifies the object (selects the records compared)
};

struct Schema {
    std::string_view kind, noun;
    std::vector<FieldSpec> fields;
    std::string_view required;  // a field the intent cannot do without (empty: none)
};

const std::vector<Schema>& schemas() {
    static const std::vector<Schema> all = {
        {"interface",
         "interface",
         {{"name", Type::text, true},
          {"admin", Type::text},
          {"oper", Type::text},
          {"address", Type::list},
          {"description", Type::text},
          {"mtu", Type::number}},
         "name"},
        {"route",
         "route",
         {{"prefix", Type::text, true},
          {"protocol", Type::text},
          {"next_hop", Type::list},
          {"interface", Type::text},
          {"fib", Type::boolean}},
         "prefix"},
        {"ospf_neighbor",
         "OSPF neighbour",
         {{"router_id", Type::text, true},
          {"state", Type::text},
          {"area", Type::area},
          {"interface", Type::text},
          {"address", Type::text}},
         ""},
        {"bgp_session",
         "BGP session",
         {{"peer", Type::text, true},
          {"state", Type::text},
          {"remote_as", Type::number},
          {"prefixes_received", Type::number}},
         ""},
        {"vlan", "VLAN", {{"id", Type::number, true}, {"name", Type::text}, {"ports", Type::list}}, ""},
        {"reachability",
         "ping to",
         {{"target", Type::param, true}, {"success", Type::percent}, {"count", Type::param}},
         "target"},
        {"config", "config line", {{"line", Type::text}, {"match", Type::text}, {"section", Type::text}}, ""},
    };
    return all;
}

const Schema* schema_of(std::string_view kind) {
    for (const auto& s : schemas())
        if (s.kind == kind) return &s;
    return nullptr;
}

const FieldSpec* field_spec(const Schema& s, std::string_view name) {
    for (const auto& f : s.fields)
        if (f.name == name) return &f;
    return nullptr;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

bool to_number(std::string_view s, double& out) {
    std::string t = trim(s);
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc{} && p == t.data() + t.size() && !t.empty();
}

// `>= 1` -> (">=", 1); `1500` -> ("==", 1500). False when not a number.
bool comparison(std::string_view text, std::string& op, double& value) {
    std::string t = trim(text);
    op = "==";
    for (std::string_view o : {"<=", ">=", "!=", "==", "<", ">"})
        if (t.rfind(o, 0) == 0) {
            op = std::string(o);
            t = t.substr(o.size());
            break;
        }
    return to_number(t, value);
}

bool compare(double a, const std::string& op, double b) {
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == "!=") return a != b;
    if (op == ">") return a > b;
    if (op == ">=") return a >= b;
    return a == b;
}

std::vector<std::string> items(std::string_view text) {
    std::vector<std::string> out;
    std::stringstream in{std::string(text)};
    std::string item;
    while (std::getline(in, item, ','))
        if (auto t = trim(item); !t.empty()) out.push_back(t);
    return out;
}

// An OSPF area as dotted quad: 1 -> 0.0.0.1.
std::string area_text(std::string_view s) {
    double n = 0;
    std::string t = trim(s);
    if (t.find('.') != std::string::npos || !to_number(t, n) || n < 0 || n > 4294967295.0) return lower(t);
    auto v = static_cast<std::uint32_t>(n);
    return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." +
           std::to_string((v >> 8) & 255) + "." + std::to_string(v & 255);
}

bool truthy(std::string_view s, bool& out) {
    std::string t = lower(trim(s));
    if (t == "true" || t == "yes" || t == "1") return out = true, true;
    if (t == "false" || t == "no" || t == "0") return out = false, true;
    return false;
}

// Whether the observed values satisfy the stated one; `why` says what was observed when not.
bool field_matches(const FieldSpec& f, const std::string& want, const Record& r, std::string& why) {
    auto it = r.fields.find(f.name);
    if (it == r.fields.end() || it->second.empty()) {
        why = std::string(f.name) + " not shown, expected " + want;
        return false;
    }
    const auto& got = it->second;
    std::string shown = got.front();
    for (std::size_t i = 1; i < got.size(); ++i) shown += ", " + got[i];
    bool ok = false;
    switch (f.type) {
        case Type::number: {
            std::string op;
            double w = 0, g = 0;
            ok = comparison(want, op, w) && to_number(got.front(), g) && compare(g, op, w);
            break;
        }
        case Type::list:
            ok = true;
            for (const auto& item : items(want))
                ok = ok && std::any_of(got.begin(), got.end(),
                                       [&](const std::string& g) { return lower(g) == lower(item); });
            break;
        case Type::boolean: {
            bool w = false, g = false;
            ok = truthy(want, w) && truthy(got.front(), g) && w == g;
            break;
        }
        case Type::area: ok = area_text(got.front()) == area_text(want); break;
        case Type::text:
            ok = std::any_of(got.begin(), got.end(),
                             [&](const std::string& g) { return lower(g) == lower(trim(want)); });
            break;
        case Type::percent:
        case Type::param: ok = true; break;
    }
    if (!ok) why = std::string(f.name) + " " + shown + ", expected " + want;
    return ok;
}

using Rendered = std::vector<std::pair<std::string, std::string>>;

Rendered render_fields(const Intent& intent, const Values& values) {
    Rendered out;
    for (const auto& [name, value] : intent.fields) {
        try {
            out.emplace_back(name, render(value, values));
        } catch (const core::Error& e) {
            throw core::invalid(intent.path + "." + name + ": " + e.what());
        }
    }
    return out;
}

const std::string* find(const Rendered& fields, std::string_view name) {
    for (const auto& [n, v] : fields)
        if (n == name) return &v;
    return nullptr;
}

const IntentParser& parser_of(const Intent& intent, const Platform& platform) {
    auto it = platform.intents.find(intent.kind);
    if (it == platform.intents.end())
        throw core::invalid(intent.path + ": platform " + platform.name + " cannot observe " + intent.kind);
    return it->second;
}

std::string key_text(const Schema& s, const Rendered& fields) {
    std::string out;
    for (const auto& f : s.fields)
        if (f.key)
            if (const auto* v = find(fields, f.name)) out += (out.empty() ? "" : " ") + *v;
    return out;
}

// Records whose key fields equal the stated ones; then the first record matching every stated field wins.
MatchOutcome grade_records(const Schema& s, const Intent& intent, const Rendered& fields,
                           const std::vector<Record>& records) {
    std::string name = std::string(s.noun) + (key_text(s, fields).empty() ? "" : " " + key_text(s, fields));
    std::vector<const Record*> candidates;
    std::vector<std::string> seen;
    for (const auto& r : records) {
        bool same = true;
        std::string why;
        for (const auto& f : s.fields)
            if (const auto* v = find(fields, f.name); f.key && v) same = same && field_matches(f, *v, r, why);
        if (same) candidates.push_back(&r);
        for (const auto& f : s.fields)
            if (f.key && r.has(f.name) && seen.size() < 8 &&
                std::find(seen.begin(), seen.end(), r.get(f.name)) == seen.end())
                seen.push_back(r.get(f.name));
    }
    std::size_t attributes = 0;
    for (const auto& [n, v] : fields)
        if (const auto* f = field_spec(s, n); f && !f->key && f->type != Type::param) ++attributes;
    const Record* best = nullptr;
    std::vector<std::string> best_why;
    for (const auto* r : candidates) {
        std::vector<std::string> why;
        for (const auto& [n, v] : fields) {
            const auto* f = field_spec(s, n);
            std::string w;
            if (f && !f->key && !field_matches(*f, v, *r, w)) why.push_back(w);
        }
        if (!best || why.size() < best_why.size()) best = r, best_why = std::move(why);
        if (best_why.empty()) break;
    }
    auto joined = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& x : v) out += (out.empty() ? "" : "; ") + x;
        return out;
    };
    bool found = best && best_why.empty();
    if (!intent.present) {
        if (found) return {false, 0, "unexpected " + name + ": " + best->text};
        return {true, 1, "no " + name + (fields.size() > 1 ? " as stated" : "") + ", as required"};
    }
    if (found) return {true, 1, name + ": " + best->text};
    if (!best) {
        std::string list;
        for (const auto& x : seen) list += (list.empty() ? "" : ", ") + x;
        return {false, 0, "no " + name + (list.empty() ? " (none shown)" : " (shown: " + list + ")")};
    }
    double fraction = attributes ? static_cast<double>(attributes - best_why.size()) / attributes : 0;
    return {false, fraction, name + ": " + joined(best_why)};
}

MatchOutcome grade_reachability(const Intent& intent, const Rendered& fields, std::string_view output,
                                const Platform& platform) {
    double need = 100;
    if (const auto* s = find(fields, "success"); s && !to_number(*s, need))
        throw core::invalid(intent.path + ".success: '" + *s + "' is not a percentage");
    PingStats st = platform.parse_ping(output);
    std::string name = "ping to " + (find(fields, "target") ? *find(fields, "target") : std::string());
    if (!st.parsed) return {false, 0, name + ": no ping result in the output"};
    std::ostringstream ev;
    ev << name << ": " << st.received << "/" << st.sent << " replies (" << std::lround(st.success_percent())
       << "%)";
    bool ok = st.received > 0 && st.success_percent() + 1e-9 >= need;
    if (!intent.present) return {!ok, ok ? 0.0 : 1.0, ev.str() + (ok ? ", expected none" : "")};
    if (!ok) ev << ", expected at least " << need << "%";
    return {ok, ok ? 1.0 : 0.0, ev.str()};
}

}  // namespace

const std::string* Intent::field(std::string_view name) const {
    for (const auto& [n, v] : fields)
        if (n == name) return &v;
    return nullptr;
}

const std::vector<std::string>& intent_kinds() {
    static const std::vector<std::string> kinds = [] {
        std::vector<std::string> out;
        for (const auto& s : schemas()) out.emplace_back(s.kind);
        return out;
    }();
    return kinds;
}

bool is_intent_kind(std::string_view key) {
    return schema_of(key) != nullptr;
}

bool is_control_plane_intent(std::string_view kind) {
    return kind == "route" || kind == "ospf_neighbor" || kind == "bgp_session";
}

void validate_intent(const Intent& intent, std::vector<Diagnostic>& out) {
    const Schema* s = schema_of(intent.kind);
    auto error = [&](const std::string& field, const std::string& msg) {
        out.push_back({Diagnostic::Severity::error, intent.path + (field.empty() ? "" : "." + field),
                       intent.line, msg});
    };
    if (!s) return error("", "unknown intent '" + intent.kind + "'");
    std::string known;
    for (const auto& f : s->fields) known += std::string(known.empty() ? "" : ", ") + std::string(f.name);
    for (const auto& [name, value] : intent.fields) {
        const FieldSpec* f = field_spec(*s, name);
        if (!f) {
            error(name,
                  "unknown field '" + name + "' of " + intent.kind + " (known: " + known + ", present)");
            continue;
        }
        if (value.find("{{") != std::string::npos) continue;  // checked once rendered
        std::string op;
        double d = 0;
        bool b = false;
        if (f->type == Type::number && !comparison(value, op, d))
            error(name, "'" + value + "' is not a number or a comparison like '>= 1'");
        if (f->type == Type::boolean && !truthy(value, b))
            error(name, "'" + value + "' is not true or false");
        if (f->type == Type::percent && (!to_number(value, d) || d < 0 || d > 100))
            error(name, "'" + value + "' is not a percentage between 0 and 100");
        if (f->type == Type::text && trim(value).empty()) error(name, "is empty");
    }
    if (!s->required.empty() && !intent.field(s->required))
        error(std::string(s->required), "is required for " + intent.kind);
    if (intent.kind == "config" && !intent.field("line") && !intent.field("match") &&
        !intent.field("section"))
        error("", "needs line (a configuration line), match (a regex) or section");
    if (intent.kind == "config" && intent.field("line") && intent.field("match"))
        error("match", "line and match exclude each other");
}

std::vector<std::string> intent_commands(const Intent& intent, const Platform& platform,
                                         const Values& values) {
    const IntentParser& p = parser_of(intent, platform);
    Rendered fields = render_fields(intent, values);
    std::vector<std::string> out;
    for (const auto& tpl : p.commands) {
        std::string cmd;
        for (std::size_t i = 0; i < tpl.size();) {
            auto close = tpl.find('}', i);
            if (tpl[i] != '{' || close == std::string::npos) {
                cmd += tpl[i++];
                continue;
            }
            std::string name = tpl.substr(i + 1, close - i - 1);
            const std::string* v = find(fields, name);
            auto d = p.defaults.find(name);
            if (!v && d == p.defaults.end())
                throw core::invalid(intent.path + ": " + platform.name + " needs '" + name + "' to observe " +
                                    intent.kind);
            std::string value = v ? trim(*v) : d->second;
            bool safe = !value.empty() && value.size() <= 128 &&
                        std::all_of(value.begin(), value.end(), [](unsigned char c) {
                            return std::isalnum(c) || c == '.' || c == ':' || c == '/' || c == '-' ||
                                   c == '_' || c == '@';
                        });
            if (!safe)
                throw core::invalid(intent.path + "." + name + ": '" + value.substr(0, 80) +
                                    "' is not a plain name or address (letters, digits, . : / - _ @)");
            cmd += value;
            i = close + 1;
        }
        out.push_back(std::move(cmd));
    }
    return out;
}

MatchOutcome evaluate_intent(const Intent& intent, std::string_view output, const Values& values,
                             const Platform& platform) {
    const Schema* s = schema_of(intent.kind);
    if (!s) throw core::invalid(intent.path + ": unknown intent '" + intent.kind + "'");
    const IntentParser& p = parser_of(intent, platform);
    Rendered fields = render_fields(intent, values);
    std::vector<Diagnostic> problems;
    Intent rendered = intent;
    rendered.fields = fields;
    validate_intent(rendered, problems);
    if (!problems.empty()) throw core::invalid(problems.front().text());
    if (intent.kind == "reachability") return grade_reachability(intent, fields, output, platform);
    if (intent.kind == "config")
        return grade_config(intent, find(fields, "line"), find(fields, "match"), find(fields, "section"),
                            output, p.style);
    try {
        return grade_records(*s, intent, fields, p.parse(output));
    } catch (const core::Error& e) {
        throw core::invalid(intent.path + ": " + e.what());
    }
}

}  // namespace np::eval
