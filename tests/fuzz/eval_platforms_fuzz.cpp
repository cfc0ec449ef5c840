// Fuzz target: the platform table parser (`--platforms DIR` overrides, on top of the built-in table), and
// the matching a loaded platform does on device output. Nothing may crash, hang or throw anything but
// core::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "eval/platform.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 16384) return 0;  // platform files are small; bigger inputs only slow the fuzzer down
    std::string text(reinterpret_cast<const char*>(data), size);
    np::eval::PlatformRegistry reg = np::eval::PlatformRegistry::builtin();  // overrides apply on top of it
    try {
        reg.load_yaml(text, "fuzz.yaml");
    } catch (const np::core::Error&) {
        return 0;
    }
    const std::string output =
        "r1# show ip route\n% Unknown command\n5 packets transmitted, 4 received, 20% packet loss\n"
        "Success rate is 80 percent (4/5)\nr1# ";
    for (const auto& name : reg.names()) {
        const np::eval::Platform* p = reg.find(name);
        (void)p->error_in(output);
        (void)p->parse_ping(output);
    }
    return 0;
}
