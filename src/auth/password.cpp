#include "auth/password.hpp"

#include <argon2.h>
#include <malloc.h>
#include <openssl/rand.h>

#include <array>
#include <mutex>
#include <string>

#include "core/error.hpp"
#include "core/ids.hpp"

namespace np::auth {
namespace {
// OWASP's argon2id baseline: 19 MiB memory, 2 passes, 1 lane.
constexpr std::uint32_t kTimeCost = 2;
constexpr std::uint32_t kMemoryKiB = 19 * 1024;
constexpr std::uint32_t kLanes = 1;
constexpr std::size_t kSaltLen = 16;
constexpr std::size_t kHashLen = 32;

// argon2 takes its 19 MiB block from malloc. glibc's dynamic mmap threshold rises to the size of such a block
// the first time one is freed; from then on each pool thread's arena serves it from its own heap and keeps it
// resident for good (4 pool threads: ~80 MB of a server that otherwise peaks near 25 MB; issue 14). A fixed
// threshold keeps blocks of 1 MiB and more mmapped, so each goes back to the system when argon2 frees it.
void keep_large_blocks_mmapped() {
    static std::once_flag once;
    std::call_once(once, [] { mallopt(M_MMAP_THRESHOLD, 1 << 20); });
}
}  // namespace

std::string hash_password(std::string_view password) {
    keep_large_blocks_mmapped();
    std::array<unsigned char, kSaltLen> salt{};
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
        throw core::internal("random generator failed");
    std::size_t len = argon2_encodedlen(kTimeCost, kMemoryKiB, kLanes, kSaltLen, kHashLen, Argon2_id);
    std::string encoded(len, '\0');
    int rc = argon2id_hash_encoded(kTimeCost, kMemoryKiB, kLanes, password.data(), password.size(),
                                   salt.data(), salt.size(), kHashLen, encoded.data(), encoded.size());
    if (rc != ARGON2_OK)
        throw core::internal(std::string("password hashing failed: ") + argon2_error_message(rc));
    encoded.resize(encoded.find('\0'));
    return encoded;
}

bool verify_password(std::string_view encoded, std::string_view password) {
    if (!encoded.starts_with("$argon2id$")) return false;
    keep_large_blocks_mmapped();
    std::string enc(encoded);
    return argon2id_verify(enc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

std::string generate_password() {
    return core::random_base64url(15);
}

}  // namespace np::auth
