// Reading a check's intent (`ospf_neighbor: {router_id: 2.2.2.2, state: full}`) from the spec's YAML: used
// by spec.cpp only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "eval/intent.hpp"
#include "eval/spec.hpp"

namespace np::eval {

// Fills `out` from `node` (a map of fields; a text is the target of `reachability` and the line of
// `config`); appends one error per problem, naming the field. False when there was a problem.
bool parse_intent_node(const YAML::Node& node, const std::string& kind, const std::string& path, Intent& out,
                       std::vector<Diagnostic>& diags);

// Reachability checks (data plane) run after the spec's route, ospf_neighbor and bgp_session checks (control
// plane) in every round: their `after` lists those checks (ordering only, unlike `requires`).
void order_data_plane(Spec& spec);

}  // namespace np::eval
