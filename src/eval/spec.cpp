#include "eval/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "core/bundle.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/yaml.hpp"
#include "eval/spec_intent.hpp"

namespace np::eval {
namespace {

// Compiles the regex of every matcher whose pattern is not a template, once per parsed spec (a template
// depends on the student: it is rendered and compiled per evaluation). A bad pattern stays uncompiled: the
// linter reports it, and evaluating it reports the same error.
void precompile(Matcher& m) {
    bool regex = m.kind == Matcher::Kind::match || m.kind == Matcher::Kind::section ||
                 m.kind == Matcher::Kind::count || m.kind == Matcher::Kind::number;
    if (regex && m.pattern.find("{{") == std::string::npos) {
        try {
            m.compiled = Regex::compile(m.pattern, Regex::Lines::multi);
        } catch (const core::Error&) {
            m.compiled = Regex();
        }
    }
    for (auto& c : m.children) precompile(c);
}

int line_of(const YAML::Node& n) {
    return n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
}

// Thrown by the parser once it has reported a crossed SpecLimits bound: parsing stops there.
struct OverLimit {};

// Walks the YAML tree, collecting diagnostics; helpers return false/empty on a problem they reported.
class Parser {
 public:
    explicit Parser(const SpecLimits& limits) : limits_(limits) {}
    std::vector<Diagnostic> diags;

    [[noreturn]] void over_limit(const std::string& path, const YAML::Node& n, const std::string& msg) {
        error(path, n, msg);
        throw OverLimit{};
    }

    void error(const std::string& path, const YAML::Node& n, std::string msg) {
        diags.push_back({Diagnostic::Severity::error, path, n ? line_of(n) : 0, std::move(msg)});
    }
    void error_at(const std::string& path, int line, std::string msg) {
        diags.push_back({Diagnostic::Severity::error, path, line, std::move(msg)});
    }

    bool scalar(const YAML::Node& n, const std::string& path, std::string& out) {
        if (!n.IsScalar()) {
            error(path, n, "must be a text value");
            return false;
        }
        out = n.Scalar();
        return true;
    }
    bool integer(const YAML::Node& n, const std::string& path, std::int64_t& out) {
        try {
            if (n.IsScalar()) {
                out = n.as<std::int64_t>();
                return true;
            }
        } catch (const YAML::Exception&) {
        }
        error(path, n, "must be an integer");
        return false;
    }
    bool number(const YAML::Node& n, const std::string& path, double& out) {
        try {
            if (n.IsScalar()) {
                out = n.as<double>();
                return true;
            }
        } catch (const YAML::Exception&) {
        }
        error(path, n, "must be a number");
        return false;
    }
    bool boolean(const YAML::Node& n, const std::string& path, bool& out) {
        try {
            if (n.IsScalar()) {
                out = n.as<bool>();
                return true;
            }
        } catch (const YAML::Exception&) {
        }
        error(path, n, "must be true or false");
        return false;
    }
    bool duration(const YAML::Node& n, const std::string& path, std::chrono::milliseconds& out) {
        if (!n.IsScalar()) {
            error(path, n, "must be a duration like 30s, 500ms or 2m");
            return false;
        }
        try {
            out = core::parse_duration(n.Scalar(), path);
            return true;
        } catch (const core::Error& e) {
            error(path, n, e.what());
            return false;
        }
    }
    void unknown_keys(const YAML::Node& map, const std::string& path,
                      std::initializer_list<std::string_view> known) {
        for (const auto& kv : map) {
            std::string key = kv.first.Scalar();
            bool ok = false;
            for (auto k : known) ok = ok || k == key;
            if (!ok) {
                std::string list;
                for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
                error(path.empty() ? key : path + "." + key, kv.first,
                      "unknown key '" + key + "' (known: " + list + ")");
            }
        }
    }

