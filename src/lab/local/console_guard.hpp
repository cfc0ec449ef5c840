// VPCS consoles kept to this host with nftables (VPCS 0.5b2 listens on every address): a console port is
// guarded before VPCS opens it and unguarded when its lab stops. Internal to src/lab/local.
#pragma once

#include <cstdint>

namespace np::lab {

// Adds `port` to the drop set (making the table, set and rule idempotently); warns when nft is missing.
void guard_console(std::uint16_t port);
// Removes `port` from the set; nothing happens when it is not there.
void unguard_console(std::uint16_t port);

}  // namespace np::lab
