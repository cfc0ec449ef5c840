// The `local` realm: users stored in netpraxis with argon2id hashes (`netpraxis user add`).
#pragma once

#include "auth/realm.hpp"

namespace np::auth {

class LocalRealm final : public Realm {
 public:
    LocalRealm(std::string name, store::Store& store, core::WorkerPool& pool);
    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "local"; }
    boost::asio::awaitable<std::optional<Identity>> authenticate(std::string username,
                                                                 std::string password) override;

 private:
    std::string name_;
    store::Store& store_;
    core::WorkerPool& pool_;
};

}  // namespace np::auth
