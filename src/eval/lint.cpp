#include "eval/lint.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/bundle.hpp"
#include "core/error.hpp"
#include "eval/intent.hpp"
#include "eval/matcher.hpp"

namespace np::eval {
namespace {

void collect_names(const Matcher& m, std::set<std::string>& names) {
    for (const auto* t : {&m.pattern, &m.value})
        for (auto& n : referenced_names(*t)) names.insert(n);
    for (const auto& c : m.children) collect_names(c, names);
}

bool has_ping(const Matcher& m) {
    if (m.kind == Matcher::Kind::ping) return true;
    return std::any_of(m.children.begin(), m.children.end(), has_ping);
}

bool pings(const Check& c) {
    return c.intent ? c.intent->kind == "reachability" : has_ping(c.expect);
}

// An intent check: its values render, and the device's platform can observe the intent (which platforms
// can is named when it cannot).
void lint_intent(const Spec& spec, const Check& c, const PlatformRegistry& platforms, const Values& values,
                 std::set<std::string>& used, std::vector<Diagnostic>& out) {
    const Intent& intent = *c.intent;
    auto error = [&](std::string path, std::string msg) {
        out.push_back({Diagnostic::Severity::error, std::move(path), intent.line, std::move(msg)});
    };
    bool rendered = true;
    for (const auto& [name, value] : intent.fields) {
        try {
            render(value, values, &used);
        } catch (const core::Error& e) {
            error(intent.path + "." + name, e.what());
            rendered = false;
        }
    }
    const DeviceSpec* d = spec.device(c.on);
    const Platform* p = d ? platforms.find(d->platform) : nullptr;
    if (!p) return;  // reported with the device
    if (!p->intents.count(intent.kind)) {
        std::string on;
        for (const auto& n : platforms.names())
            if (platforms.find(n)->intents.count(intent.kind)) on += (on.empty() ? "" : ", ") + n;
        error(intent.path, "platform " + p->name + " (device " + c.on + ") cannot observe " + intent.kind +
                               " (supported on: " + (on.empty() ? "none" : on) + ")");
        return;
    }
    if (rendered) try {
            intent_commands(intent, *p, values);
        } catch (const core::Error& e) {
            error(intent.path, e.what());
        }
}

// Commands that change a device rather than observe it: grading runs a check's commands again in every
// settle round and retry, so such a check wants `retry: off`. First words, matched case-insensitively; a
// heuristic for a warning, not a parser of every CLI.
bool changes_device(const std::string& command) {
    static const std::set<std::string> verbs = {"conf",   "configure", "clear", "reload", "write", "copy",
                                                "delete", "erase",     "debug", "commit", "reset"};
    std::istringstream in(command);
    std::string word;
    in >> word;
    std::transform(word.begin(), word.end(), word.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return verbs.count(word) > 0;
}

// Warnings about grading a converging network (spec `grading.settle`, check `retry`).
void lint_settle(const Spec& spec, std::vector<Diagnostic>& out) {
    auto warn = [&](std::string path, int line, std::string msg) {
        out.push_back({Diagnostic::Severity::warning, std::move(path), line, std::move(msg)});
    };
    const SettlePolicy& settle = spec.grading.settle;
    if (settle.enabled && settle.window > std::chrono::minutes(5))
        warn("grading.settle", 0,
             "settles for more than 5 minutes: a wrong lab waits that long for its grade");
    if (settle.enabled && settle.every >= settle.window)
        warn("grading.settle.every", 0, "is not shorter than the settle window: grading runs one round");
    for (const auto& c : spec.checks) {
        bool once = c.once || !settle.enabled;  // graded in one round
        if (once && !c.retry && pings(c))
            warn(c.path + (c.once ? ".retry" : ""), c.line,
                 "pings once (" + std::string(c.once ? "retry: off" : "settle: off") +
                     ") and no retry: it can fail while the network still converges; leave settle on or add "
                     "retry: {for: 30s, every: 2s}");
        if (once && !c.retry && !pings(c))
            for (const auto& r : c.requires_ids)
                if (const Check* k = spec.check(r); k && k->retry) {
                    warn(c.path + ".requires", c.line,
                         "requires '" + r +
                             "', which waits for convergence (retry), but is itself tried once (" +
                             (c.once ? "retry: off" : "settle: off") +
                             "): the network may still be converging when it runs; add retry");
                    break;
                }
        if (!c.once && (settle.enabled || c.retry))
            for (const auto& cmd : c.run)
                if (changes_device(cmd)) {
                    warn(c.path + ".run", c.line,
                         "'" + cmd +
                             "' looks like it changes the device, and grading may run it again (settle "
                             "rounds, retry): add retry: off if it must run once");
                    break;
                }
    }
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

std::size_t LintReport::errors() const {
    return static_cast<std::size_t>(
        std::count_if(diagnostics.begin(), diagnostics.end(),
                      [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; }));
}
std::size_t LintReport::warnings() const {
    return diagnostics.size() - errors();
}

LintReport lint_spec(std::string_view yaml, const PlatformRegistry& platforms,
                     std::optional<std::string> instructions) {
    LintReport report;
    ParseResult parsed = parse_spec(yaml);
    report.diagnostics = parsed.diagnostics;
    const Spec& spec = parsed.spec;
    auto error = [&](std::string path, int line, std::string msg) {
        report.diagnostics.push_back({Diagnostic::Severity::error, std::move(path), line, std::move(msg)});
    };
    auto warn = [&](std::string path, int line, std::string msg) {
        report.diagnostics.push_back({Diagnostic::Severity::warning, std::move(path), line, std::move(msg)});
    };

    // A sample student's values: templates must render and patterns compile for every student, and they
    // have the same shape for all, so one sample finds template and regex errors.
    Values values;
    try {
        values = derive_values(spec.variables, spec.id.empty() ? "lint" : spec.id, "lint-student");
    } catch (const core::Error& e) {
        error("variables", 0, e.what());
    }

    for (const auto& d : spec.devices)
        if (!d.platform.empty() && !platforms.find(d.platform)) {
            std::string known;
            for (auto& n : platforms.names()) known += (known.empty() ? "" : ", ") + n;
            error("devices." + d.name + ".platform", d.line,
                  "unknown platform '" + d.platform + "' (" + known + ")");
        }

    std::set<std::string> used;
    std::map<std::string, int> seen_ids;
    for (const auto& c : spec.checks) {
        if (!c.id.empty()) {
            if (auto [it, fresh] = seen_ids.emplace(c.id, c.line); !fresh)
                error(c.path + ".id", c.line,
                      "duplicate check id '" + c.id + "' (first at line " + std::to_string(it->second) + ")");
        }
        if (!c.on.empty() && !spec.device(c.on))
            error(c.path + ".on", c.line, "no device named '" + c.on + "'");
        for (std::size_t i = 0; i < c.run.size(); ++i) {
            try {
                render(c.run[i], values, &used);
            } catch (const core::Error& e) {
                error(c.path + ".run", c.line, e.what());
            }
        }
        for (const auto* t : {&c.title, &c.feedback_pass, &c.feedback_fail}) {
            try {
                render(*t, values, &used);
            } catch (const core::Error& e) {
                error(c.path + (t == &c.title ? ".title" : ".feedback"), c.line, e.what());
            }
        }
        if (c.intent) {
            lint_intent(spec, c, platforms, values, used, report.diagnostics);
            continue;
        }
        collect_names(c.expect, used);
        compile_matcher(c.expect, values, report.diagnostics);
        if (c.partial && c.expect.kind != Matcher::Kind::all && c.expect.kind != Matcher::Kind::any &&
            c.expect.kind != Matcher::Kind::at_least)
            warn(c.path + ".partial", c.line,
                 "partial needs a combinator (all, any, at_least) at the top of expect");
        if (c.expect.kind == Matcher::Kind::ping && c.retry && c.retry->total > std::chrono::minutes(5))
            warn(c.path + ".retry", c.line, "retries for more than 5 minutes");
    }
    lint_settle(spec, report.diagnostics);
    // requires: ids that exist, and that come earlier (a later one is evaluated too, but reads badly).
    for (const auto& c : spec.checks)
        for (const auto& r : c.requires_ids) {
            if (!spec.check(r))
                warn(c.path + ".requires", c.line, "requires '" + r + "', which is not a check id");
            else if (r == c.id)
                error(c.path + ".requires", c.line, "a check cannot require itself");
        }
    // Cycles in requires.
    for (const auto& c : spec.checks) {
        std::set<std::string> visiting;
        std::vector<std::string> stack{c.id};
        bool cycle = false;
        while (!stack.empty() && !cycle) {
            std::string id = stack.back();
            stack.pop_back();
            if (!visiting.insert(id).second) continue;
            if (const Check* k = spec.check(id))
                for (const auto& r : k->requires_ids) {
                    if (r == c.id && id != c.id) cycle = true;
                    if (r != c.id) stack.push_back(r);
                }
        }
        if (cycle) error(c.path + ".requires", c.line, "requires forms a cycle through '" + c.id + "'");
    }
    if (instructions) {
        try {
            render(*instructions, values, &used);
        } catch (const core::Error& e) {
            error("instructions", 0, e.what());
        }
    }
    for (const auto& v : spec.variables)
        if (!used.count(v.name))
            warn("variables." + v.name, v.line, "variable '" + v.name + "' is never used");
    if (parsed.ok() && spec.checks.empty())
        warn("checks", 0, "the exercise has no checks");
    else if (parsed.ok() && spec.max_score() <= 0)
        warn("checks", 0, "the checks are worth zero points in total");

    std::stable_sort(report.diagnostics.begin(), report.diagnostics.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    return report;
}

LintReport lint_exercise(const std::string& dir, const PlatformRegistry& platforms) {
    namespace fs = std::filesystem;
    fs::path base(dir);
    auto yaml = read_file(base / "exercise.yaml");
    if (!yaml) {
        LintReport r;
        r.diagnostics.push_back(
            {Diagnostic::Severity::error, "", 0, "cannot read " + (base / "exercise.yaml").string()});
        return r;
    }
    ParseResult parsed = parse_spec(*yaml);
    std::optional<std::string> instructions;
    std::vector<Diagnostic> files;
    if (parsed.ok()) {
        const Spec& s = parsed.spec;
        // Every file named by the exercise resolves inside its folder (core::resolve_in_bundle).
        auto in_bundle = [&](const std::string& path, const std::string& name) -> std::optional<fs::path> {
            try {
                return core::resolve_in_bundle(base, name);
            } catch (const core::Error& e) {
                files.push_back({Diagnostic::Severity::error, path, 0, std::string("file ") + e.what()});
                return std::nullopt;
            }
        };
        if (auto file = in_bundle("instructions", s.instructions)) instructions = read_file(*file);
        if (!s.lab_local.empty()) in_bundle("lab.local", s.lab_local);
        if (!s.lab_gns3.empty()) in_bundle("lab.gns3", s.lab_gns3);
        if (s.lab_local.empty() && s.lab_gns3.empty())
            files.push_back(
                {Diagnostic::Severity::warning, "lab", 0, "no lab topology (lab.local or lab.gns3)"});
    }
    LintReport r = lint_spec(*yaml, platforms, instructions);
    r.diagnostics.insert(r.diagnostics.begin(), files.begin(), files.end());
    return r;
}

}  // namespace np::eval
