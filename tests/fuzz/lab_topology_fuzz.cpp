// Fuzz target: the lab topology parser (teacher YAML, stored through the API and run by the runtime), and
// its serialiser on whatever it accepts. Nothing may crash, hang or throw anything but core::Error; what is
// accepted must survive the round trip the runtime makes (to_yaml, then parse again to restart a lab).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "lab/topology.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 16384) return 0;  // topologies are small; bigger inputs only slow the fuzzer down
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        // A folder that does not exist: relative config files never resolve to a real file.
        np::lab::Topology t = np::lab::parse_topology(text, "fuzz.yaml", "/nonexistent/np-fuzz");
        std::string again = np::lab::to_yaml(t);
        np::lab::Topology back;
        try {
            back = np::lab::parse_topology(again, "again.yaml", "/nonexistent/np-fuzz");
        } catch (const np::core::Error&) {
            std::abort();  // accepted once, refused after the round trip: a lab could not be restarted
        }
        if (back.nodes.size() != t.nodes.size() || back.links.size() != t.links.size()) std::abort();
    } catch (const np::core::Error&) {
    }
    return 0;
}
