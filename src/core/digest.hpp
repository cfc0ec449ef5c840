// Content digests (OpenSSL EVP): the sha256 that names stored files (store attachments) and GNS3 templates;
// the sha1 Proxmox gives a guest's config (its `digest`, what pve-sim computes).
#pragma once

#include <string>
#include <string_view>

namespace np::core {

// Lowercase hex SHA-256 of `bytes` (64 characters).
std::string sha256_hex(std::string_view bytes);

// Lowercase hex SHA-1 of `bytes` (40 characters).
std::string sha1_hex(std::string_view bytes);

}  // namespace np::core
