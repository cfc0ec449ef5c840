// evaluate_blocking: one evaluation on its own io_context (for the CLI and tests).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "eval/engine.hpp"

namespace np::eval {

Evaluation evaluate_blocking(const PlatformRegistry& platforms, EngineOptions options, const Spec& spec,
                             const std::string& student, const std::map<std::string, DeviceTarget>& targets,
                             SessionFactory factory) {
    boost::asio::io_context io;
    Engine engine(platforms, options);
    if (factory) engine.set_session_factory(std::move(factory));
    Evaluation result;
    std::exception_ptr failure;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> { result = co_await engine.evaluate(spec, student, targets); },
        [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
    return result;
}

}  // namespace np::eval
