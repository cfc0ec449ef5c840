#include "api_session.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace np::testkit {
namespace json = boost::json;

ApiSession::Headers ApiSession::login(const std::string& user, const std::string& password,
                                      const std::string& realm) {
    json::object body{{"username", user}, {"password", password}};
    if (!realm.empty()) body["realm"] = realm;
    auto r = http_.request("POST", "/api/v1/auth/login", json::serialize(body));
    EXPECT_EQ(r.status, 200) << "login " << user << ": " << r.body;
    if (r.status != 200) return {};
    return {{"Authorization", "Bearer " + std::string(json::parse(r.body).at("token").as_string())}};
}

json::value ApiSession::call(const std::string& method, const std::string& path, const Headers& h,
                             const std::string& body, int expect) {
    auto r = http_.request(method, path, body, h);
    if (expect != kAnyStatus) {
        EXPECT_EQ(r.status, expect) << method << " " << path << ": " << r.body;
    }
    if (r.body.empty()) return nullptr;
    if (r.header("content-type").find("json") == std::string::npos) return json::value(r.body);
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec) {
        ADD_FAILURE() << method << " " << path << " answered JSON that does not parse: " << r.body;
        return nullptr;
    }
    return v;
}

json::object ApiSession::wait_job(const std::string& id, const Headers& h, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    json::object job;
    while (std::chrono::steady_clock::now() < deadline) {
        auto v = call("GET", "/api/v1/jobs/" + id, h);
        if (!v.is_object()) break;
        job = v.as_object();
        auto state = job.at("state").as_string();
        if (state == "succeeded" || state == "failed" || state == "cancelled") return job;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " did not finish within " << limit.count()
                  << " s: " << json::serialize(job);
    return {};
}

json::object ApiSession::evaluate(const std::string& assignment, const Headers& h) {
    auto ev = call("POST", "/api/v1/assignments/" + assignment + "/evaluations", h, "", 202);
    if (!ev.is_object()) return {};
    wait_job(std::string(ev.at("job").at("id").as_string()), h);
    auto out = call("GET", "/api/v1/evaluations/" + std::string(ev.at("evaluation").at("id").as_string()), h);
    return out.is_object() ? out.as_object() : json::object{};
}

}  // namespace np::testkit
