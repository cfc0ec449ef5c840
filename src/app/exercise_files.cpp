#include "app/exercise_files.hpp"

#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/bundle.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/yaml.hpp"
#include "gns3/zip.hpp"
#include "lab/topology.hpp"

namespace np::app {

namespace fs = std::filesystem;

namespace {

std::string mib(std::size_t n) {
    return n % (1u << 20) == 0 ? std::to_string(n >> 20) + " MiB" : std::to_string(n) + " bytes";
}

// A folder of its own for the zip's files while it is read (removed on scope exit): the topology's config
// files are then read by lab::parse_topology exactly as from an exercise's folder (core::resolve_in_bundle).
class ScratchDir {
 public:
    ScratchDir() {
        std::string tmpl = (fs::temp_directory_path() / "np-exercise-zip-XXXXXX").string();
        if (!mkdtemp(tmpl.data()))
            throw core::internal("cannot create a temporary folder for an uploaded zip");
        path_ = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const fs::path& path() const { return path_; }

 private:
    fs::path path_;
};

// The folder of the zip that holds the exercise: the top, or its only folder ("ospf/exercise.yaml").
std::string exercise_root(const gns3::Files& files) {
    for (const char* spec : {"exercise.yaml", "spec.yaml"})
        if (files.contains(spec)) return "";
    std::string root;
    for (const auto& [path, content] : files) {
        auto slash = path.find('/');
        if (slash == std::string::npos) return "";
        auto top = path.substr(0, slash + 1);
        if (!root.empty() && top != root) return "";
        root = top;
    }
    return root;
}

std::string read_text(const fs::path& dir, const std::string& name, const std::string& field,
                      const UploadLimits& limits) {
    fs::path file;
    try {
        file = core::resolve_in_bundle(dir, name);
    } catch (const core::Error& e) {
        throw core::invalid(field + " is not in the zip", {{field, "'" + name + "' " + e.what()}});
    }
    std::error_code ec;
    if (fs::file_size(file, ec) > limits.max_text)
        throw core::Error(core::Code::payload_too_large, field + " is too large", false,
                          {{field, "'" + name + "' is larger than " + mib(limits.max_text)}});
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The text of root[a] (or root[a][b]); "" when absent or not text. (Const nodes: a lookup never inserts.)
std::string scalar_at(const YAML::Node& root, const char* a, const char* b = nullptr) {
    if (!root.IsMap()) return "";
    const YAML::Node first = root[a];
    if (!first) return "";
    if (!b) return first.IsScalar() ? first.Scalar() : "";
    if (!first.IsMap()) return "";
    const YAML::Node second = first[b];
    return second && second.IsScalar() ? second.Scalar() : "";
}

// The spec's own file names (instructions, lab.local, lab.gns3), or the usual names when present.
void read_named_files(const fs::path& dir, const gns3::Files& files, const std::string& root,
                      const YAML::Node& spec, const UploadLimits& limits, ExerciseBundle& out) {
    auto named = [&](const char* key, const char* sub, const char* fallback) {
        auto name = scalar_at(spec, key, sub);
        if (name.empty() && fallback && files.contains(root + fallback)) name = fallback;
        return name;
    };
    if (auto name = named("instructions", nullptr, "instructions.md"); !name.empty())
        out.version.instructions = read_text(dir, name, "instructions", limits);
    if (auto name = named("lab", "local", "topology.yaml"); !name.empty()) {
        auto text = read_text(dir, name, "topology", limits);
        try {
            out.version.topology = lab::to_yaml(lab::parse_topology(text, name, dir));
        } catch (const core::Error& e) {
            std::vector<core::FieldError> fields;
            for (const auto& f : e.fields()) fields.push_back({"topology." + f.path, f.message});
            if (fields.empty()) fields.push_back({"topology", e.what()});
            throw core::invalid("the zip's topology '" + name + "' has errors", std::move(fields));
        }
    }
    std::string project = scalar_at(spec, "lab", "gns3");
    if (project.empty())  // the zip's only .gns3project, when the spec names none
        for (const auto& [path, content] : files)
            if (path.starts_with(root) && path.ends_with(".gns3project") &&
                path.find('/', root.size()) == std::string::npos) {
                if (!project.empty())
                    throw core::invalid("the zip holds several GNS3 projects",
                                        {{"lab.gns3", "name the one to use in exercise.yaml"}});
                project = path.substr(root.size());
            }
    if (!project.empty()) {
        auto it = files.find(root + project);
        if (it == files.end())
            throw core::invalid("the GNS3 project is not in the zip",
                                {{"lab.gns3", "'" + project + "' is missing"}});
        check_project_upload(project, it->second, limits);
        out.version.gns3_project = project;
        out.project = it->second;
    }
}

}  // namespace

void check_project_upload(const std::string& name, std::string_view bytes, const UploadLimits& limits) {
    if (auto problem = core::bundle_name_problem(name); !problem.empty())
        throw core::invalid("the project's name is not valid",
                            {{"name", "'" + name.substr(0, 80) + "' " + problem}});
    if (name.find('/') != std::string::npos || !name.ends_with(".gns3project"))
        throw core::invalid(
            "the project's name is not valid",
            {{"name", "'" + name.substr(0, 80) + "' must be a file name ending in .gns3project"}});
    if (bytes.size() > limits.max_file)
        throw core::Error(
            core::Code::payload_too_large, "the GNS3 project is too large", false,
            {{"gns3_project", "is larger than " + mib(limits.max_file) + " (exercises.max_file)"}});
    gns3::Files files;
    try {
        files = gns3::read_zip_untrusted(bytes, {.max_entries = 4096, .max_total = limits.zip_max_total});
    } catch (const core::Error& e) {
        auto why = e.fields().empty() ? std::string(e.what()) : e.fields().front().message;
        throw core::Error(e.code(), "the GNS3 project is not a portable project", false,
                          {{"gns3_project", "the archive " + why}});
    }
    for (const auto& [path, content] : files)
        if (path.ends_with(".gns3") && path.find('/') == std::string::npos) return;
    throw core::invalid("the GNS3 project is not a portable project",
                        {{"gns3_project",
                          "holds no .gns3 topology file (export it from GNS3: File > Export "
                          "portable project)"}});
}

store::Attachment attach_project(store::Store& store, const store::ExerciseVersion& draft,
                                 const std::string& name, const std::string& bytes) {
    store::Attachment out;
    store.transaction([&] {
        out = store.put_attachment({.version_id = draft.id, .name = name, .media_type = "application/zip"},
                                   bytes);
        if (draft.gns3_project != name) {
            auto v = draft;
            v.gns3_project = name;
            store.update_draft(v);
        }
    });
    return out;
}

store::Attachment project_attachment(store::Store& store, const store::ExerciseVersion& version) {
    if (version.gns3_project.empty()) return {};
    return store.get_attachment(version.id, version.gns3_project).value_or(store::Attachment{});
}

ExerciseBundle read_exercise_zip(std::string_view zip, const UploadLimits& limits) {
    if (zip.size() > limits.max_file)
        throw core::Error(core::Code::payload_too_large, "the zip is too large", false,
                          {{"zip", "is larger than " + mib(limits.max_file) + " (exercises.max_file)"}});
    auto files = gns3::read_zip_untrusted(
        zip, {.max_entries = limits.zip_max_entries, .max_total = limits.zip_max_total});
    const auto root = exercise_root(files);
    ScratchDir dir;
    for (const auto& [path, content] : files) {
        if (!path.starts_with(root)) continue;
        auto file = dir.path() / path.substr(root.size());
        fs::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << content;
    }
    std::string spec_name = files.contains(root + "exercise.yaml") ? "exercise.yaml" : "spec.yaml";
    if (!files.contains(root + spec_name))
        throw core::invalid("the zip holds no exercise.yaml",
                            {{"zip", "needs exercise.yaml (or spec.yaml) at its top or in its only folder"}});
    ExerciseBundle out;
    out.version.spec = read_text(dir.path(), spec_name, "spec", limits);
    YAML::Node spec;
    try {
        spec = core::load_yaml(out.version.spec, "spec");
    } catch (const core::YamlLimitError& e) {
        throw core::invalid(e.what(), {{"spec", e.fields().front().message}});
    } catch (const YAML::Exception& e) {
        throw core::invalid("exercise.yaml is not valid YAML",
                            {{"spec", "line " + std::to_string(e.mark.line + 1) + ": " + e.msg}});
    }
    if (!spec.IsMap())
        throw core::invalid("exercise.yaml is not valid", {{"spec", "must be a YAML mapping"}});
    out.slug = scalar_at(spec, "id");
    out.title = scalar_at(spec, "title");
    if (out.title.empty()) out.title = out.slug;
    read_named_files(dir.path(), files, root, spec, limits, out);
    return out;
}

ImportResult import_exercise(store::Store& store, const ExerciseBundle& bundle, const std::string& user_id) {
    ImportResult out;
    store.transaction([&] {
        auto existing = store.get_exercise(bundle.slug);
        if (existing) {
            out.exercise = *existing;
            if (!bundle.title.empty() && bundle.title != existing->title)
                store.update_exercise_title(existing->id, bundle.title);
        } else {
            out.exercise = {core::new_id(), bundle.slug, bundle.title, user_id, core::unix_now()};
            store.create_exercise(out.exercise);
            out.created = true;
        }
        auto v = bundle.version;
        v.exercise_id = out.exercise.id;
        v.id.clear();
        v.version = 0;
        v.created_at = core::unix_now();
        out.version = store.add_version(v);
        if (!bundle.project.empty())
            store.put_attachment({.version_id = out.version.id,
                                  .name = bundle.version.gns3_project,
                                  .media_type = "application/zip"},
                                 bundle.project);
        out.exercise = *store.get_exercise(out.exercise.id);
    });
    return out;
}

}  // namespace np::app
