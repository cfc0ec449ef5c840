// Content digests (OpenSSL EVP): the sha256 that names stored files (store attachments) and GNS3 templates.
#pragma once

#include <string>
#include <string_view>

namespace np::core {

// Lowercase hex SHA-256 of `bytes` (64 characters).
std::string sha256_hex(std::string_view bytes);

}  // namespace np::core
