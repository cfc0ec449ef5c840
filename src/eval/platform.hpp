// Device platforms as data (prompts, pager, privilege, config mode, error markers, line endings, ping
// parser), after netmiko's and scrapli's per-platform definitions. The built-in table is compiled in
// (platforms.yaml embedded below in platform.cpp); a directory of *.yaml files overrides or adds entries, so
// a new device type is a new entry, not new code.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "eval/records.hpp"
#include "eval/regex.hpp"

namespace np::eval {

// An interaction the session answers by itself: "Press RETURN", initial config dialogs, login prompts.
struct Dialog {
    std::string pattern;
    Regex re;
    std::string send;  // "{username}" / "{password}" are substituted; "{return}" is the platform's return
};

struct PingParser {
    std::string summary;  // regex with two groups: sent and received (see sent_group/received_group)
    int sent_group = 1, received_group = 2;
    std::string success;                       // regex of one reply line (counted when there is no summary)
    std::string failure;                       // regex of one failed probe line
    Regex summary_re, success_re, failure_re;  // compiled at load time
};

struct PingStats {
    int sent = 0, received = 0;
    bool parsed = false;
    double success_percent() const { return sent > 0 ? 100.0 * received / sent : 0.0; }
};

struct Platform {
    std::string name;
    std::string prompt;         // any CLI prompt, matched against the last line
    std::string config_prompt;  // prompt while in configuration mode (empty: none)
    std::string user_prompt;    // unprivileged prompt (empty: none)
    std::string enable;         // command to reach the privileged level
    std::string exit_config;    // command that leaves configuration mode
    std::vector<std::string> pager_off;
    std::string pager;  // the pager marker, answered with a space
    std::string return_seq = "\n";
    std::string telnet_return = "\r\n";
    std::vector<std::string> errors;  // substrings that mark a refused command
    std::vector<Dialog> dialogs;
    std::vector<std::string> exec;  // argv for the exec transport; {netns} {frr_pathspace} {command}
    // How a console that says nothing is woken (console transports): `connect` sends RETURN as soon as the
    // connection is up (consoles that stay silent until they get one: IOS-like dynamips/IOU consoles);
    // `silence` waits `wake_after` of silence first (VPCS: a RETURN during its banner makes it drop the next
    // command line).
    enum class Wake { connect, silence };
    Wake wake = Wake::silence;
    std::chrono::milliseconds wake_after{500};
    PingParser ping;
    std::string description;
    // Intent name (interface, route, ospf_neighbor, ...) -> how this platform observes it (intents.yaml).
    std::map<std::string, IntentParser, std::less<>> intents;

    Regex prompt_re, config_prompt_re, user_prompt_re, pager_re;  // compiled at load time

    bool has_config_prompt() const { return !config_prompt.empty(); }
    bool has_user_prompt() const { return !user_prompt.empty(); }
    // First error marker found in `output`, or empty.
    std::string error_in(std::string_view output) const;
    PingStats parse_ping(std::string_view output) const;
};

class PlatformRegistry {
 public:
    // The compiled-in table (cisco_ios, arista_eos, juniper_junos, mikrotik_routeros, vyos, frr, linux,
    // vpcs).
    static const PlatformRegistry& builtin();
    // The built-in table plus every `*.yaml` in `dir` (each a map of name: fields; a name already present is
    // replaced field by field). Throws core::Error(invalid) naming the file and line.
    static PlatformRegistry with_overrides(const std::string& dir);

    // Adds or overrides entries from YAML text; `source` names it in errors.
    void load_yaml(std::string_view yaml, const std::string& source);
    const Platform* find(std::string_view name) const;
    std::vector<std::string> names() const;

 private:
    std::map<std::string, Platform, std::less<>> platforms_;
};

// The embedded platforms.yaml text, and intents.yaml (the `intents:` of each platform, loaded after it).
std::string_view builtin_platforms_yaml();
std::string_view builtin_intents_yaml();

}  // namespace np::eval
