// The ldap realm (src/auth/ldap_realm.cpp) against a real slapd (slapd_server.hpp): roles from groups,
// StartTLS and ldaps with CA verification, the same refusal for a wrong password and an unknown user,
// LDAP injection, a stopped or silent server, and the configuration's checks.
#include "auth/ldap_realm.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "auth/login.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "slapd_server.hpp"
#include "store/store.hpp"

using namespace np;
using namespace np::auth::test;

namespace {

template <class F>
auto run(F&& f) {
    boost::asio::io_context ioc;
    auto fut = boost::asio::co_spawn(ioc, std::forward<F>(f), boost::asio::use_future);
    ioc.run();
    return fut.get();
}

class LdapRealm : public ::testing::Test {
 protected:
    static void SetUpTestSuite() {
        slapd_ = new Slapd();
        pool_ = new core::WorkerPool(2);
    }
    static void TearDownTestSuite() {
        delete pool_;
        delete slapd_;
    }
    void SetUp() override {
        slapd_->resume();
        slapd_->start();
    }

    // StartTLS on ldap://, the test CA, the service account, roles from the two groups.
    static auth::LdapRealmOptions options(const std::string& url = "") {
        auth::LdapRealmOptions o;
        o.name = "school";
        o.url = url.empty() ? slapd_->ldap_url() : url;
        o.ca_file = slapd_->ca_file();
        o.bind_dn = kServiceDn;
        o.bind_password = kServicePassword;
        o.base_dn = kPeopleDn;
        o.user_filter = "(&(objectClass=inetOrgPerson)(uid={username}))";
        o.teacher_group = kTeachersDn;
        o.student_group = kStudentsDn;
        o.network_timeout = std::chrono::seconds(5);
        o.timeout = std::chrono::seconds(5);
        return o;
    }
    static std::optional<auth::Identity> login(auth::Realm& realm, std::string user, std::string password) {
        return run([&] { return realm.authenticate(user, password); });
    }
    // The core::Error a login throws (fails the test when it does not throw one).
    static core::Error failure(auth::Realm& realm, const std::string& user, const std::string& password) {
        try {
            login(realm, user, password);
        } catch (const core::Error& e) {
            return e;
        }
        ADD_FAILURE() << "the login did not throw";
        return core::internal("no error");
    }

    static Slapd* slapd_;
    static core::WorkerPool* pool_;
};
Slapd* LdapRealm::slapd_ = nullptr;
core::WorkerPool* LdapRealm::pool_ = nullptr;

}  // namespace

TEST_F(LdapRealm, GroupsGiveTheRoleOverStartTls) {
    auto realm = auth::make_ldap_realm(options(), *pool_);
    auto tina = login(*realm, "tina", "tina-pw");
    ASSERT_TRUE(tina);
    EXPECT_EQ(tina->role, "teacher");
    EXPECT_EQ(tina->username, "tina");
    EXPECT_EQ(tina->realm, "school");
    EXPECT_EQ(tina->display_name, "Tina Teacher");
    auto sam = login(*realm, "sam", "sam-pw");
    ASSERT_TRUE(sam);
    EXPECT_EQ(sam->role, "student");
    // In both groups: the teacher group is tried first.
    EXPECT_EQ(login(*realm, "tom", "tom-pw")->role, "teacher");
    // In no group: refused, as an unknown user is.
    EXPECT_FALSE(login(*realm, "nora", "nora-pw"));
    // The directory's spelling is kept (uid matches case-insensitively): one user, not two.
    EXPECT_EQ(login(*realm, "TINA", "tina-pw")->username, "tina");
}

TEST_F(LdapRealm, LdapsWorksToo) {
    auto realm = auth::make_ldap_realm(options(slapd_->ldaps_url()), *pool_);
    EXPECT_EQ(login(*realm, "tina", "tina-pw")->role, "teacher");
    EXPECT_EQ(login(*realm, "sally", "sally-pw")->role, "student");
}

