#include "slapd_server.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace np::auth::test {
namespace {

namespace fs = std::filesystem;

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot find a free loopback port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool port_open(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// Forks and execs `argv` (PATH searched) with stdout/stderr appended to `log`; the child gets SIGTERM
// if this process dies.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (FILE* out = std::fopen(log.c_str(), "a")) {
            ::dup2(::fileno(out), 1);
            ::dup2(::fileno(out), 2);
        }
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    return pid;
}

std::string read_file(const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a set-up command to completion; throws with the log on failure.
void run(const std::vector<std::string>& argv, const std::string& log) {
    int status = 0;
    ::waitpid(spawn(argv, log), &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(
            argv[0] + " failed (is the package installed? scripts/packages/test.txt):\n" + read_file(log));
}

std::string config_ldif(const std::string& d) {
    return "dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: " + d + "/slapd.pid\n" +
           "olcTLSCACertificateFile: " + d + "/ca.crt\nolcTLSCertificateFile: " + d + "/server.crt\n" +
           "olcTLSCertificateKeyFile: " + d + "/server.key\n\n" +
           "dn: cn=module{0},cn=config\nobjectClass: olcModuleList\ncn: module{0}\n"
           "olcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\nolcModuleLoad: memberof\n\n"
           "dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n"
           "include: file:///etc/ldap/schema/core.ldif\n\ninclude: file:///etc/ldap/schema/cosine.ldif\n\n"
           "include: file:///etc/ldap/schema/nis.ldif\n\ninclude: "
           "file:///etc/ldap/schema/inetorgperson.ldif\n\n"
           "dn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\n"
           "objectClass: olcFrontendConfig\nolcDatabase: {-1}frontend\n\n"
           "dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\nolcDatabase: {0}config\n"
           "olcAccess: {0}to * by * none\n\n"
           "dn: olcDatabase={1}mdb,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcMdbConfig\n"
           "olcDatabase: {1}mdb\nolcSuffix: dc=np,dc=test\nolcRootDN: cn=admin,dc=np,dc=test\n"
           "olcRootPW: admin-pw\nolcDbDirectory: " +
           d +
           "/data\n"
           "olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none\n"
           "olcAccess: {1}to * by dn.exact=\"cn=netpraxis,ou=services,dc=np,dc=test\" read by self read "
           "by * none\n\n"
           "dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\n"
           "objectClass: olcMemberOf\nolcOverlay: {0}memberof\n";
}

std::string person(const std::string& rdn, const std::string& uid, const std::string& display) {
    return "dn: " + rdn + ",ou=people,dc=np,dc=test\nobjectClass: inetOrgPerson\nuid: " + uid +
           "\ncn: " + display + "\nsn: " + display + "\ndisplayName: " + display +
           "\nuserPassword: " + (uid == kWeirdUid ? std::string("weird") : uid) + "-pw\n" +
           (uid == kWeirdUid ? std::string() : "mail: " + uid + "@np.test\n") + "\n";
}

std::string data_ldif() {
    return "dn: dc=np,dc=test\nobjectClass: dcObject\nobjectClass: organization\no: np\ndc: np\n\n"
           "dn: ou=people,dc=np,dc=test\nobjectClass: organizationalUnit\nou: people\n\n"
           "dn: ou=groups,dc=np,dc=test\nobjectClass: organizationalUnit\nou: groups\n\n"
           "dn: ou=services,dc=np,dc=test\nobjectClass: organizationalUnit\nou: services\n\n"
           "dn: cn=netpraxis,ou=services,dc=np,dc=test\nobjectClass: applicationProcess\n"
           "objectClass: simpleSecurityObject\ncn: netpraxis\nuserPassword: " +
           std::string(kServicePassword) + "\n\n" + person("uid=tina", "tina", "Tina Teacher") +
           person("uid=tom", "tom", "Tom Both") + person("uid=sam", "sam", "Sam Student") +
           person("uid=sally", "sally", "Sally Student") + person("uid=nora", "nora", "Nora Nogroup") +
           person("cn=Weird", kWeirdUid, "Weird");
}

// Added through the server (ldapadd), so the memberof overlay records each member's memberOf.
std::string groups_ldif() {
    return "dn: cn=teachers,ou=groups,dc=np,dc=test\nobjectClass: groupOfNames\ncn: teachers\n"
           "member: uid=tina,ou=people,dc=np,dc=test\nmember: uid=tom,ou=people,dc=np,dc=test\n\n"
           "dn: cn=students,ou=groups,dc=np,dc=test\nobjectClass: groupOfNames\ncn: students\n"
           "member: uid=sam,ou=people,dc=np,dc=test\nmember: uid=sally,ou=people,dc=np,dc=test\n"
           "member: uid=tom,ou=people,dc=np,dc=test\nmember: cn=Weird,ou=people,dc=np,dc=test\n\n"
           "dn: cn=posix-students,ou=groups,dc=np,dc=test\nobjectClass: posixGroup\ncn: posix-students\n"
           "gidNumber: 5000\nmemberUid: sam\n";
}

// Folders of earlier runs that were killed (their slapd died with them, the folder stayed): removed when the
// process that wrote owner.pid is gone.
void remove_stale_folders() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
        if (!entry.path().filename().string().starts_with("np-slapd-test-")) continue;
        std::ifstream in(entry.path() / "owner.pid");
        long pid = 0;
        if (!(in >> pid) || pid <= 0) continue;
        if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
    }
}

}  // namespace

