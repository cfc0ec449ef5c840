#include "core/digest.hpp"

#include <openssl/evp.h>

namespace np::core {

namespace {

std::string hex_digest(std::string_view bytes, const EVP_MD* md) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &n, md, nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n);
    for (unsigned int i = 0; i < n; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
    return hex_digest(bytes, EVP_sha256());
}

std::string sha1_hex(std::string_view bytes) {
    return hex_digest(bytes, EVP_sha1());
}

}  // namespace np::core
