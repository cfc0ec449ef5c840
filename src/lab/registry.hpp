// lab::ProviderRegistry: the lab providers this server can use, by name. Built once at the composition
// root (src/cmd/server_main.cpp), which registers each provider it builds; the use-cases (app::Workflows)
// look the provider of an environment up by the name its record stores ("local", later "proxmox").
// A new provider: a folder src/lab/<name>/ implementing lab::Provider, added here by serve's wiring.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lab/provider.hpp"

namespace np::lab {

class ProviderRegistry {
 public:
    // Registers `provider` under its name(); throws invalid when that name is already registered.
    Provider& add(std::unique_ptr<Provider> provider);
    // The provider registered as `name`; throws conflict naming the registered ones when there is none.
    Provider& get(std::string_view name) const;
    bool contains(std::string_view name) const { return providers_.find(name) != providers_.end(); }
    // Registered names, sorted.
    std::vector<std::string> names() const;
    // Every provider's counters() as Prometheus text (one HELP/TYPE per counter name), for /metrics.
    std::string render_metrics() const;

 private:
    std::map<std::string, std::unique_ptr<Provider>, std::less<>> providers_;
};

}  // namespace np::lab
