// Evaluation reports: the JSON of FORMATS.md and a readable text report for `netpraxis grade`.
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "eval/engine.hpp"
#include "eval/report_object.hpp"

namespace np::eval {
namespace {

namespace json = boost::json;

json::value number(double v) {
    if (std::floor(v) == v && std::abs(v) < 1e15) return json::value(static_cast<std::int64_t>(v));
    return json::value(std::round(v * 1000) / 1000);
}

std::string fmt_points(double v) {
    std::ostringstream s;
    s << std::round(v * 100) / 100;
    return s.str();
}

// The id a check is shown under: hidden checks are "hidden-N" (in spec order) in the student view.
std::map<std::string, std::string> shown_ids(const Evaluation& e, bool student_view) {
    std::map<std::string, std::string> ids;
    int hidden_index = 0;
    for (const auto& c : e.checks)
        ids[c.id] = student_view && c.hidden ? "hidden-" + std::to_string(++hidden_index) : c.id;
    return ids;
}

// "Settled after 3.2 s, 2 rounds; waited for: end-to-end", or "" when the first round settled (or settle is
// off).
std::string settle_text(const Evaluation& e, bool student_view) {
    const SettleOutcome& s = e.settle;
    if (!s.enabled || (s.settled && s.rounds <= 1)) return {};
    auto ids = shown_ids(e, student_view);
    auto list = [&](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& id : v) out += (out.empty() ? "" : ", ") + (ids.count(id) ? ids[id] : id);
        return out;
    };
    std::ostringstream out;
    if (s.settled)
        out << "Settled after " << s.elapsed.count() / 1000.0 << " s, " << s.rounds
            << " rounds; waited for: " << list(s.waited_for);
    else
        out << "Not settled within " << s.window.count() / 1000.0 << " s (" << s.rounds
            << (s.rounds == 1 ? " round" : " rounds") << "); still failing: " << list(s.failing);
    return out.str();
}

}  // namespace

json::object report_object(const Evaluation& e, bool student_view, bool with_transcript) {
    json::object root;
    root["exercise"] = e.exercise;
    root["student"] = e.student;
    root["score"] = number(e.score);
    root["max_score"] = number(e.max_score);
    root["duration_ms"] = e.duration.count();
    auto ids = shown_ids(e, student_view);
    {
        const SettleOutcome& s = e.settle;
        auto list = [&](const std::vector<std::string>& v) {
            json::array a;
            for (const auto& id : v) a.push_back(json::value(ids.count(id) ? ids[id] : id));
            return a;
        };
        root["settle"] = json::object{{"enabled", s.enabled},
                                      {"window_ms", s.window.count()},
                                      {"rounds", s.rounds},
                                      {"settled", s.settled},
                                      {"elapsed_ms", s.elapsed.count()},
                                      {"waited_for", list(s.waited_for)},
                                      {"failing", list(s.failing)}};
    }
    json::array checks;
    // Student view: a hidden check shows only that it exists and its points; its commands leave the
    // transcript unless a visible check ran the same command.
    std::set<std::pair<std::string, std::string>> visible_commands, hidden_commands;
    for (const auto& c : e.checks)
        for (const auto& cmd : c.commands)
            (c.hidden ? hidden_commands : visible_commands).insert({c.device, cmd});
    for (const auto& c : e.checks) {
        json::object o;
        bool conceal = student_view && c.hidden;
        o["id"] = ids[c.id];
        o["title"] = conceal ? "Hidden check" : c.title;
        o["status"] = std::string(status_name(c.status));
        o["points"] = number(c.points);
        o["max_points"] = number(c.max_points);
        o["feedback"] = conceal ? "" : c.feedback;
        o["evidence"] = conceal ? "" : c.evidence;
        o["hidden"] = c.hidden;
        if (!conceal) {
            o["device"] = c.device;
            o["attempts"] = c.attempts;
            o["waited_ms"] = c.waited.count();
            o["checking_ms"] = c.checking.count();
        }
        checks.push_back(std::move(o));
    }
    root["checks"] = std::move(checks);
    json::object devices;
    for (const auto& [d, why] : e.device_errors) devices[d] = why;
    root["device_errors"] = std::move(devices);
    if (with_transcript) {
        json::array t;
        for (const auto& x : e.transcript) {
            if (student_view && hidden_commands.count({x.device, x.command}) &&
                !visible_commands.count({x.device, x.command}))
                continue;
            json::object o;
            o["device"] = x.device;
            o["command"] = x.command;
            o["round"] = x.round;
            o["output"] = x.output;
            if (!x.error.empty()) o["error"] = x.error;
            o["started_ms"] = x.started_ms;
            o["duration_ms"] = x.duration_ms;
            t.push_back(std::move(o));
        }
        root["transcript"] = std::move(t);
    }
    return root;
}

std::string report_json(const Evaluation& e, bool student_view, bool with_transcript) {
    return json::serialize(report_object(e, student_view, with_transcript));
}

std::string report_text(const Evaluation& e, bool student_view, bool color) {
    std::ostringstream out;
    auto paint = [&](const char* code, const std::string& s) {
        return color ? std::string("\x1b[") + code + "m" + s + "\x1b[0m" : s;
    };
    out << "Exercise " << e.exercise << ", student " << e.student << "\n\n";
    for (const auto& c : e.checks) {
        bool conceal = student_view && c.hidden;
        std::string mark = c.status == CheckStatus::passed    ? paint("32", "PASS")
                           : c.status == CheckStatus::failed  ? paint("31", "FAIL")
                           : c.status == CheckStatus::skipped ? paint("33", "SKIP")
                                                              : paint("35", "ERR ");
        out << "[" << mark << "] " << fmt_points(c.points) << "/" << fmt_points(c.max_points) << "  "
            << (conceal           ? "Hidden check"
                : c.title.empty() ? c.id
                                  : c.title)
            << (conceal ? "" : "  (" + c.id + ")") << "\n";
        if (conceal) continue;
        if (!c.feedback.empty()) out << "       " << c.feedback << "\n";
        if (!c.evidence.empty() && c.status != CheckStatus::passed)
            out << "       evidence: " << c.evidence << "\n";
        if (c.waited.count() > 0)  // its own retries (settle rounds are summed up below)
            out << "       " << c.attempts << " attempts, waited " << c.waited.count() / 1000.0
                << " s, checking " << c.checking.count() / 1000.0 << " s\n";
    }
    if (auto settle = settle_text(e, student_view); !settle.empty()) out << "\n" << settle << "\n";
    for (const auto& [d, why] : e.device_errors) out << "\n" << paint("35", "device " + d) << ": " << why;
    if (!e.device_errors.empty()) out << "\n";
    out << "\nScore: " << fmt_points(e.score) << " / " << fmt_points(e.max_score) << "  ("
        << e.duration.count() / 1000.0 << " s)\n";
    return out.str();
}

}  // namespace np::eval
