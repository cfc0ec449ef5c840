// A throwaway PostgreSQL server for the store tests: initdb into a temporary folder (as the `postgres`
// user when run as root), `postgres` on a free loopback port chosen at run time, one fresh database per
// test. The server is a child process that dies with the test process (parent-death signal) and is
// stopped, with its folder removed, when the tests end.
#pragma once

#include <string>

namespace np::store::test {

// Starts the server on first use; returns the URL of a new, empty database.
std::string create_database();
// Drops a database made by create_database (disconnecting whoever is still connected).
void drop_database(const std::string& conninfo);
// Runs `sql` on a separate connection; false (with the server's message in `error`) when it fails.
bool raw_exec(const std::string& conninfo, const std::string& sql, std::string* error = nullptr);

}  // namespace np::store::test
