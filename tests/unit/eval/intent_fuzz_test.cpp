// A mutation fuzzer for the intent parsers that runs under any compiler (the libFuzzer target
// tests/fuzz/eval_intents_fuzz.cpp needs clang): real device outputs (the eval_intents corpus) mutated
// with a fixed seed (byte flips, runs of digits, spaces and separators, repeated lines, lines spliced from
// other platforms' outputs, cuts) and graded as every intent on every platform. Nothing may crash or throw
// anything but core::Error. NP_INTENT_FUZZ_ITERATIONS sets the count (scripts/bench-intent-fuzz.sh runs a
// long one and prints its counts); NP_INTENT_FUZZ_SEED the seed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "core/error.hpp"
#include "eval/intent.hpp"
#include "eval/matcher.hpp"

namespace np::eval {
namespace {

// A corpus file: a byte picking the platform (index in the registry's sorted names), one picking the intent
// (index in intent_kinds()), then a real output of that platform for that intent.
struct Seed {
    std::size_t platform = 0, kind = 0;
    std::string output;
    bool operator<(const Seed& o) const { return output < o.output; }
};

std::vector<Seed> seeds() {
    std::vector<Seed> out;
    std::filesystem::path dir = std::string(NETPRAXIS_SOURCE_DIR) + "/tests/fuzz/corpus/eval_intents";
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(e.path(), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (bytes.size() > 2)
            out.push_back({static_cast<unsigned char>(bytes[0]), static_cast<unsigned char>(bytes[1]),
                           bytes.substr(2)});
    }
    std::sort(out.begin(), out.end());  // the same order everywhere: a seed reproduces a run
    return out;
}

std::string mutate(std::string s, const std::vector<Seed>& pool, std::mt19937& rng) {
    auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
    static const std::string alphabet = "0123456789 ./:-,*>[]()=\"\t\r\nabcdefghijklmnopqrstuvwxyzFULDR";
    int steps = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < steps; ++k) {
        std::size_t at = pick(s.size() + 1);
        switch (rng() % 6) {
            case 0:
                if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng() % 256);
                break;
            case 1: {
                std::string run(1 + pick(300), alphabet[pick(alphabet.size())]);
                s.insert(at, run);
                break;
            }
            case 2: {  // a line repeated
                auto begin = s.rfind('\n', at == 0 ? 0 : at - 1);
                begin = begin == std::string::npos ? 0 : begin + 1;
                auto end = s.find('\n', begin);
                std::string line =
                    s.substr(begin, end == std::string::npos ? std::string::npos : end - begin + 1);
                for (std::size_t r = pick(60); r > 0; --r) s.insert(begin, line);
                break;
            }
            case 3: {  // a line from another output
                const std::string& other = pool[pick(pool.size())].output;
                std::size_t from = pick(other.size());
                auto end = other.find('\n', from);
                s.insert(at,
                         other.substr(from, end == std::string::npos ? std::string::npos : end - from + 1));
                break;
            }
            case 4: s.erase(at, pick(200)); break;
            default: s.resize(pick(s.size() + 1));
        }
    }
    return s.size() > 65536 ? s.substr(0, 65536) : s;
}

Intent intent_for(const std::string& kind, std::mt19937& rng) {
    Intent i;
    i.kind = kind;
    i.path = "fuzz." + kind;
    i.present = rng() % 4 != 0;
    if (kind == "interface") i.fields = {{"name", "eth1"}, {"address", "10.0.0.1/24"}, {"oper", "up"}};
    if (kind == "route") i.fields = {{"prefix", "10.0.0.0/24"}, {"next_hop", "10.0.0.2"}, {"fib", "true"}};
    if (kind == "ospf_neighbor") i.fields = {{"state", "full"}, {"area", "0"}};
    if (kind == "bgp_session") i.fields = {{"peer", "10.0.0.2"}, {"prefixes_received", ">= 1"}};
    if (kind == "vlan") i.fields = {{"id", "10"}, {"ports", "Et1, Gi0/1"}};
    if (kind == "reachability") i.fields = {{"target", "10.0.0.2"}, {"success", "60"}};
    if (kind == "config") i.fields = {{"section", "interface eth1"}, {"match", "^ip address 10\\.[0-9.]+"}};
    return i;
}

TEST(IntentFuzz, MutatedRealOutputsNeverCrashTheParsers) {
    const std::vector<Seed> pool = seeds();
    ASSERT_FALSE(pool.empty());
    long iterations = 1500;
    if (const char* n = std::getenv("NP_INTENT_FUZZ_ITERATIONS")) iterations = std::max(1L, std::atol(n));
    unsigned seed = 17;
    if (const char* s = std::getenv("NP_INTENT_FUZZ_SEED")) seed = static_cast<unsigned>(std::atol(s));
    std::mt19937 rng(seed);
    const auto& reg = PlatformRegistry::builtin();
    const auto names = reg.names();
    long graded = 0, passed = 0, records = 0, errors = 0, unsupported = 0;
    for (long n = 0; n < iterations; ++n) {
        // Mostly the seed's own platform and intent (its parser sees near-real output), else any.
        const Seed& seed_input = pool[rng() % pool.size()];
        std::string output = mutate(seed_input.output, pool, rng);
        bool own = rng() % 4 != 0;
        const Platform& p = *reg.find(names[(own ? seed_input.platform : rng()) % names.size()]);
        const std::string& kind = intent_kinds()[(own ? seed_input.kind : rng()) % intent_kinds().size()];
        auto parser = p.intents.find(kind);
        if (parser == p.intents.end()) {
            ++unsupported;
            continue;
        }
        try {
            records += static_cast<long>(parser->second.parse(output).size());
            passed += evaluate_intent(intent_for(kind, rng), output, {}, p).passed;
            ++graded;
        } catch (const core::Error& e) {
            ++errors;  // a regex too complex for this input: reported, the grader goes on
            if (errors <= 3)
                std::printf("intent-fuzz error (%s %s): %s\n", p.name.c_str(), kind.c_str(), e.what());
        }
    }
    std::printf(
        "intent-fuzz seed=%u inputs=%ld graded=%ld passed=%ld records=%ld errors=%ld unsupported=%ld\n", seed,
        iterations, graded, passed, records, errors, unsupported);
    EXPECT_EQ(graded + errors + unsupported, iterations);
    EXPECT_GT(records, 0);
}

}  // namespace
}  // namespace np::eval