    void variables(const YAML::Node& node, Spec& spec) {
        if (!node) return;
        if (!node.IsMap()) return error("variables", node, "must be a map of name: definition");
        for (const auto& kv : node) {
            VariableDef d;
            d.name = kv.first.Scalar();
            d.line = line_of(kv.first);
            std::string path = "variables." + d.name;
            const YAML::Node& def = kv.second;
            if (d.name == "student" || d.name == "exercise") {
                error(path, kv.first, "'" + d.name + "' is a built-in name");
                continue;
            }
            if (!def.IsMap() || def.size() != 1) {
                error(path, def,
                      "must be one of {int: {min, max}}, {choice: [...]}, {subnet: {within, prefix}}, "
                      "{pattern: \"...\"}");
                continue;
            }
            std::string kind = def.begin()->first.Scalar();
            YAML::Node v = def.begin()->second;  // a copy: the iterator yields a temporary pair
            std::string vpath = path + "." + kind;
            if (kind == "int") {
                d.kind = VariableDef::Kind::integer;
                if (!v.IsMap() || !v["min"] || !v["max"]) {
                    error(vpath, v, "needs min and max");
                    continue;
                }
                if (!integer(v["min"], vpath + ".min", d.min) || !integer(v["max"], vpath + ".max", d.max))
                    continue;
                if (d.min > d.max) {
                    error(vpath, v, "min is greater than max");
                    continue;
                }
            } else if (kind == "choice") {
                d.kind = VariableDef::Kind::choice;
                if (!v.IsSequence() || v.size() == 0) {
                    error(vpath, v, "must be a non-empty list");
                    continue;
                }
                bool ok = true;
                for (std::size_t i = 0; i < v.size(); ++i) {
                    std::string s;
                    ok = scalar(v[i], vpath + "[" + std::to_string(i) + "]", s) && ok;
                    d.choices.push_back(s);
                }
                if (!ok) continue;
            } else if (kind == "subnet") {
                d.kind = VariableDef::Kind::subnet;
                std::string within;
                if (!v.IsMap() || !v["within"]) {
                    error(vpath, v, "needs within (a parent subnet like 10.0.0.0/8) and prefix");
                    continue;
                }
                if (!scalar(v["within"], vpath + ".within", within)) continue;
                try {
                    d.within = Subnet::parse(within);
                } catch (const core::Error& e) {
                    error(vpath + ".within", v["within"], e.what());
                    continue;
                }
                std::int64_t prefix = 24;
                if (v["prefix"] && !integer(v["prefix"], vpath + ".prefix", prefix)) continue;
                if (prefix < d.within.prefix || prefix > 30 || prefix - d.within.prefix > 24) {
                    error(vpath + ".prefix", v["prefix"] ? v["prefix"] : v,
                          "prefix must lie between the parent's /" + std::to_string(d.within.prefix) +
                              " and /30 (and at most 24 bits longer)");
                    continue;
                }
                d.prefix = static_cast<int>(prefix);
            } else if (kind == "pattern") {
                d.kind = VariableDef::Kind::pattern;
                if (!scalar(v, vpath, d.pattern)) continue;
            } else {
                error(path, def.begin()->first,
                      "unknown variable kind '" + kind + "' (int, choice, subnet, pattern)");
                continue;
            }
            spec.variables.push_back(std::move(d));
        }
    }

    void devices(const YAML::Node& node, Spec& spec) {
        if (!node) return error_at("devices", 0, "is required: the devices checks run on");
        if (!node.IsMap()) return error("devices", node, "must be a map of name: {platform: ...}");
        for (const auto& kv : node) {
            DeviceSpec d;
            d.name = kv.first.Scalar();
            d.line = line_of(kv.first);
            std::string path = "devices." + d.name;
            if (kv.second.IsMap() && kv.second["platform"]) {
                scalar(kv.second["platform"], path + ".platform", d.platform);
            } else if (kv.second.IsScalar()) {
                d.platform = kv.second.Scalar();
            } else {
                error(path, kv.second, "needs a platform ({platform: frr})");
            }
            spec.devices.push_back(std::move(d));
        }
    }

