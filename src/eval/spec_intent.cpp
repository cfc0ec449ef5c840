#include "eval/spec_intent.hpp"

namespace np::eval {
namespace {

int line_of(const YAML::Node& n) {
    return n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
}

}  // namespace

bool parse_intent_node(const YAML::Node& node, const std::string& kind, const std::string& path, Intent& out,
                       std::vector<Diagnostic>& diags) {
    out.kind = kind;
    out.path = path;
    out.line = line_of(node);
    auto error = [&](const std::string& p, const YAML::Node& n, std::string msg) {
        diags.push_back({Diagnostic::Severity::error, p, n ? line_of(n) : out.line, std::move(msg)});
        return false;
    };
    if (node.IsScalar() && (kind == "reachability" || kind == "config")) {
        out.fields.emplace_back(kind == "reachability" ? "target" : "line", node.Scalar());
    } else if (!node.IsMap()) {
        return error(path, node, "must be a map of fields (" + kind + ": {field: value, ...})");
    } else {
        for (const auto& kv : node) {
            std::string name = kv.first.Scalar();
            const YAML::Node& v = kv.second;
            if (name == "present") {
                bool b = true;
                try {
                    b = v.as<bool>();
                } catch (const YAML::Exception&) {
                    error(path + ".present", v, "must be true or false");
                    continue;
                }
                out.present = b;
                continue;
            }
            std::string text;
            if (v.IsScalar()) {
                text = v.Scalar();
            } else if (v.IsSequence() && v.size() > 0) {
                for (const auto& item : v) {
                    if (!item.IsScalar()) {
                        error(path + "." + name, item, "must be a value or a list of values");
                        text.clear();
                        break;
                    }
                    text += (text.empty() ? "" : ", ") + item.Scalar();
                }
                if (text.empty()) continue;
            } else {
                error(path + "." + name, v, "must be a value or a list of values");
                continue;
            }
            out.fields.emplace_back(name, text);
        }
    }
    std::size_t before = diags.size();
    validate_intent(out, diags);
    return diags.size() == before;
}

void order_data_plane(Spec& spec) {
    std::vector<std::string> control;
    for (const auto& c : spec.checks)
        if (c.intent && is_control_plane_intent(c.intent->kind) && !c.id.empty()) control.push_back(c.id);
    for (auto& c : spec.checks)
        if (c.intent && c.intent->kind == "reachability") c.after_ids = control;
}

}  // namespace np::eval
