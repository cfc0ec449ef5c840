// A shell command's standard output, for tests that look at the host (namespaces, processes): `sh -c CMD`
// through popen; "" when it cannot start. Header-only.
#pragma once

#include <cstdio>
#include <string>

namespace np::testkit {

inline std::string shell_output(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    while (auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
    return out;
}

}  // namespace np::testkit