    bool matcher(const YAML::Node& node, const std::string& path, Matcher& m, int depth = 1) {
        m.path = path;
        m.line = line_of(node);
        if (++matchers_ > limits_.max_matchers)
            over_limit(path, node,
                       "the spec has more than " + std::to_string(limits_.max_matchers) + " matchers");
        if (++check_matchers_ > limits_.max_matchers_per_check)
            over_limit(
                path, node,
                "the check has more than " + std::to_string(limits_.max_matchers_per_check) + " matchers");
        if (depth > limits_.max_matcher_depth)
            over_limit(path, node,
                       "matchers nest deeper than " + std::to_string(limits_.max_matcher_depth) + " levels");
        if (!node.IsMap() || node.size() != 1) {
            error(path, node,
                  "must be a map with one matcher: match, contains, line, ping, section, count, number, all, "
                  "any, "
                  "not, at_least");
            return false;
        }
        std::string kind = node.begin()->first.Scalar();
        YAML::Node v = node.begin()->second;  // a copy: the iterator yields a temporary pair
        std::string sub = path + "." + kind;
        m.path = sub;
        m.line = line_of(node.begin()->first);
        if (kind == "match" || kind == "contains" || kind == "line") {
            m.kind = kind == "match"      ? Matcher::Kind::match
                     : kind == "contains" ? Matcher::Kind::contains
                                          : Matcher::Kind::line;
            return scalar(v, sub, m.pattern);
        }
        if (kind == "ping") {
            m.kind = Matcher::Kind::ping;
            if (v.IsMap()) {
                unknown_keys(v, sub, {"min_success"});
                if (v["min_success"] && !number(v["min_success"], sub + ".min_success", m.min_success))
                    return false;
            } else if (!(v.IsScalar() && v.Scalar() == "true")) {
                error(sub, v, "must be {min_success: PERCENT}");
                return false;
            }
            if (m.min_success < 0 || m.min_success > 100) {
                error(sub + ".min_success", v, "must be a percentage between 0 and 100");
                return false;
            }
            return true;
        }
        if (kind == "section") {
            m.kind = Matcher::Kind::section;
            if (!v.IsMap() || !v["parent"]) {
                error(sub, v, "needs parent (a regex) and optionally children (a matcher)");
                return false;
            }
            unknown_keys(v, sub, {"parent", "children"});
            bool ok = scalar(v["parent"], sub + ".parent", m.pattern);
            if (v["children"]) {
                m.children.emplace_back();
                ok = matcher(v["children"], sub + ".children", m.children.back(), depth + 1) && ok;
            }
            return ok;
        }
        if (kind == "count") {
            m.kind = Matcher::Kind::count;
            if (!v.IsMap() || !v["pattern"]) {
                error(sub, v, "needs pattern and min and/or max");
                return false;
            }
            unknown_keys(v, sub, {"pattern", "min", "max"});
            bool ok = scalar(v["pattern"], sub + ".pattern", m.pattern);
            std::int64_t x = 0;
            if (v["min"]) ok = integer(v["min"], sub + ".min", x) && ok, m.min = x;
            if (v["max"]) ok = integer(v["max"], sub + ".max", x) && ok, m.max = x;
            if (!m.min && !m.max) m.min = 1;
            return ok;
        }
        if (kind == "number") {
            m.kind = Matcher::Kind::number;
            if (!v.IsMap() || !v["pattern"] || !v["value"]) {
                error(sub, v, "needs pattern (a regex with one group), op and value");
                return false;
            }
            unknown_keys(v, sub, {"pattern", "op", "value"});
            bool ok = scalar(v["pattern"], sub + ".pattern", m.pattern) &&
                      scalar(v["value"], sub + ".value", m.value);
            if (v["op"]) ok = scalar(v["op"], sub + ".op", m.op) && ok;
            if (m.op != "<" && m.op != "<=" && m.op != "==" && m.op != "!=" && m.op != ">=" && m.op != ">") {
                error(sub + ".op", v["op"], "unknown comparison '" + m.op + "' (<, <=, ==, !=, >=, >)");
                ok = false;
            }
            return ok;
        }
        if (kind == "all" || kind == "any") {
            m.kind = kind == "all" ? Matcher::Kind::all : Matcher::Kind::any;
            return list(v, sub, m, depth);
        }
        if (kind == "not") {
            m.kind = Matcher::Kind::negate;
            m.children.emplace_back();
            return matcher(v, sub, m.children.back(), depth + 1);
        }
        if (kind == "at_least") {
            m.kind = Matcher::Kind::at_least;
            if (!v.IsMap() || !v["n"] || !v["of"]) {
                error(sub, v, "needs n and of (a list of matchers)");
                return false;
            }
            unknown_keys(v, sub, {"n", "of"});
            bool ok = integer(v["n"], sub + ".n", m.n);
            ok = list(v["of"], sub + ".of", m, depth) && ok;
            if (ok && (m.n < 1 || m.n > static_cast<std::int64_t>(m.children.size()))) {
                error(sub + ".n", v["n"], "must be between 1 and the number of matchers in 'of'");
                ok = false;
            }
            return ok;
        }
        error(path, node.begin()->first,
              "unknown matcher '" + kind +
                  "' (match, contains, line, ping, section, count, number, all, any, not, at_least)");
        return false;
    }

