// Fuzz target: the intent parsers of every shipped platform (src/eval/intents.yaml) on device output, and the
// grading of a stated intent against the records. The first input byte picks a platform, the second an
// intent; the rest is the output. Nothing may crash, hang or throw anything but core::Error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "eval/intent.hpp"
#include "eval/matcher.hpp"

namespace {

np::eval::Intent intent_for(const std::string& kind) {
    np::eval::Intent i;
    i.kind = kind;
    i.path = "fuzz." + kind;
    if (kind == "interface") i.fields = {{"name", "eth1"}, {"address", "10.0.0.1/24"}, {"mtu", ">= 1500"}};
    if (kind == "route") i.fields = {{"prefix", "10.0.0.0/24"}, {"protocol", "ospf"}, {"fib", "true"}};
    if (kind == "ospf_neighbor") i.fields = {{"router_id", "2.2.2.2"}, {"state", "full"}, {"area", "0"}};
    if (kind == "bgp_session") i.fields = {{"peer", "10.0.0.2"}, {"prefixes_received", ">= 1"}};
    if (kind == "vlan") i.fields = {{"id", "10"}, {"ports", "Et1, Et2"}};
    if (kind == "reachability") i.fields = {{"target", "10.0.0.2"}, {"success", "60"}};
    if (kind == "config") i.fields = {{"section", "router ospf"}, {"line", "network 10.0.0.0/24 area 0"}};
    return i;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2 || size > 65536) return 0;
    const auto& reg = np::eval::PlatformRegistry::builtin();
    const std::vector<std::string> names = reg.names();
    const auto& kinds = np::eval::intent_kinds();
    const np::eval::Platform& p = *reg.find(names[data[0] % names.size()]);
    const std::string& kind = kinds[data[1] % kinds.size()];
    std::string output(reinterpret_cast<const char*>(data + 2), size - 2);
    np::eval::Intent intent = intent_for(kind);
    try {
        if (auto it = p.intents.find(kind); it != p.intents.end()) (void)it->second.parse(output);
        (void)np::eval::evaluate_intent(intent, output, {}, p);
        intent.present = false;
        (void)np::eval::evaluate_intent(intent, output, {}, p);
    } catch (const np::core::Error&) {
        // unsupported intent on this platform, or a regex too complex for this output: reported, not a crash
    }
    return 0;
}
