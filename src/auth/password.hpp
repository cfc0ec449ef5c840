// Password hashing with argon2id (libargon2). Both calls are CPU-heavy by design: run them on the
// core::WorkerPool, never on the event loop.
#pragma once

#include <string>
#include <string_view>

namespace np::auth {

// Encoded argon2id hash ("$argon2id$v=19$m=...,t=...,p=...$salt$hash") with a fresh random salt.
std::string hash_password(std::string_view password);
// True when `password` matches `encoded`; false on mismatch or a malformed hash.
bool verify_password(std::string_view encoded, std::string_view password);
// A readable random password for generated accounts (the first teacher).
std::string generate_password();

}  // namespace np::auth
