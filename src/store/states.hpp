// Named enums for the roles and states netpraxis records, one per concept, and their names: the strings the
// store keeps (the tables' CHECKs), the API shows and the configuration takes. The one place those names
// are written: code compares and validates through name()/parse() instead of spelling them.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace np::store {

enum class Role { teacher, student };                  // users.role
enum class DesiredState { absent, stopped, running };  // environments.desired_state
// environments.observed_state: what the lab is (lab::EnvState, what a provider sees), what a job is doing
// to it (creating, deleting), error, or unavailable (the instance it lives on is gone).
enum class ObservedState { absent, creating, stopped, running, degraded, deleting, error, unavailable };
enum class JobState { queued, running, succeeded, failed, cancelled };  // jobs.state
enum class EvaluationStatus { queued, running, done, error };           // evaluations.status
enum class VersionState { draft, published };                           // exercise_versions.state

template <class E>
struct EnumNames;  // `names`, in the enum's order
template <>
struct EnumNames<Role> {
    static constexpr std::array<std::string_view, 2> names{"teacher", "student"};
};
template <>
struct EnumNames<DesiredState> {
    static constexpr std::array<std::string_view, 3> names{"absent", "stopped", "running"};
};
template <>
struct EnumNames<ObservedState> {
    static constexpr std::array<std::string_view, 8> names{"absent",   "creating", "stopped", "running",
                                                           "degraded", "deleting", "error",   "unavailable"};
};
template <>
struct EnumNames<JobState> {
    static constexpr std::array<std::string_view, 5> names{"queued", "running", "succeeded", "failed",
                                                           "cancelled"};
};
template <>
struct EnumNames<EvaluationStatus> {
    static constexpr std::array<std::string_view, 4> names{"queued", "running", "done", "error"};
};
template <>
struct EnumNames<VersionState> {
    static constexpr std::array<std::string_view, 2> names{"draft", "published"};
};

// The stored name of a value ("teacher").
template <class E>
constexpr std::string_view name(E value) {
    return EnumNames<E>::names[static_cast<std::size_t>(value)];
}
// The same as a std::string (for the store's string fields).
template <class E>
std::string str(E value) {
    return std::string(name(value));
}
// The value of a stored name; nullopt when it names none.
template <class E>
constexpr std::optional<E> parse(std::string_view text) {
    for (std::size_t i = 0; i < EnumNames<E>::names.size(); ++i)
        if (EnumNames<E>::names[i] == text) return static_cast<E>(i);
    return std::nullopt;
}
// True when `text` is the name of `value` (a stored field compared with a state).
template <class E>
constexpr bool is(std::string_view text, E value) {
    return text == name(value);
}
// The names for a message: "teacher or student", "absent, stopped or running".
template <class E>
std::string one_of() {
    const auto& n = EnumNames<E>::names;
    std::string out;
    for (std::size_t i = 0; i < n.size(); ++i)
        out += std::string(i == 0 ? "" : i + 1 == n.size() ? " or " : ", ") + std::string(n[i]);
    return out;
}

}  // namespace np::store