    // An intent key (interface, route, ...) instead of run/expect: true when the check states one.
    bool intent(const YAML::Node& node, const std::string& path, Check& c) {
        std::vector<std::string> kinds;
        for (const auto& k : intent_kinds())
            if (node[k]) kinds.push_back(k);
        if (kinds.empty()) return false;
        if (kinds.size() > 1)
            error(path + "." + kinds[1], node[kinds[1]],
                  "a check states one intent (also has " + kinds[0] + ")");
        for (const char* k : {"run", "expect"})
            if (node[k])
                error(path + "." + k, node[k],
                      "an intent check (" + kinds[0] + ") has no " + k +
                          ": the platform says how to observe it");
        c.intent.emplace();
        parse_intent_node(node[kinds[0]], kinds[0], path + "." + kinds[0], *c.intent, diags);
        return true;
    }

    // The matchers of an all/any/at_least at nesting `depth`: theirs is depth + 1.
    bool list(const YAML::Node& v, const std::string& path, Matcher& m, int depth) {
        if (!v.IsSequence() || v.size() == 0) {
            error(path, v, "must be a non-empty list of matchers");
            return false;
        }
        bool ok = true;
        for (std::size_t i = 0; i < v.size(); ++i) {
            m.children.emplace_back();
            ok = matcher(v[i], path + "[" + std::to_string(i) + "]", m.children.back(), depth + 1) && ok;
        }
        return ok;
    }

    void check(const YAML::Node& node, const std::string& path, Spec& spec) {
        check_matchers_ = 0;
        Check c;
        c.path = path;
        c.line = line_of(node);
        if (!node.IsMap()) return error(path, node, "must be a map (id, on, run, expect, points, ...)");
        unknown_keys(node, path,
                     {"id", "title", "on", "run", "expect", "points", "partial", "hidden", "requires",
                      "retry", "timeout", "feedback", "interface", "route", "ospf_neighbor", "bgp_session",
                      "vlan", "reachability", "config"});
        if (!node["id"])
            error(path + ".id", node, "is required");
        else
            scalar(node["id"], path + ".id", c.id);
        if (node["title"]) scalar(node["title"], path + ".title", c.title);
        if (!node["on"])
            error(path + ".on", node, "is required: the device to run on");
        else
            scalar(node["on"], path + ".on", c.on);
        const YAML::Node& run = node["run"];
        if (intent(node, path, c)) {
            // an intent check: its commands and expectation come from the intent
        } else if (!run) {
            error(path + ".run", node,
                  "is required: a command or a list of commands (or state an intent: interface, route, ...)");
        } else if (run.IsScalar()) {
            c.run.push_back(run.Scalar());
        } else if (run.IsSequence() && run.size() > 0) {
            for (std::size_t i = 0; i < run.size(); ++i) {
                std::string s;
                if (scalar(run[i], path + ".run[" + std::to_string(i) + "]", s)) c.run.push_back(s);
            }
        } else {
            error(path + ".run", run, "must be a command or a non-empty list of commands");
        }
        for (auto& cmd : c.run)
            if (cmd.find_first_not_of(" \t") == std::string::npos)
                error(path + ".run", run, "a command is empty");
        if (!c.intent && !node["expect"])
            error(path + ".expect", node,
                  "is required: a matcher (or state an intent: interface, route, ...)");
        else if (!c.intent)
            matcher(node["expect"], path + ".expect", c.expect);
        if (node["points"]) number(node["points"], path + ".points", c.points);
        if (c.points < 0) error(path + ".points", node["points"], "must not be negative");
        if (node["partial"]) boolean(node["partial"], path + ".partial", c.partial);
        if (node["hidden"]) boolean(node["hidden"], path + ".hidden", c.hidden);
        if (const auto& req = node["requires"]) {
            if (req.IsScalar()) {
                c.requires_ids.push_back(req.Scalar());
            } else if (req.IsSequence()) {
                for (std::size_t i = 0; i < req.size(); ++i) {
                    std::string s;
                    if (scalar(req[i], path + ".requires[" + std::to_string(i) + "]", s))
                        c.requires_ids.push_back(s);
                }
            } else {
                error(path + ".requires", req, "must be a check id or a list of check ids");
            }
        }
        if (const auto& r = node["retry"]) {
            RetryPolicy p;
            if (off(r)) {
                c.once = true;
            } else if (!r.IsMap() || !r["for"]) {
                error(path + ".retry", r, "must be {for: DURATION, every: DURATION} or off");
            } else {
                unknown_keys(r, path + ".retry", {"for", "every"});
                bool ok = duration(r["for"], path + ".retry.for", p.total);
                if (r["every"]) ok = duration(r["every"], path + ".retry.every", p.every) && ok;
                if (ok && p.every.count() <= 0)
                    error(path + ".retry.every", r["every"], "must be positive");
                else if (ok)
                    c.retry = p;
            }
        }
        if (const auto& t = node["timeout"]) {
            std::chrono::milliseconds d{};
            if (duration(t, path + ".timeout", d)) c.timeout = d;
        }
        if (const auto& f = node["feedback"]) {
            if (f.IsScalar()) {
                c.feedback_fail = f.Scalar();
            } else if (f.IsMap()) {
                unknown_keys(f, path + ".feedback", {"pass", "fail"});
                if (f["pass"]) scalar(f["pass"], path + ".feedback.pass", c.feedback_pass);
                if (f["fail"]) scalar(f["fail"], path + ".feedback.fail", c.feedback_fail);
            } else {
                error(path + ".feedback", f, "must be text or {pass: ..., fail: ...}");
            }
        }
        spec.checks.push_back(std::move(c));
    }

