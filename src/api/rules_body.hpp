// Internal to src/api: the grading rules a teacher may set when assigning (POST /assignments, POST
// /courses/{id}/assignments), read from the request body into app::RuleOverrides.
#pragma once

#include <vector>

#include "api/handlers.hpp"
#include "app/grading.hpp"

namespace np::api {

// The body fields of the rules (documented in the OpenAPI document).
std::vector<Field> rule_fields();
// The rules the body sets; an absent one comes from the spec. A bad deadline is a 400 naming it.
app::RuleOverrides rule_overrides(const Context& ctx);

}  // namespace np::api
