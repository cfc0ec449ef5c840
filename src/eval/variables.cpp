#include "eval/variables.hpp"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <charconv>

#include "core/error.hpp"

namespace np::eval {
namespace {

// 64 bits of SHA-256 over the inputs joined by NUL: stable across platforms and releases.
std::uint64_t stable_hash(std::string_view a, std::string_view b, std::string_view c,
                          std::uint64_t salt = 0) {
    std::string input;
    input.append(a).push_back('\0');
    input.append(b).push_back('\0');
    input.append(c).push_back('\0');
    input.append(std::to_string(salt));
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha256(), nullptr);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | digest[static_cast<std::size_t>(i)];
    return v;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

bool parse_int(std::string_view s, std::int64_t& out) {
    s = trim(s);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::string ipv4_text(std::uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
           std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

Subnet Subnet::parse(std::string_view cidr) {
    auto bad = [&] {
        return core::invalid("'" + std::string(cidr) + "' is not an IPv4 subnet like 10.0.0.0/8");
    };
    auto slash = cidr.find('/');
    if (slash == std::string_view::npos) throw bad();
    std::int64_t prefix = 0;
    if (!parse_int(cidr.substr(slash + 1), prefix) || prefix < 0 || prefix > 32) throw bad();
    std::uint32_t addr = 0;
    std::string_view rest = cidr.substr(0, slash);
    for (int i = 0; i < 4; ++i) {
        auto dot = rest.find('.');
        std::string_view part = i < 3 ? rest.substr(0, dot) : rest;
        if ((i < 3 && dot == std::string_view::npos) || part.empty() || part.size() > 3) throw bad();
        std::int64_t octet = 0;
        if (!parse_int(part, octet) || octet < 0 || octet > 255) throw bad();
        addr = (addr << 8) | static_cast<std::uint32_t>(octet);
        if (i < 3) rest.remove_prefix(dot + 1);
    }
    Subnet s{addr, static_cast<int>(prefix)};
    if ((s.network & s.mask()) != s.network)
        throw core::invalid("'" + std::string(cidr) + "' has host bits set (network is " +
                            ipv4_text(s.network & s.mask()) + ")");
    return s;
}

std::uint32_t Subnet::host(std::int64_t n) const {
    std::uint64_t count = prefix == 0 ? (1ull << 32) : (1ull << (32 - prefix));
    if (n < 0 || static_cast<std::uint64_t>(n) >= count)
        throw core::invalid("host(" + std::to_string(n) + ") is outside " + cidr());
    return network + static_cast<std::uint32_t>(n);
}

bool Subnet::contains(const Subnet& o) const {
    return o.prefix >= prefix && (o.network & mask()) == network;
}
bool Subnet::overlaps(const Subnet& o) const {
    return contains(o) || o.contains(*this);
}
std::string Subnet::cidr() const {
    return ipv4_text(network) + "/" + std::to_string(prefix);
}

std::string Value::str() const {
    switch (kind) {
        case Kind::integer: return std::to_string(integer);
        case Kind::subnet: return subnet.cidr();
        case Kind::text: break;
    }
    return text;
}

Values derive_values(const std::vector<VariableDef>& defs, std::string_view exercise_id,
                     std::string_view student) {
    Values values;
    std::vector<Subnet> taken;
    for (const auto& d : defs) {
        Value v;
        std::uint64_t h = stable_hash(exercise_id, student, d.name);
        switch (d.kind) {
            case VariableDef::Kind::integer: {
                v.kind = Value::Kind::integer;
                auto span = static_cast<std::uint64_t>(d.max - d.min) + 1;
                v.integer = d.min + static_cast<std::int64_t>(h % span);
                break;
            }
            case VariableDef::Kind::choice:
                v.kind = Value::Kind::text;
                v.text = d.choices.at(h % d.choices.size());
                if (std::int64_t n = 0; parse_int(v.text, n)) {
                    v.kind = Value::Kind::integer;
                    v.integer = n;
                }
                break;
            case VariableDef::Kind::subnet: {
                v.kind = Value::Kind::subnet;
                std::uint64_t count = 1ull << (d.prefix - d.within.prefix);
                std::uint64_t start = h % count;
                bool found = false;
                // Linear probing from the hashed slot keeps the choice stable and avoids earlier subnets.
                for (std::uint64_t i = 0; i < count && !found; ++i) {
                    std::uint64_t slot = (start + i) % count;
                    Subnet s{d.within.network + static_cast<std::uint32_t>(slot << (32 - d.prefix)),
                             d.prefix};
                    bool clash = false;
                    for (const auto& t : taken) clash = clash || t.overlaps(s);
                    if (!clash) {
                        v.subnet = s;
                        found = true;
                    }
                }
                if (!found)
                    throw core::invalid("variable '" + d.name + "': no free /" + std::to_string(d.prefix) +
                                        " left in " + d.within.cidr());
                taken.push_back(v.subnet);
                break;
            }
            case VariableDef::Kind::pattern: {
                v.kind = Value::Kind::text;
                std::uint64_t salt = 0;
                for (char c : d.pattern) {
                    std::uint64_t r = stable_hash(exercise_id, student, d.name, ++salt);
                    if (c == '#')
                        v.text.push_back(static_cast<char>('0' + r % 10));
                    else if (c == '?')
                        v.text.push_back(static_cast<char>('a' + r % 26));
                    else if (c == '*')
                        v.text.push_back("abcdefghijklmnopqrstuvwxyz0123456789"[r % 36]);
                    else
                        v.text.push_back(c);
                }
                break;
            }
        }
        values[d.name] = std::move(v);
    }
    // Built-ins usable in every template.
    values.try_emplace("student", Value{Value::Kind::text, std::string(student), 0, {}});
    values.try_emplace("exercise", Value{Value::Kind::text, std::string(exercise_id), 0, {}});
    return values;
}

namespace {

std::string eval_expression(std::string_view expr, const Values& values, std::set<std::string>* used) {
    std::string_view e = trim(expr);
    auto dot = e.find('.');
    std::string name(trim(e.substr(0, dot)));
    if (used) used->insert(name);
    auto it = values.find(name);
    if (it == values.end())
        throw core::invalid("unknown variable '" + name + "' in '{{" + std::string(expr) + "}}'");
    const Value& v = it->second;
    if (dot == std::string_view::npos) return v.str();
    std::string_view acc = trim(e.substr(dot + 1));
    auto bad = [&](std::string why) { return core::invalid("'{{" + std::string(expr) + "}}': " + why); };
    if (v.kind != Value::Kind::subnet)
        throw bad("variable '" + name + "' is not a subnet, it has no accessors");
    const Subnet& s = v.subnet;
    if (acc == "network") return ipv4_text(s.network);
    if (acc == "prefix") return std::to_string(s.prefix);
    if (acc == "mask") return ipv4_text(s.mask());
    if (acc == "gateway") return ipv4_text(s.host(1));
    if (acc == "broadcast") return ipv4_text(s.broadcast());
    if (acc == "cidr") return s.cidr();
    if (acc.starts_with("host(") && acc.ends_with(")")) {
        std::int64_t n = 0;
        if (!parse_int(acc.substr(5, acc.size() - 6), n)) throw bad("host(n) needs an integer");
        return ipv4_text(s.host(n));
    }
    throw bad("unknown accessor '" + std::string(acc) +
              "' (network, prefix, mask, gateway, host(n), broadcast, cidr)");
}

template <class F>
std::string scan(std::string_view text, F&& on_expr) {
    std::string out;
    std::size_t pos = 0;
    while (true) {
        auto open = text.find("{{", pos);
        if (open == std::string_view::npos) break;
        auto close = text.find("}}", open + 2);
        if (close == std::string_view::npos)
            throw core::invalid("unclosed '{{' in '" + std::string(text) + "'");
        out.append(text.substr(pos, open - pos));
        out.append(on_expr(text.substr(open + 2, close - open - 2)));
        pos = close + 2;
    }
    out.append(text.substr(pos));
    return out;
}

}  // namespace

std::string render(std::string_view text, const Values& values, std::set<std::string>* used) {
    return scan(text, [&](std::string_view expr) { return eval_expression(expr, values, used); });
}

std::set<std::string> referenced_names(std::string_view text) {
    std::set<std::string> names;
    try {
        scan(text, [&](std::string_view expr) {
            std::string_view e = trim(expr);
            names.insert(std::string(trim(e.substr(0, e.find('.')))));
            return std::string();
        });
    } catch (const core::Error&) {
    }
    return names;
}

}  // namespace np::eval