    void checks(const YAML::Node& checks, Spec& spec) {
        if (checks.size() > limits_.max_checks)
            over_limit("checks", checks,
                       "the spec has more than " + std::to_string(limits_.max_checks) + " checks");
        for (std::size_t i = 0; i < checks.size(); ++i)
            check(checks[i], "checks[" + std::to_string(i) + "]", spec);
    }

    // `off` or `false` (YAML 1.1 reads both as a boolean).
    static bool off(const YAML::Node& n) {
        return n.IsScalar() && (n.Scalar() == "off" || n.Scalar() == "false");
    }

    // settle: off | DURATION | {for: DURATION, every: DURATION}
    void settle(const YAML::Node& n, SettlePolicy& s) {
        const std::string path = "grading.settle";
        if (off(n)) {
            s.enabled = false;
            return;
        }
        bool ok = true;
        if (n.IsScalar()) {
            ok = duration(n, path, s.window);
        } else if (n.IsMap()) {
            unknown_keys(n, path, {"for", "every"});
            if (n["for"]) ok = duration(n["for"], path + ".for", s.window);
            if (n["every"]) ok = duration(n["every"], path + ".every", s.every) && ok;
        } else {
            return error(path, n, "must be off, a duration like 20s, or {for: DURATION, every: DURATION}");
        }
        if (ok && s.window.count() <= 0)
            error(path, n, "must be a positive duration (settle: off grades in one round)");
        if (ok && s.every.count() <= 0)
            error(path + ".every", n["every"] ? n["every"] : n, "must be positive");
    }

    void grading(const YAML::Node& g, Spec& spec) {
        if (!g) return;
        if (!g.IsMap())
            return error("grading", g, "must be a map (attempts, cooldown, deadline, score, settle)");
        unknown_keys(g, "grading", {"attempts", "cooldown", "deadline", "score", "settle"});
        if (g["settle"]) settle(g["settle"], spec.grading.settle);
        if (g["attempts"]) integer(g["attempts"], "grading.attempts", spec.grading.attempts);
        if (g["cooldown"]) duration(g["cooldown"], "grading.cooldown", spec.grading.cooldown);
        if (g["deadline"] && !g["deadline"].IsNull())
            scalar(g["deadline"], "grading.deadline", spec.grading.deadline);
        if (g["score"]) {
            scalar(g["score"], "grading.score", spec.grading.score);
            if (spec.grading.score != "last" && spec.grading.score != "best" &&
                spec.grading.score != "average")
                error("grading.score", g["score"], "must be last, best or average");
        }
    }

