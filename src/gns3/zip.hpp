// Zip archives in memory (libarchive): what a portable GNS3 project (.gns3project) is. Used by the
// simulator (src/gns3sim) and by the proxmox provider's checks of an exercise's project (src/labpve).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace np::gns3 {

using Files = std::map<std::string, std::string>;  // path inside the archive -> content

// Reads every regular file; throws core::Error(invalid) when the bytes are not a zip archive.
Files read_zip(std::string_view bytes);
// Writes a deflated zip archive.
std::string write_zip(const Files& files);

}  // namespace np::gns3
