// Intent parsers as data: how a platform observes an intent (the commands it runs) and how their output
// becomes records (named fields), TextFSM-like but with plain regexes with named groups. Loaded from the
// `intents:` of a platform entry (src/eval/intents.yaml, overridable with --platforms DIR like every field).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eval/regex.hpp"

namespace np::eval {

// One observed object: field -> values (a field may repeat: addresses, next hops, ports). `text` is the
// output it was read from (its first line), for evidence.
struct Record {
    std::map<std::string, std::vector<std::string>, std::less<>> fields;
    std::string text;

    // The first value of `field`, or empty.
    std::string get(std::string_view field) const;
    bool has(std::string_view field) const { return fields.count(field) > 0; }
};

// How one platform observes one intent.
//   command: 'show ip ospf neighbor'            one command or a list; {field} from the check's fields
//   record: '^(?<router_id>\S+)\s+\d+\s+...'    a record per matching line; or
//   start: '^Interface (?<name>\S+) is ...'     a record per matching line, continued by the following
//   fields: ['mtu (?<mtu>\d+)', ...]            lines until the next start: each named group adds a value
//   context: ['(?<length>/\d+) is subnetted']  a line (not a start) whose groups records after it take
//                                               when they lack them, up to the next context line
//   join: {prefix: [network, length]}           a field made of others' values, concatenated
//   split: {ports: ', *'}                       a captured value split into several
//   map: {protocol: {O: ospf, C: connected}}    values translated (exact match; '' = field absent)
//   set: {fib: 'true'}                          constant fields
//   filldown: [port]                            a record without these fields takes the previous one's
//   merge: id                                   records with the same value of this field become one
//   defaults: {count: '3'}                      values of command placeholders the check leaves out
//   style: indent | set | path                  config only: how sections are written
struct IntentParser {
    std::vector<std::string> commands;
    std::string record, start;
    std::vector<std::string> fields;
    Regex record_re, start_re;
    std::vector<Regex> field_res;
    std::vector<std::string> context;
    std::vector<Regex> context_res;
    std::map<std::string, std::vector<std::string>, std::less<>> join;
    std::map<std::string, std::string, std::less<>> split;
    std::vector<Regex> split_res;  // parallel to `split` (map order)
    std::map<std::string, std::map<std::string, std::string>, std::less<>> map;
    std::map<std::string, std::string, std::less<>> set, defaults;
    std::vector<std::string> filldown;
    std::string merge;
    std::string style = "indent";

    // Compiles the patterns; throws core::Error(invalid) naming `where`.
    void compile(const std::string& where);
    // Never throws for odd output (a regex too complex to match is reported as core::Error(invalid)).
    std::vector<Record> parse(std::string_view output) const;

 private:
    std::vector<Record> finished(std::vector<Record> records) const;
};

}  // namespace np::eval
