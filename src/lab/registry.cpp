#include "lab/registry.hpp"

#include "core/error.hpp"

namespace np::lab {

Provider& ProviderRegistry::add(std::unique_ptr<Provider> provider) {
    if (!provider) throw core::invalid("no lab provider to register");
    std::string name(provider->name());
    if (name.empty()) throw core::invalid("a lab provider needs a name");
    if (contains(name)) throw core::invalid("lab provider '" + name + "' is registered twice");
    auto& slot = providers_[name];
    slot = std::move(provider);
    return *slot;
}

Provider& ProviderRegistry::get(std::string_view name) const {
    auto it = providers_.find(name);
    if (it != providers_.end()) return *it->second;
    std::string known;
    for (const auto& [n, p] : providers_) known += (known.empty() ? "" : ", ") + n;
    throw core::conflict(
        "lab provider '" + std::string(name) + "' is not available in this netpraxis build" +
        (known.empty() ? std::string(" (no provider is registered)") : " (registered: " + known + ")"));
}

std::vector<std::string> ProviderRegistry::names() const {
    std::vector<std::string> out;
    for (const auto& [n, p] : providers_) out.push_back(n);
    return out;
}

std::string ProviderRegistry::render_metrics() const {
    struct Family {
        std::string help;
        std::vector<std::string> samples;
    };
    std::map<std::string, Family> families;  // by metric name, so each gets one HELP/TYPE
    for (const auto& [provider_name, provider] : providers_)
        for (const auto& c : provider->counters()) {
            auto name = "netpraxis_lab_" + c.name + "_total";
            auto& f = families[name];
            if (f.help.empty()) f.help = c.help;
            f.samples.push_back(name + "{provider=\"" + provider_name + "\"} " + std::to_string(c.value) +
                                "\n");
        }
    std::string out;
    for (const auto& [name, f] : families) {
        out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " counter\n";
        for (const auto& line : f.samples) out += line;
    }
    return out;
}

}  // namespace np::lab
