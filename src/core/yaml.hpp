// Bounded YAML loading: the one place netpraxis turns untrusted YAML text into a YAML::Node.
// Include it only from .cpp files (it pulls in yaml-cpp).
//
// yaml-cpp keeps aliases shared, so a 1.6 KB "billion laughs" document loads into a few hundred nodes;
// the blow-up comes later, when code walks the tree and sees 10^9 nodes. load_yaml refuses such a
// document before building any tree: a streaming pre-pass over the parser's events measures the size the
// document has once every alias is expanded, and aborts at the first event that crosses a limit.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace np::core {

struct YamlLimits {
    // Real exercise specs, topologies and inventories are a few KB with a few hundred nodes; the limits
    // leave two orders of magnitude of room and still keep every walk of the tree cheap.
    std::size_t max_bytes = 1024 * 1024;  // document size
    int max_depth = 64;                   // nesting of maps/sequences, aliases expanded
    std::uint64_t max_nodes = 100000;     // scalars + maps + sequences, every alias expanded
    std::uint64_t max_aliases = 1000;     // `*name` occurrences
};

// The error for a document over a limit: core::invalid, message "<what>: line N: <reason>", one field
// {"", "line N: <reason>"} (the document as a whole). line() and reason() let a caller word it its own way.
class YamlLimitError : public Error {
 public:
    YamlLimitError(const std::string& what, int line, std::string reason);
    int line() const noexcept { return line_; }
    const std::string& reason() const noexcept { return reason_; }

 private:
    int line_;
    std::string reason_;
};

// Loads the first document of `text` (as YAML::Load does) after checking it against `limits`.
// `what` names the document in errors ("spec", "topology lab.yaml"). Throws YamlLimitError over a limit,
// YAML::Exception (with its mark) when the text is not YAML.
YAML::Node load_yaml(std::string_view text, std::string_view what, const YamlLimits& limits = {});

// Reads `path` (at most limits.max_bytes) and loads it as above. Throws YAML::BadFile when it cannot be
// read.
YAML::Node load_yaml_file(const std::string& path, std::string_view what, const YamlLimits& limits = {});

}  // namespace np::core
