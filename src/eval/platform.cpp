#include "eval/platform.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/yaml.hpp"

namespace np::eval {
namespace {

// platforms.yaml, embedded at configure time (see CMakeLists.txt).
constexpr std::string_view kBuiltinYaml =
#include "platforms_embedded.inc"
    ;
constexpr std::string_view kBuiltinIntentsYaml =
#include "intents_embedded.inc"
    ;

Regex compile(const std::string& pattern, const std::string& what,
              Regex::Lines lines = Regex::Lines::single) {
    try {
        return Regex::compile(pattern, lines);
    } catch (const core::Error& e) {
        throw core::invalid(what + ": " + e.what());
    }
}

std::string text_of(const YAML::Node& n, const std::string& where) {
    if (!n.IsScalar()) throw core::invalid(where + ": must be a text value");
    return n.Scalar();
}

std::map<std::string, std::string, std::less<>> text_map(const YAML::Node& n, const std::string& where) {
    if (!n.IsMap()) throw core::invalid(where + ": must be a map of field: value");
    std::map<std::string, std::string, std::less<>> out;
    for (const auto& kv : n) out[kv.first.Scalar()] = text_of(kv.second, where + "." + kv.first.Scalar());
    return out;
}

// `intents: {NAME: {command, record | start + fields, split, map, set, defaults, style}}`: each named intent
// replaces the platform's parser of that intent as a whole.
void apply_intents(Platform& p, const YAML::Node& n, const std::string& where) {
    if (!n.IsMap()) throw core::invalid(where + ".intents: must be a map of intent: parser");
    for (const auto& kv : n) {
        std::string name = kv.first.Scalar();
        std::string at = where + ".intents." + name;
        const YAML::Node& d = kv.second;
        if (!d.IsMap()) throw core::invalid(at + ": must be a map (command, record or start, ...)");
        IntentParser ip;
        for (const auto& f : d) {
            std::string key = f.first.Scalar();
            std::string fat = at + "." + key;
            if (key == "command") {
                ip.commands.clear();
                if (f.second.IsScalar())
                    ip.commands.push_back(f.second.Scalar());
                else if (f.second.IsSequence())
                    for (const auto& c : f.second) ip.commands.push_back(text_of(c, fat));
                else
                    throw core::invalid(fat + ": must be a command or a list of commands");
            } else if (key == "record") {
                ip.record = text_of(f.second, fat);
            } else if (key == "start") {
                ip.start = text_of(f.second, fat);
            } else if (key == "fields") {
                if (!f.second.IsSequence()) throw core::invalid(fat + ": must be a list of regexes");
                for (const auto& x : f.second) ip.fields.push_back(text_of(x, fat));
            } else if (key == "split") {
                ip.split = text_map(f.second, fat);
            } else if (key == "map") {
                if (!f.second.IsMap()) throw core::invalid(fat + ": must be a map of field: {from: to}");
                for (const auto& m : f.second) {
                    auto values = text_map(m.second, fat + "." + m.first.Scalar());
                    ip.map[m.first.Scalar()] = {values.begin(), values.end()};
                }
            } else if (key == "set") {
                ip.set = text_map(f.second, fat);
            } else if (key == "defaults") {
                ip.defaults = text_map(f.second, fat);
            } else if (key == "context") {
                if (!f.second.IsSequence()) throw core::invalid(fat + ": must be a list of regexes");
                for (const auto& x : f.second) ip.context.push_back(text_of(x, fat));
            } else if (key == "join") {
                if (!f.second.IsMap()) throw core::invalid(fat + ": must be a map of field: [fields]");
                for (const auto& j : f.second) {
                    auto& parts = ip.join[j.first.Scalar()];
                    if (!j.second.IsSequence())
                        throw core::invalid(fat + "." + j.first.Scalar() + ": must be a list");
                    for (const auto& x : j.second) parts.push_back(text_of(x, fat));
                }
            } else if (key == "filldown") {
                if (!f.second.IsSequence()) throw core::invalid(fat + ": must be a list of fields");
                for (const auto& x : f.second) ip.filldown.push_back(text_of(x, fat));
            } else if (key == "merge") {
                ip.merge = text_of(f.second, fat);
            } else if (key == "style") {
                ip.style = text_of(f.second, fat);
            } else {
                throw core::invalid(fat +
                                    ": unknown key (command, record, start, fields, split, map, set, "
                                    "context, join, filldown, merge, defaults, style)");
            }
        }
        if (ip.commands.empty()) throw core::invalid(at + ": needs command");
        ip.compile(at);
        p.intents[name] = std::move(ip);
    }
}

std::vector<std::string> string_list(const YAML::Node& n) {
    std::vector<std::string> out;
    if (n.IsScalar())
        out.push_back(n.Scalar());
    else
        for (const auto& x : n) out.push_back(x.Scalar());
    return out;
}

void apply(Platform& p, const YAML::Node& n, const std::string& where) {
    auto str = [&](const char* key, std::string& out) {
        if (n[key]) out = n[key].Scalar();
    };
    str("description", p.description);
    str("prompt", p.prompt);
    str("config_prompt", p.config_prompt);
    str("user_prompt", p.user_prompt);
    str("enable", p.enable);
    str("exit_config", p.exit_config);
    str("pager", p.pager);
    if (n["return"]) {
        p.return_seq = n["return"].Scalar();
        if (!n["telnet_return"]) p.telnet_return = p.return_seq == "\n" ? "\r\n" : p.return_seq;
    }
    str("telnet_return", p.telnet_return);
    if (const auto& w = n["wake"]) {
        if (w.Scalar() == "connect")
            p.wake = Platform::Wake::connect;
        else if (w.Scalar() == "silence")
            p.wake = Platform::Wake::silence;
        else
            throw core::invalid(where + ".wake: '" + w.Scalar() + "' is not connect or silence");
    }
    if (const auto& w = n["wake_after"]) {
        p.wake_after = core::parse_duration(w.Scalar(), where + ".wake_after");
        if (p.wake_after.count() <= 0 || p.wake_after > std::chrono::seconds(30))
            throw core::invalid(where + ".wake_after: must be between 1ms and 30s");
    }
    if (n["pager_off"]) p.pager_off = string_list(n["pager_off"]);
    if (n["errors"]) p.errors = string_list(n["errors"]);
    if (n["exec"]) p.exec = string_list(n["exec"]);
    if (n["intents"]) apply_intents(p, n["intents"], where);
    if (const auto& d = n["dialogs"]) {
        p.dialogs.clear();
        for (const auto& x : d) {
            Dialog dialog;
            dialog.pattern = x["pattern"].Scalar();
            dialog.send = x["send"] ? x["send"].Scalar() : "{return}";
            dialog.re = compile(dialog.pattern, where + ".dialogs");
            p.dialogs.push_back(std::move(dialog));
        }
    }
    if (const auto& g = n["ping"]) {
        if (g["summary"]) p.ping.summary = g["summary"].Scalar();
        if (g["sent_group"]) p.ping.sent_group = g["sent_group"].as<int>();
        if (g["received_group"]) p.ping.received_group = g["received_group"].as<int>();
        if (g["success"]) p.ping.success = g["success"].Scalar();
        if (g["failure"]) p.ping.failure = g["failure"].Scalar();
    }
    p.ping.summary_re = p.ping.summary.empty()
                            ? Regex()
                            : compile(p.ping.summary, where + ".ping.summary", Regex::Lines::multi);
    p.ping.success_re = p.ping.success.empty() ? Regex() : compile(p.ping.success, where + ".ping.success");
    p.ping.failure_re = p.ping.failure.empty() ? Regex() : compile(p.ping.failure, where + ".ping.failure");
    if (p.prompt.empty()) throw core::invalid(where + ": a platform needs a prompt regex");
    p.prompt_re = compile(p.prompt, where + ".prompt");
    // (An override may blank a pattern out: its compiled form goes too.)
    p.config_prompt_re =
        p.config_prompt.empty() ? Regex() : compile(p.config_prompt, where + ".config_prompt");
    p.user_prompt_re = p.user_prompt.empty() ? Regex() : compile(p.user_prompt, where + ".user_prompt");
    p.pager_re = p.pager.empty() ? Regex() : compile(p.pager, where + ".pager");
}

}  // namespace

std::string_view builtin_platforms_yaml() {
    return kBuiltinYaml;
}

std::string_view builtin_intents_yaml() {
    return kBuiltinIntentsYaml;
}

std::string Platform::error_in(std::string_view output) const {
    for (const auto& marker : errors)
        if (output.find(marker) != std::string_view::npos) return marker;
    return {};
}

PingStats Platform::parse_ping(std::string_view output) const {
    PingStats stats;
    if (!ping.summary_re.empty()) {
        auto m = ping.summary_re.find(output);
        auto group = [&](int i) { return m->groups[static_cast<std::size_t>(i)]; };
        auto number = [](std::string_view s, int& out) {
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
            return ec == std::errc{} && p == s.data() + s.size();
        };
        if (m &&
            m->groups.size() > static_cast<std::size_t>(std::max(ping.sent_group, ping.received_group)) &&
            ping.sent_group >= 0 && ping.received_group >= 0 && number(group(ping.sent_group), stats.sent) &&
            number(group(ping.received_group), stats.received)) {
            stats.parsed = true;
            return stats;
        }
        stats = {};
    }
    if (!ping.success_re.empty() || !ping.failure_re.empty()) {
        std::size_t start = 0;
        while (start < output.size()) {
            auto nl = output.find('\n', start);
            if (nl == std::string_view::npos) nl = output.size();
            std::string_view line = output.substr(start, nl - start);
            start = nl + 1;
            if (ping.success_re.search(line)) {
                ++stats.sent;
                ++stats.received;
            } else if (ping.failure_re.search(line)) {
                ++stats.sent;
            }
        }
        stats.parsed = stats.sent > 0;
    }
    return stats;
}

const PlatformRegistry& PlatformRegistry::builtin() {
    static const PlatformRegistry registry = [] {
        PlatformRegistry r;
        r.load_yaml(kBuiltinYaml, "built-in platforms.yaml");
        r.load_yaml(kBuiltinIntentsYaml, "built-in intents.yaml");
        return r;
    }();
    return registry;
}

PlatformRegistry PlatformRegistry::with_overrides(const std::string& dir) {
    PlatformRegistry r = builtin();
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw core::invalid("platform directory '" + dir + "' does not exist");
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f);
        std::stringstream ss;
        ss << in.rdbuf();
        r.load_yaml(ss.str(), f.string());
    }
    return r;
}

void PlatformRegistry::load_yaml(std::string_view yaml, const std::string& source) {
    YAML::Node root;
    try {
        root = core::load_yaml(yaml, source);
    } catch (const YAML::Exception& e) {
        throw core::invalid(source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!root.IsMap()) throw core::invalid(source + ": must be a map of platform name: fields");
    for (const auto& kv : root) {
        std::string name = kv.first.Scalar();
        std::string where = source + ": line " + std::to_string(kv.first.Mark().line + 1) + ": " + name;
        Platform p;
        if (auto it = platforms_.find(name); it != platforms_.end()) p = it->second;
        p.name = name;
        try {
            apply(p, kv.second, where);
        } catch (const YAML::Exception& e) {
            throw core::invalid(where + ": " + e.msg);
        }
        platforms_[name] = std::move(p);
    }
}

const Platform* PlatformRegistry::find(std::string_view name) const {
    auto it = platforms_.find(name);
    return it == platforms_.end() ? nullptr : &it->second;
}

std::vector<std::string> PlatformRegistry::names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : platforms_) out.push_back(k);
    return out;
}

}  // namespace np::eval
