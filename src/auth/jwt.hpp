// Session tokens: HS256 JWTs through libjwt (no hand-rolled token parsing). Only HS256 is accepted; `alg:
// none`, other algorithms, bad signatures, expired or not-yet-valid tokens are rejected. Verified tokens are
// cached by their exact text, so the hot path (every authenticated request) costs one hash lookup.
// Runs on the event loop only (the cache is not locked).
#pragma once

#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace np::auth {

struct Claims {
    std::string user_id;  // sub
    std::string username;
    std::string role;  // teacher | student
    std::string realm;
    std::string display_name;
    std::string csrf;  // the CSRF token bound to this session (double submit for cookie writes)
    std::string jti;   // token id, for logout revocation
    std::int64_t issued_at = 0;
    std::int64_t expires_at = 0;
    std::int64_t gen = 0;  // the user's session generation when issued (store::User::session_gen)
};

// A revocation that ends every session of a user issued before generation `gen` (a role, password or
// status change; deletion uses kUserGone). It travels as a revoked_tokens row whose jti is
// user_revocation_jti(): the same store rows and the same poll reach every instance.
inline constexpr std::int64_t kUserGone = INT64_MAX;
std::string user_revocation_jti(const std::string& user_id, std::int64_t gen);

class JwtCodec {
 public:
    JwtCodec(std::string secret, std::chrono::seconds ttl, std::string issuer = "netpraxis");

    // Fills iat, exp, jti and csrf when empty, and returns the signed token.
    std::string issue(Claims& claims, std::int64_t now) const;
    // The claims of a valid token; throws core::Error(unauthenticated) with the reason otherwise. Shared with
    // the cache, so the hot path neither copies the claims nor allocates.
    std::shared_ptr<const Claims> verify(std::string_view token, std::int64_t now);
    // Logout: the token's jti is refused until it would have expired anyway. In-memory: persisting the
    // revocation and learning those of other instances is the caller's (the store's revoked_tokens).
    // A jti made by user_revocation_jti() instead refuses every token of that user older than its
    // generation (verify costs one hash lookup more, and only while such revocations are alive).
    void revoke(const Claims& claims);
    void revoke(const std::string& jti, std::int64_t expires_at);

    std::chrono::seconds ttl() const { return ttl_; }

 private:
    Claims decode(std::string_view token) const;

    std::string secret_;
    std::chrono::seconds ttl_;
    std::string issuer_;
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::shared_ptr<const Claims>, Hash, std::equal_to<>> cache_;
    std::unordered_map<std::string, std::int64_t> revoked_;  // jti -> exp
    struct Cutoff {
        std::int64_t gen = 0;    // tokens of an older generation are refused
        std::int64_t until = 0;  // after this, every such token has expired anyway
    };
    std::unordered_map<std::string, Cutoff> user_cutoffs_;  // user id -> cutoff
};

}  // namespace np::auth
