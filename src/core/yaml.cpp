#include "core/yaml.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace np::core {
namespace {

// The pre-pass. yaml-cpp has no limit on alias expansion, and its tree builder (NodeBuilder) is not
// public API, so measuring has to be our own event handler; it is small and keeps no tree, only one
// frame per open collection and two numbers per anchor.
class Meter final : public YAML::EventHandler {
 public:
    Meter(const YamlLimits& limits, std::string what) : limits_(limits), what_(std::move(what)) {}

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  const std::string&) override {
        leaf(mark, anchor);
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (++aliases_ > limits_.max_aliases)
            fail(mark, "YAML has more than " + std::to_string(limits_.max_aliases) + " aliases");
        if (anchor >= anchors_.size() || anchors_[anchor].open)
            // yaml-cpp would build a cycle, and any walk of it would never end.
            fail(mark, "YAML alias refers to a node that contains it");
        const Expanded& e = anchors_[anchor];
        if (static_cast<std::uint64_t>(frames_.size()) + e.height >
            static_cast<std::uint64_t>(limits_.max_depth))
            fail(mark, "YAML nests deeper than " + std::to_string(limits_.max_depth) +
                           " levels (aliases included)");
        add(mark, e.nodes, e.height);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, anchor);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(mark, anchor);
    }
    void OnMapEnd() override { close(); }

 private:
    struct Expanded {
        std::uint64_t nodes = 0;   // this node and everything under it, aliases expanded
        std::uint64_t height = 0;  // levels of collections, this one included (0 for a scalar)
        bool open = false;         // a collection whose end has not been seen yet
    };
    struct Frame {
        YAML::anchor_t anchor;
        std::uint64_t nodes = 1;
        std::uint64_t height = 1;
    };

    [[noreturn]] void fail(const YAML::Mark& mark, std::string reason) const {
        throw YamlLimitError(what_, mark.line >= 0 ? mark.line + 1 : 0, std::move(reason));
    }
    Expanded& slot(YAML::anchor_t anchor) {
        if (anchor >= anchors_.size()) anchors_.resize(anchor + 1);
        return anchors_[anchor];
    }
    // Counts `nodes` more nodes of the expanded document, under the innermost open collection.
    void add(const YAML::Mark& mark, std::uint64_t nodes, std::uint64_t height) {
        total_ += nodes;
        if (total_ > limits_.max_nodes)
            fail(mark, "YAML expands to more than " + std::to_string(limits_.max_nodes) +
                           " nodes (aliases included)");
        if (!frames_.empty()) {
            frames_.back().nodes += nodes;
            frames_.back().height = std::max(frames_.back().height, height + 1);
        }
    }
    void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
        if (anchor != YAML::NullAnchor) slot(anchor) = {1, 0, false};
        add(mark, 1, 0);
    }
    void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
        if (static_cast<int>(frames_.size()) >= limits_.max_depth)
            fail(mark, "YAML nests deeper than " + std::to_string(limits_.max_depth) + " levels");
        total_ += 1;
        if (total_ > limits_.max_nodes)
            fail(mark, "YAML expands to more than " + std::to_string(limits_.max_nodes) +
                           " nodes (aliases included)");
        if (anchor != YAML::NullAnchor) slot(anchor).open = true;
        frames_.push_back({anchor});
    }
    void close() {
        Frame f = frames_.back();
        frames_.pop_back();
        if (f.anchor != YAML::NullAnchor) slot(f.anchor) = {f.nodes, f.height, false};
        if (!frames_.empty()) {
            // The collection itself was counted in total_ when it opened, its children as they came.
            frames_.back().nodes += f.nodes;
            frames_.back().height = std::max(frames_.back().height, f.height + 1);
        }
    }

    const YamlLimits& limits_;
    std::string what_;
    std::vector<Frame> frames_;
    std::vector<Expanded> anchors_;  // by yaml-cpp's anchor id (1, 2, ...; 0 is "no anchor")
    std::uint64_t total_ = 0;
    std::uint64_t aliases_ = 0;
};

}  // namespace

YamlLimitError::YamlLimitError(const std::string& what, int line, std::string reason)
    : Error(Code::invalid,
            what + ": " + (line > 0 ? "line " + std::to_string(line) + ": " : std::string()) + reason, false,
            {{"", (line > 0 ? "line " + std::to_string(line) + ": " : std::string()) + reason}}),
      line_(line),
      reason_(std::move(reason)) {}

YAML::Node load_yaml(std::string_view text, std::string_view what, const YamlLimits& limits) {
    if (text.size() > limits.max_bytes)
        throw YamlLimitError(std::string(what), 0,
                             "YAML document is larger than " + std::to_string(limits.max_bytes) + " bytes");
    std::string owned(text);
    {
        // First pass: events only, no tree; throws at the first event over a limit.
        std::istringstream in(owned);
        YAML::Parser parser(in);
        Meter meter(limits, std::string(what));
        parser.HandleNextDocument(meter);
    }
    // Second pass: the tree, now known to be small. (Parsing twice costs a few microseconds per KB; it
    // keeps us on yaml-cpp's public API.)
    return YAML::Load(owned);
}

YAML::Node load_yaml_file(const std::string& path, std::string_view what, const YamlLimits& limits) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw YAML::BadFile(path);
    std::string text(limits.max_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) throw YAML::BadFile(path);
    text.resize(static_cast<std::size_t>(in.gcount()));
    return load_yaml(text, what, limits);
}

}  // namespace np::core