TEST_F(LdapRealm, WrongPasswordAndUnknownUserAreTheSameRefusal) {
    auto realm = auth::make_ldap_realm(options(), *pool_);
    EXPECT_FALSE(login(*realm, "tina", "wrong"));
    EXPECT_FALSE(login(*realm, "ghost", "tina-pw"));
    EXPECT_FALSE(login(*realm, "tina", ""));  // an unauthenticated bind would "succeed": never tried
    // Through the login service: the same 401 text for both.
    std::vector<std::unique_ptr<auth::Realm>> realms;
    realms.push_back(auth::make_ldap_realm(options(), *pool_));
    auth::LoginService service(std::move(realms), core::Clock::system());
    auto message = [&](const std::string& user, const std::string& pw) {
        try {
            run([&] { return service.login(user, pw, "192.0.2.1"); });
        } catch (const core::Error& e) {
            EXPECT_EQ(e.code(), core::Code::unauthenticated);
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(message("tina", "wrong"), message("ghost", "wrong"));
    EXPECT_EQ(message("tina", "wrong"), "invalid username or password");
}

TEST_F(LdapRealm, FilterValuesAreEscapedAsRfc4515Says) {
    using auth::ldap_escape_filter_value;
    EXPECT_EQ(ldap_escape_filter_value("tina"), "tina");
    EXPECT_EQ(ldap_escape_filter_value("*"), "\\2A");
    EXPECT_EQ(ldap_escape_filter_value("a(b)c"), "a\\28b\\29c");
    EXPECT_EQ(ldap_escape_filter_value("back\\slash"), "back\\5Cslash");
    EXPECT_EQ(ldap_escape_filter_value(std::string("nu\0l", 4)), "nu\\00l");
    EXPECT_EQ(ldap_escape_filter_value(""), "");
}

// Every one of these, pasted unescaped into (&(objectClass=inetOrgPerson)(uid=...)), would find tina (or
// everyone) and log in with tina's password; escaped, each is a literal username nobody has.
TEST_F(LdapRealm, InjectionCannotWidenTheSearch) {
    auto realm = auth::make_ldap_realm(options(), *pool_);
    const std::vector<std::string> attacks{"*",
                                           "t*",
                                           "ti*a",
                                           "tina)(uid=*",
                                           "*)(objectClass=*",
                                           "tina)(|(uid=*",
                                           "tin\\61",  // \61 is "a": a pre-escaped value must stay literal
                                           "tina\\",
                                           "(",
                                           ")",
                                           std::string("tina\0", 5),
                                           std::string("ti\0na", 5),
                                           std::string("*\0", 2)};
    for (const auto& attack : attacks) {
        EXPECT_FALSE(login(*realm, attack, "tina-pw")) << "accepted username [" << attack << "]";
    }
    // The metacharacters are still usable as a literal username: cn=Weird's uid is w*(e)\ird.
    auto weird = login(*realm, kWeirdUid, "weird-pw");
    ASSERT_TRUE(weird);
    EXPECT_EQ(weird->username, kWeirdUid);
    EXPECT_EQ(weird->role, "student");
    EXPECT_FALSE(login(*realm, "w*", "weird-pw"));
    EXPECT_FALSE(login(*realm, "w*(e)*", "weird-pw"));
}

TEST_F(LdapRealm, MembershipFromMemberOfOrMemberUid) {
    auto o = options();
    o.user_groups_attribute = "memberOf";  // filled by slapd's memberof overlay
    auto by_member_of = auth::make_ldap_realm(o, *pool_);
    EXPECT_EQ(login(*by_member_of, "tina", "tina-pw")->role, "teacher");
    EXPECT_EQ(login(*by_member_of, "sam", "sam-pw")->role, "student");
    EXPECT_FALSE(login(*by_member_of, "nora", "nora-pw"));

    auto p = options();
    p.teacher_group.clear();
    p.student_group = kPosixStudentsDn;
    p.group_member_attribute = "memberUid";
    auto posix = auth::make_ldap_realm(p, *pool_);
    EXPECT_EQ(login(*posix, "sam", "sam-pw")->role, "student");
    EXPECT_FALSE(login(*posix, "sally", "sally-pw"));  // not listed in the posixGroup
}

TEST_F(LdapRealm, WithoutGroupsTheRealmGrantsItsRole) {
    auto o = options();
    o.teacher_group.clear();
    o.student_group.clear();
    o.role = "student";
    auto realm = auth::make_ldap_realm(o, *pool_);
    EXPECT_EQ(login(*realm, "nora", "nora-pw")->role, "student");
    EXPECT_FALSE(login(*realm, "nora", "bad"));
}

TEST_F(LdapRealm, AServerCertificateFromAnotherCaIsRefused) {
    for (const auto& url : {slapd_->ldap_url(), slapd_->ldaps_url()}) {
        auto o = options(url);
        o.ca_file = slapd_->wrong_ca_file();
        auto realm = auth::make_ldap_realm(o, *pool_);
        auto e = failure(*realm, "tina", "tina-pw");
        EXPECT_EQ(e.code(), core::Code::unavailable) << url << ": " << e.what();
        EXPECT_NE(std::string(e.what()).find("realm 'school'"), std::string::npos) << e.what();
        // Nor does the system's trust store know the test CA.
        o.ca_file.clear();
        auto system = auth::make_ldap_realm(o, *pool_);
        EXPECT_EQ(failure(*system, "tina", "tina-pw").code(), core::Code::unavailable) << url;
    }
}

TEST_F(LdapRealm, AWrongServicePasswordIsAnUpstreamErrorNamingTheRealm) {
    auto o = options();
    o.bind_password = "not-the-service-password";
    auto realm = auth::make_ldap_realm(o, *pool_);
    auto e = failure(*realm, "tina", "tina-pw");
    EXPECT_EQ(e.code(), core::Code::upstream);
    EXPECT_NE(std::string(e.what()).find("realm 'school'"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("not-the-service-password"), std::string::npos);
}

TEST_F(LdapRealm, AStoppedServerIsUnavailableNamingTheRealm) {
    auto realm = auth::make_ldap_realm(options(), *pool_);
    slapd_->stop();
    auto e = failure(*realm, "tina", "tina-pw");
    EXPECT_EQ(e.code(), core::Code::unavailable);
    EXPECT_NE(std::string(e.what()).find("realm 'school'"), std::string::npos) << e.what();
    slapd_->start();
    EXPECT_EQ(login(*realm, "tina", "tina-pw")->role, "teacher");  // back without a restart of ours
}

// A server that accepts connections and never answers: the operation timeout ends the wait, and the
// blocking calls run on the worker pool, so the event loop keeps serving meanwhile.
TEST_F(LdapRealm, ASilentServerTimesOutWithoutBlockingTheEventLoop) {
    for (const auto& url : {slapd_->ldap_url(), slapd_->ldaps_url()}) {
        auto o = options(url);
        o.network_timeout = std::chrono::milliseconds(500);
        o.timeout = std::chrono::milliseconds(500);
        auto realm = auth::make_ldap_realm(o, *pool_);
        slapd_->pause();
        boost::asio::io_context ioc;  // one thread: the event loop
        bool done = false;
        int turns_while_waiting = 0;
        auto fut = boost::asio::co_spawn(
            ioc,
            [&]() -> boost::asio::awaitable<std::optional<auth::Identity>> {
                struct Done {
                    bool& done;
                    ~Done() { done = true; }
                } mark{done};
                co_return co_await realm->authenticate("tina", "tina-pw");
            },
            boost::asio::use_future);
        boost::asio::co_spawn(
            ioc,
            [&]() -> boost::asio::awaitable<void> {
                while (!done) {
                    ++turns_while_waiting;
                    co_await boost::asio::post(co_await boost::asio::this_coro::executor,
                                               boost::asio::use_awaitable);
                }
            },
            boost::asio::detached);
        ioc.run();
        slapd_->resume();
        try {
            fut.get();
            ADD_FAILURE() << url << ": a silent server must not be taken for an answer";
        } catch (const core::Error& e) {
            EXPECT_EQ(e.code(), core::Code::unavailable) << url << ": " << e.what();
            EXPECT_NE(std::string(e.what()).find("realm 'school'"), std::string::npos) << e.what();
        }
        EXPECT_GT(turns_while_waiting, 1) << "the event loop was blocked by the LDAP calls";
    }
}

TEST(LdapRealmConfig, BadEntriesAreRefusedNamingTheKey) {
    core::Config config;
    core::WorkerPool pool(1);
    auto store = store::open_store("sqlite::memory:");  // RealmDeps wants one; the ldap realm uses none
    auto error_of = [&](const std::string& yaml) {
        try {
            auto entry = YAML::Load(yaml);
            auth::RealmDeps deps{*store, pool, config};
            auth::make_ldap_realm(entry, deps);
        } catch (const core::Error& e) {
            EXPECT_EQ(e.code(), core::Code::invalid) << e.what();
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    // A valid entry with `extra` keys added or replacing its own (YAML keeps the first of duplicate keys).
    auto with = [](const std::string& extra) {
        std::string e = "{name: school, kind: ldap, " + extra;
        if (extra.find("url:") == std::string::npos) e += ", url: 'ldaps://ldap.example.edu'";
        if (extra.find("base_dn:") == std::string::npos) e += ", base_dn: 'ou=people,dc=example,dc=edu'";
        if (extra.find("role:") == std::string::npos && extra.find("_group:") == std::string::npos)
            e += ", role: student";
        return e + "}";
    };
    const std::string base = "starttls: true";
    EXPECT_EQ(error_of(with(base)), "accepted");
    EXPECT_NE(error_of(with("url: 'http://ldap.example.edu'")).find("auth.realms.school.url"),
              std::string::npos);
    EXPECT_NE(error_of(with("url: 'ldaps://a ldap://b'")).find("same scheme"), std::string::npos);
    EXPECT_NE(
        error_of("{name: school, kind: ldap, url: 'ldaps://h', role: student}").find("base_dn is required"),
        std::string::npos);
    EXPECT_NE(error_of(with("base_dn: 'not a dn'")).find("auth.realms.school.base_dn"), std::string::npos);
    EXPECT_NE(error_of(with("user_filter: '(uid=alice)'")).find("must contain {username}"),
              std::string::npos);
    EXPECT_NE(error_of(with("user_filter: '(&(uid={username})'")).find("balanced"), std::string::npos);
    EXPECT_NE(error_of(with("username_attribute: 'uid)(cn=*'")).find("not an attribute name"),
              std::string::npos);
    EXPECT_NE(error_of(with("teacher_group: 'cn=t,dc=x', role: teacher")).find("not both"),
              std::string::npos);
    EXPECT_NE(error_of(with("role: admin")).find("auth.realms.school.role must be teacher or student"),
              std::string::npos);
    EXPECT_EQ(error_of(with("teacher_group: 'cn=t,dc=x'")), "accepted");
    EXPECT_NE(error_of(with("rol: teacher")).find("auth.realms.school.rol is not a key"), std::string::npos);
    EXPECT_NE(error_of(with("timeout: 0s")).find("auth.realms.school.timeout"), std::string::npos);
    EXPECT_NE(error_of(with("timeout: soon")).find("auth.realms.school.timeout"), std::string::npos);
    EXPECT_NE(error_of(with("ca_file: /nonexistent/ca.pem")).find("cannot read"), std::string::npos);
    // A service account without its password would bind unauthenticated: refused, naming the variable.
    EXPECT_NE(error_of(with("bind_dn: 'cn=svc,dc=example,dc=edu'"))
                  .find("NETPRAXIS_AUTH__LDAP__SCHOOL__BIND_PASSWORD"),
              std::string::npos);
    // ... which the environment provides.
    std::string var = "NETPRAXIS_AUTH__LDAP__SCHOOL__BIND_PASSWORD=from-env";
    char* env[] = {var.data(), nullptr};
    config.apply_env(env);
    EXPECT_EQ(error_of(with("bind_dn: 'cn=svc,dc=example,dc=edu'")), "accepted");
}
