// Per-student variables of an exercise (FORMATS.md `variables:`) and `{{ }}` templating. Values are derived
// deterministically from (exercise id, student id, variable name) with SHA-256, so a student keeps the same
// addresses across attempts and re-deployments, and two students usually get different ones.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace np::eval {

// An IPv4 subnet with the accessors templates use: network, prefix, mask, gateway (first host), host(n),
// broadcast, cidr.
struct Subnet {
    std::uint32_t network = 0;
    int prefix = 0;

    static Subnet parse(std::string_view cidr);  // "10.0.0.0/8"; throws core::Error(invalid)
    std::uint32_t mask() const { return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix); }
    std::uint32_t broadcast() const { return network | ~mask(); }
    // The n-th address of the subnet (n=1 is the first host); throws invalid when outside the subnet.
    std::uint32_t host(std::int64_t n) const;
    bool contains(const Subnet& other) const;
    bool overlaps(const Subnet& other) const;
    std::string cidr() const;
};

std::string ipv4_text(std::uint32_t address);

// One variable's value: text, integer or subnet.
struct Value {
    enum class Kind { text, integer, subnet } kind = Kind::text;
    std::string text;
    std::int64_t integer = 0;
    Subnet subnet;

    std::string str() const;  // what `{{ name }}` renders to
};

using Values = std::map<std::string, Value>;

// A variable definition as the spec states it.
struct VariableDef {
    enum class Kind { integer, choice, subnet, pattern } kind = Kind::integer;
    std::string name;
    std::int64_t min = 0, max = 0;     // integer
    std::vector<std::string> choices;  // choice
    Subnet within;                     // subnet
    int prefix = 24;                   // subnet
    std::string pattern;               // pattern: '#' digit, '?' lowercase letter, '*' letter or digit
    int line = 0;
};

// Derives every variable for (exercise, student). Subnets drawn from overlapping parents never overlap each
// other. Throws core::Error(invalid) when a definition cannot be satisfied (e.g. no free subnet left).
Values derive_values(const std::vector<VariableDef>& defs, std::string_view exercise_id,
                     std::string_view student);

// Renders `{{ name }}`, `{{ name.accessor }}`, `{{ name.host(n) }}` and `{{ student }}`. Unknown names or
// accessors throw core::Error(invalid) naming the expression. `used` collects variable names referenced.
std::string render(std::string_view text, const Values& values, std::set<std::string>* used = nullptr);

// Names referenced by the templates in `text`, without rendering (for the linter).
std::set<std::string> referenced_names(std::string_view text);

}  // namespace np::eval
