#include "auth/jwt.hpp"

#include <jwt.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/states.hpp"

namespace np::auth {
namespace {

constexpr std::size_t kCacheMax = 50'000;

struct JwtDeleter {
    void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

std::string grant(jwt_t* j, const char* name) {
    const char* v = jwt_get_grant(j, name);
    return v ? v : "";
}

}  // namespace

JwtCodec::JwtCodec(std::string secret, std::chrono::seconds ttl, std::string issuer)
    : secret_(std::move(secret)), ttl_(ttl), issuer_(std::move(issuer)) {
    if (secret_.size() < 32) throw core::invalid("auth.jwt_secret must be at least 32 characters");
}

std::string JwtCodec::issue(Claims& c, std::int64_t now) const {
    if (c.jti.empty()) c.jti = core::random_hex(12);
    if (c.csrf.empty()) c.csrf = core::random_base64url(18);
    c.issued_at = now;
    c.expires_at = now + ttl_.count();
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) throw core::internal("jwt_new failed");
    JwtPtr j(raw);
    jwt_add_grant(raw, "iss", issuer_.c_str());
    jwt_add_grant(raw, "sub", c.user_id.c_str());
    jwt_add_grant(raw, "usr", c.username.c_str());
    jwt_add_grant(raw, "role", c.role.c_str());
    jwt_add_grant(raw, "realm", c.realm.c_str());
    jwt_add_grant(raw, "name", c.display_name.c_str());
    jwt_add_grant(raw, "csrf", c.csrf.c_str());
    jwt_add_grant(raw, "jti", c.jti.c_str());
    jwt_add_grant_int(raw, "iat", static_cast<long>(c.issued_at));
    jwt_add_grant_int(raw, "exp", static_cast<long>(c.expires_at));
    jwt_add_grant_int(raw, "gen", static_cast<long>(c.gen));
    if (jwt_set_alg(raw, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret_.data()),
                    static_cast<int>(secret_.size())) != 0)
        throw core::internal("jwt_set_alg failed");
    char* out = jwt_encode_str(raw);
    if (!out) throw core::internal("jwt_encode_str failed");
    std::string token(out);
    free(out);  // libjwt 1.10 allocates with malloc (jwt_free_str came in 1.12)
    return token;
}

Claims JwtCodec::decode(std::string_view token) const {
    if (token.empty() || token.size() > 4096) throw core::unauthenticated("malformed token");
    std::string t(token);
    jwt_t* raw = nullptr;
    // libjwt checks the signature against the key; we additionally insist on HS256 below, so a token
    // that claims `alg: none` or another algorithm is refused whatever libjwt makes of it.
    int rc = jwt_decode(&raw, t.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                        static_cast<int>(secret_.size()));
    JwtPtr j(raw);
    if (rc != 0 || !raw) throw core::unauthenticated("invalid token signature");
    if (jwt_get_alg(raw) != JWT_ALG_HS256) throw core::unauthenticated("token algorithm not accepted");
    if (grant(raw, "iss") != issuer_) throw core::unauthenticated("token issuer not accepted");
    Claims c;
    c.user_id = grant(raw, "sub");
    c.username = grant(raw, "usr");
    c.role = grant(raw, "role");
    c.realm = grant(raw, "realm");
    c.display_name = grant(raw, "name");
    c.csrf = grant(raw, "csrf");
    c.jti = grant(raw, "jti");
    c.issued_at = jwt_get_grant_int(raw, "iat");
    c.expires_at = jwt_get_grant_int(raw, "exp");
    c.gen = jwt_get_grant_int(raw, "gen");  // 0 in tokens issued before generations existed
    if (c.user_id.empty() || !store::parse<store::Role>(c.role) || c.expires_at == 0)
        throw core::unauthenticated("token lacks required claims");
    return c;
}

std::shared_ptr<const Claims> JwtCodec::verify(std::string_view token, std::int64_t now) {
    std::shared_ptr<const Claims> c;
    if (auto it = cache_.find(token); it != cache_.end()) {
        c = it->second;
    } else {
        c = std::make_shared<const Claims>(decode(token));
        if (cache_.size() >= kCacheMax) cache_.clear();
        cache_.emplace(std::string(token), c);
    }
    if (now >= c->expires_at) {
        cache_.erase(std::string(token));
        throw core::unauthenticated("token expired: log in again");
    }
    if (c->issued_at > now + 60) throw core::unauthenticated("token not yet valid");
    if (!revoked_.empty() && revoked_.contains(c->jti))
        throw core::unauthenticated("token was revoked (logged out)");
    if (!user_cutoffs_.empty()) {
        auto it = user_cutoffs_.find(c->user_id);
        if (it != user_cutoffs_.end() && c->gen < it->second.gen)
            throw core::unauthenticated(it->second.gen == kUserGone
                                            ? "this account no longer exists"
                                            : "this account changed (role, password or status) since this "
                                              "session began: log in again");
    }
    return c;
}

std::string user_revocation_jti(const std::string& user_id, std::int64_t gen) {
    return "user:" + user_id + ":" + std::to_string(gen);
}

void JwtCodec::revoke(const Claims& c) {
    revoke(c.jti, c.expires_at);
}

void JwtCodec::revoke(const std::string& jti, std::int64_t expires_at) {
    // Forget revocations whose tokens have expired anyway, so the set stays small.
    std::int64_t now = core::unix_now();
    std::erase_if(revoked_, [&](const auto& kv) { return kv.second <= now; });
    std::erase_if(user_cutoffs_, [&](const auto& kv) { return kv.second.until <= now; });
    if (expires_at <= now) return;
    if (jti.starts_with("user:")) {
        auto colon = jti.rfind(':');
        std::int64_t gen = 0;
        try {
            gen = std::stoll(jti.substr(colon + 1));
        } catch (const std::exception&) {
            return;  // not one of ours
        }
        auto& cut = user_cutoffs_[jti.substr(5, colon - 5)];
        cut.gen = std::max(cut.gen, gen);
        cut.until = std::max(cut.until, expires_at);
        return;
    }
    revoked_.emplace(jti, expires_at);
}

}  // namespace np::auth
