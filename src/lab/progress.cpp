#include "lab/progress.hpp"

#include "lab/provider.hpp"

namespace np::lab {

namespace {

class DropSink final : public ProgressSink {
 public:
    boost::asio::awaitable<void> step(std::string /*text*/) override { co_return; }
    void fact(std::string /*key*/, std::int64_t /*value*/) override {}
};

}  // namespace

Provider::ProgressScope::~ProgressScope() {
    std::lock_guard lock(provider_->progress_mutex_);
    provider_->progress_.erase(env_);
}

Provider::ProgressScope Provider::attach_progress(const std::string& env, ProgressSink& sink) {
    std::lock_guard lock(progress_mutex_);
    progress_[env] = &sink;
    return ProgressScope(*this, env);
}

ProgressSink& Provider::progress(const std::string& env) {
    static DropSink drop;
    std::lock_guard lock(progress_mutex_);
    auto it = progress_.find(env);
    return it == progress_.end() ? static_cast<ProgressSink&>(drop) : *it->second;
}

}  // namespace np::lab
