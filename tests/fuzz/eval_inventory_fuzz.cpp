// Fuzz target: the device inventory parser (`netpraxis grade --inventory`). Nothing may crash, hang or
// throw anything but core::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "eval/inventory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 16384) return 0;  // inventories are small; bigger inputs only slow the fuzzer down
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        (void)np::eval::parse_inventory(text);
    } catch (const np::core::Error&) {
    }
    return 0;
}