 private:
    const SpecLimits& limits_;
    std::size_t matchers_ = 0;        // in the whole spec so far
    std::size_t check_matchers_ = 0;  // in the check being parsed
};

}  // namespace

std::string Diagnostic::text() const {
    std::string out = line > 0 ? "line " + std::to_string(line) + ": " : "";
    return out + (path.empty() ? "" : path + ": ") + message;
}

std::string_view kind_name(Matcher::Kind kind) {
    switch (kind) {
        case Matcher::Kind::match: return "match";
        case Matcher::Kind::contains: return "contains";
        case Matcher::Kind::line: return "line";
        case Matcher::Kind::ping: return "ping";
        case Matcher::Kind::section: return "section";
        case Matcher::Kind::count: return "count";
        case Matcher::Kind::number: return "number";
        case Matcher::Kind::all: return "all";
        case Matcher::Kind::any: return "any";
        case Matcher::Kind::negate: return "not";
        case Matcher::Kind::at_least: return "at_least";
    }
    return "?";
}

const DeviceSpec* Spec::device(std::string_view name) const {
    for (const auto& d : devices)
        if (d.name == name) return &d;
    return nullptr;
}
const Check* Spec::check(std::string_view check_id) const {
    for (const auto& c : checks)
        if (c.id == check_id) return &c;
    return nullptr;
}
double Spec::max_score() const {
    double total = 0;
    for (const auto& c : checks) total += c.points;
    return total;
}

bool ParseResult::ok() const {
    for (const auto& d : diagnostics)
        if (d.severity == Diagnostic::Severity::error) return false;
    return true;
}

ParseResult parse_spec(std::string_view yaml, const SpecLimits& limits) {
    ParseResult result;
    Parser p(limits);
    YAML::Node root;
    try {
        root = core::load_yaml(yaml, "spec");
    } catch (const core::YamlLimitError& e) {
        result.diagnostics.push_back({Diagnostic::Severity::error, "", e.line(), e.reason()});
        return result;
    } catch (const YAML::Exception& e) {
        result.diagnostics.push_back(
            {Diagnostic::Severity::error, "", e.mark.line >= 0 ? e.mark.line + 1 : 0, "bad YAML: " + e.msg});
        return result;
    }
    if (!root.IsMap()) {
        result.diagnostics.push_back({Diagnostic::Severity::error, "", 1, "an exercise must be a YAML map"});
        return result;
    }
    Spec& spec = result.spec;
    try {
        p.unknown_keys(
            root, "",
            {"id", "title", "version", "instructions", "lab", "variables", "devices", "checks", "grading"});
        if (!root["id"])
            p.error_at("id", 1, "is required (a slug such as ospf-two-lans)");
        else
            p.scalar(root["id"], "id", spec.id);
        if (root["title"]) p.scalar(root["title"], "title", spec.title);
        if (root["version"] && p.integer(root["version"], "version", spec.version) &&
            (spec.version < 1 || spec.version > 2147483647))
            p.error("version", root["version"], "must be an integer from 1 to 2147483647");
        // Files of the exercise's folder: relative names that stay inside it (core/bundle.hpp).
        auto bundle_name = [&](const YAML::Node& n, const std::string& path, std::string& out) {
            if (!p.scalar(n, path, out)) return;
            if (auto problem = core::bundle_name_problem(out); !problem.empty())
                p.error(path, n, "'" + out.substr(0, 80) + "' " + problem);
        };
        spec.instructions = "instructions.md";
        if (root["instructions"]) bundle_name(root["instructions"], "instructions", spec.instructions);
        if (const auto& lab = root["lab"]) {
            if (!lab.IsMap()) {
                p.error("lab", lab, "must be {local: topology.yaml, gns3: project.gns3project}");
            } else {
                p.unknown_keys(lab, "lab", {"local", "gns3"});
                if (lab["local"]) bundle_name(lab["local"], "lab.local", spec.lab_local);
                if (lab["gns3"]) bundle_name(lab["gns3"], "lab.gns3", spec.lab_gns3);
            }
        }
        p.variables(root["variables"], spec);
        p.devices(root["devices"], spec);
        const auto& checks = root["checks"];
        if (!checks)
            p.error_at("checks", 0, "is required: a list of checks");
        else if (!checks.IsSequence())
            p.error("checks", checks, "must be a list of checks");
        else
            p.checks(checks, spec);
        p.grading(root["grading"], spec);
    } catch (const OverLimit&) {
        // reported where it was crossed
    } catch (const YAML::Exception& e) {
        p.error_at("", e.mark.line + 1, std::string("unexpected structure: ") + e.what());
    }
    for (auto& c : spec.checks) precompile(c.expect);
    order_data_plane(spec);
    result.diagnostics = std::move(p.diags);
    return result;
}

Spec load_spec(const std::string& dir) {
    std::string file = dir + "/exercise.yaml";
    std::ifstream in(file);
    if (!in) throw core::not_found("cannot read " + file);
    std::stringstream ss;
    ss << in.rdbuf();
    ParseResult r = parse_spec(ss.str());
    if (!r.ok()) {
        std::vector<core::FieldError> fields;
        for (const auto& d : r.diagnostics)
            if (d.severity == Diagnostic::Severity::error) fields.push_back({d.path, d.text()});
        const auto count = fields.size();  // before the move: argument order is unspecified
        throw core::invalid(file + " has " + std::to_string(count) + " error(s)", std::move(fields));
    }
    return std::move(r.spec);
}

}  // namespace np::eval
