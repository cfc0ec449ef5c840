// Zip archives in memory (libarchive): what a portable GNS3 project (.gns3project) is. Used by the
// simulator (src/gns3sim) and by the proxmox provider's checks of an exercise's project (src/labpve).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace np::gns3 {

using Files = std::map<std::string, std::string>;  // path inside the archive -> content

// Reads every regular file; throws core::Error(invalid) when the bytes are not a zip archive.
Files read_zip(std::string_view bytes);
// Bounds of an archive from an untrusted source (an exercise uploaded as a zip).
struct ZipLimits {
    std::size_t max_entries = 256;                   // files and folders
    std::size_t max_total = std::size_t{128} << 20;  // uncompressed bytes, counted as they are inflated
};
// Reads a zip from an untrusted source, refusing with core::Error naming the entry: more entries or more
// uncompressed bytes than `limits` (a zip bomb: payload_too_large, counted on the inflated bytes, not on
// what the headers claim), a symbolic link or any entry that is not a file or a folder, a name that is
// absolute, holds '..', '.', an empty part, a backslash or a control character, is not UTF-8, or appears
// twice. Folders are skipped; file paths keep their folders ("configs/r1.conf").
Files read_zip_untrusted(std::string_view bytes, const ZipLimits& limits);
// Writes a deflated zip archive.
std::string write_zip(const Files& files);

}  // namespace np::gns3
