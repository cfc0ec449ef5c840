// Intent-level checks: a check states a fact about the lab (`ospf_neighbor: {router_id: 2.2.2.2, state:
// full}`) instead of a command and a regex; each platform says how to observe it (IntentParser, data in
// intents.yaml) and the check compares the parsed records with the stated fields. Evidence is the record:
// "OSPF neighbour 2.2.2.2: state Init, expected Full".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eval/platform.hpp"
#include "eval/variables.hpp"

namespace np::eval {

struct MatchOutcome;
struct Diagnostic;

// A check's intent, as written in the spec: field values are templates (a YAML list is joined with ", ").
struct Intent {
    std::string kind;  // interface, route, ospf_neighbor, bgp_session, vlan, reachability, config
    std::vector<std::pair<std::string, std::string>> fields;
    bool present = true;  // `present: false`: no such object may exist
    std::string path;     // checks[3].ospf_neighbor
    int line = 0;

    const std::string* field(std::string_view name) const;
};

// The intents a check may state, in documentation order.
const std::vector<std::string>& intent_kinds();
bool is_intent_kind(std::string_view key);
// Whether the intent observes the control plane (reachability checks run after these, see spec.cpp).
bool is_control_plane_intent(std::string_view kind);

// Checks the fields of a parsed intent (unknown field, missing key, bad number or boolean); appends one
// error per problem naming the field.
void validate_intent(const Intent& intent, std::vector<Diagnostic>& out);

// The commands that observe `intent` on `platform`, rendered for the student. Throws core::Error(invalid)
// when the platform has no parser for it or a value is not safe to put in a command.
std::vector<std::string> intent_commands(const Intent& intent, const Platform& platform,
                                         const Values& values);

// Grades the intent on the commands' joined output. Throws core::Error(invalid) on a template problem or
// when the platform does not support the intent.
MatchOutcome evaluate_intent(const Intent& intent, std::string_view output, const Values& values,
                             const Platform& platform);

// The `config` intent on a configuration listing written in `style` (indent: IOS/EOS/FRR sections by
// indentation; set: Junos `display set` / VyOS `commands`, a section is a prefix of the line; path:
// RouterOS `/export`, a section is a `/path` header). Used by evaluate_intent.
MatchOutcome grade_config(const Intent& intent, const std::string* line, const std::string* match,
                          const std::string* section, std::string_view output, const std::string& style);

}  // namespace np::eval
