// The inventory file of `netpraxis grade` (FORMATS.md): device name -> platform and how to reach it.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "eval/session.hpp"

namespace np::eval {

struct InventoryEntry {
    DeviceTarget target;
    std::string lab,
        node;  // `{transport: exec, lab: ENV, node: r1}`: resolved by the caller from a local lab
    int line = 0;
};

// Parses inventory YAML; throws core::Error(invalid) with one FieldError per problem (path and line).
std::map<std::string, InventoryEntry> parse_inventory(std::string_view yaml);
std::map<std::string, InventoryEntry> load_inventory(const std::string& file);

}  // namespace np::eval
