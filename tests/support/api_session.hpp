// Test helper: one client's conversation with a test server's API — log in, call a route and check its
// status, wait for a job, grade an assignment. The end-to-end tests share it instead of each carrying a copy.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "http_client.hpp"

namespace np::testkit {

class ApiSession {
 public:
    using Headers = std::vector<std::pair<std::string, std::string>>;
    static constexpr int kAnyStatus = 0;

    explicit ApiSession(std::uint16_t port) : http_(port) {}
    HttpClient& http() { return http_; }

    // A bearer token's headers; the login must answer 200 (a test failure otherwise, and no headers).
    Headers login(const std::string& user, const std::string& password, const std::string& realm = "");
    // Sends the request and checks its status (unless kAnyStatus). The body as JSON when it is JSON, as a
    // JSON string when it is text, null when empty.
    boost::json::value call(const std::string& method, const std::string& path, const Headers& h,
                            const std::string& body = "", int expect = 200);
    // Polls /api/v1/jobs/{id} until it has finished (succeeded, failed or cancelled); its last JSON. A test
    // failure and an empty object past `limit`.
    boost::json::object wait_job(const std::string& id, const Headers& h,
                                 std::chrono::seconds limit = std::chrono::seconds(120));
    // Asks for an evaluation of the assignment, waits for its job, returns the evaluation as `h` reads it.
    boost::json::object evaluate(const std::string& assignment, const Headers& h);

 private:
    HttpClient http_;
};

}  // namespace np::testkit
