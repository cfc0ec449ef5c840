# Debian 12 packages (scripts/install-deps.sh installs them). Boost 1.81 lives beside 1.74:
# point at its CMake config explicitly so the unversioned 1.74 is never picked up.
find_package(Boost 1.81.0 EXACT REQUIRED COMPONENTS json url
             PATHS /usr/lib/x86_64-linux-gnu/cmake NO_DEFAULT_PATH)
find_package(OpenSSL REQUIRED)
find_package(Threads REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(GTest REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(JWT REQUIRED IMPORTED_TARGET libjwt)
pkg_check_modules(ARGON2 REQUIRED IMPORTED_TARGET libargon2)
pkg_check_modules(LIBSSH REQUIRED IMPORTED_TARGET libssh)
find_library(LDAP_LIB ldap REQUIRED)
find_library(LBER_LIB lber REQUIRED)