Slapd::Slapd() {
    remove_stale_folders();
    char tmpl[] = "/tmp/np-slapd-test-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::ofstream(dir_ + "/owner.pid") << ::getpid() << "\n";
    try {
        prepare();
        start();
        run({"ldapadd", "-x", "-H", ldap_url(), "-D", "cn=admin,dc=np,dc=test", "-w", "admin-pw", "-f",
             dir_ + "/groups.ldif"},
            dir_ + "/setup.log");
    } catch (...) {
        stop();
        std::error_code ec;
        fs::remove_all(dir_, ec);
        throw;
    }
}

Slapd::~Slapd() {
    resume();
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

void Slapd::prepare() {
    const std::string d = dir_, log = d + "/setup.log";
    const std::vector<std::string> ec_key{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                          "-nodes"};
    auto req = [&](std::vector<std::string> args) {
        std::vector<std::string> argv{"openssl", "req"};
        argv.insert(argv.end(), ec_key.begin(), ec_key.end());
        argv.insert(argv.end(), args.begin(), args.end());
        run(argv, log);
    };
    req({"-x509", "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj", "/CN=np-test-ca"});
    req({"-x509", "-keyout", d + "/other-ca.key", "-out", d + "/other-ca.crt", "-days", "2", "-subj",
         "/CN=np-test-ca"});  // same name, other key: only the signature tells them apart
    req({"-keyout", d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=localhost"});
    std::ofstream(d + "/server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    run({"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
         "-CAcreateserial", "-out", d + "/server.crt", "-days", "2", "-extfile", d + "/server.ext"},
        log);
    fs::create_directories(d + "/config");
    fs::create_directories(d + "/data");
    std::ofstream(d + "/config.ldif") << config_ldif(d);
    std::ofstream(d + "/data.ldif") << data_ldif();
    std::ofstream(d + "/groups.ldif") << groups_ldif();
    run({"slapadd", "-n0", "-F", d + "/config", "-l", d + "/config.ldif"}, log);
    run({"slapadd", "-n1", "-F", d + "/config", "-l", d + "/data.ldif"}, log);
}

bool Slapd::launch() {
    pid_ = spawn(
        {"/usr/sbin/slapd", "-d", "0", "-h", ldap_url() + "/ " + ldaps_url() + "/", "-F", dir_ + "/config"},
        dir_ + "/slapd.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (port_open(ldap_port_) && port_open(ldaps_port_)) return true;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited (a port taken meanwhile?)
            pid_ = -1;
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return false;
}

void Slapd::start() {
    if (pid_ > 0) return;
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (ldap_port_ == 0 || attempt > 0) {
            ldap_port_ = free_loopback_port();
            ldaps_port_ = free_loopback_port();
        }
        if (launch()) return;
    }
    throw std::runtime_error("slapd did not start:\n" + log());
}

void Slapd::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void Slapd::pause() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void Slapd::resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string Slapd::log() const {
    return read_file(dir_ + "/setup.log") + read_file(dir_ + "/slapd.log");
}

}  // namespace np::auth::test
