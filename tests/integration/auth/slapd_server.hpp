// A throwaway OpenLDAP server (Debian's slapd) for the ldap realm tests: its own folder under /tmp with a
// test CA and a server certificate for 127.0.0.1 (made with openssl), its own cn=config (slapadd -n0), a
// small directory (slapadd, then the groups through ldapadd so the memberof overlay fills memberOf),
// listening on ldap:// (StartTLS) and ldaps:// loopback ports chosen at run time. Never the system slapd:
// no /etc/ldap/slapd.d, no port 389. The child dies with the test process (parent-death signal) and is
// stopped by its PID, its folder removed, when the fixture goes.
#pragma once

#include <sys/types.h>

#include <string>

namespace np::auth::test {

// The directory (passwords are "<uid>-pw"):
//   people: tina (teacher), tom (teacher and student), sam and sally (students), nora (no group),
//           and cn=Weird whose uid is `w*(e)\ird` (student): a username made of filter metacharacters;
//   groups: cn=teachers and cn=students (groupOfNames, member DNs), cn=posix-students (posixGroup,
//           memberUid sam); every user's memberOf is kept by the memberof overlay;
//   cn=netpraxis,ou=services: the service account (read access to people and groups; anonymous reads none).
inline constexpr const char* kBaseDn = "dc=np,dc=test";
inline constexpr const char* kPeopleDn = "ou=people,dc=np,dc=test";
inline constexpr const char* kTeachersDn = "cn=teachers,ou=groups,dc=np,dc=test";
inline constexpr const char* kStudentsDn = "cn=students,ou=groups,dc=np,dc=test";
inline constexpr const char* kPosixStudentsDn = "cn=posix-students,ou=groups,dc=np,dc=test";
inline constexpr const char* kServiceDn = "cn=netpraxis,ou=services,dc=np,dc=test";
inline constexpr const char* kServicePassword = "service-pw";
inline constexpr const char* kWeirdUid = "w*(e)\\ird";

class Slapd {
 public:
    Slapd();  // prepares the folder and starts the server; throws std::runtime_error with slapd's log
    ~Slapd();
    Slapd(const Slapd&) = delete;
    Slapd& operator=(const Slapd&) = delete;

    void start();   // (again) on the same ports and data
    void stop();    // SIGTERM to its PID, waits for it
    void pause();   // SIGSTOP: connections are accepted by the kernel, never answered
    void resume();  // SIGCONT
    bool running() const { return pid_ > 0; }

    std::string ldap_url() const { return "ldap://127.0.0.1:" + std::to_string(ldap_port_); }
    std::string ldaps_url() const { return "ldaps://127.0.0.1:" + std::to_string(ldaps_port_); }
    std::string ca_file() const { return dir_ + "/ca.crt"; }
    std::string wrong_ca_file() const { return dir_ + "/other-ca.crt"; }  // a CA that signed nothing here
    const std::string& dir() const { return dir_; }
    std::string log() const;

 private:
    void prepare();
    bool launch();
    std::string dir_;
    pid_t pid_ = -1;
    int ldap_port_ = 0, ldaps_port_ = 0;
};

}  // namespace np::auth::test
