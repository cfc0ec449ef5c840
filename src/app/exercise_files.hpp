// Exercise files uploaded through the API (issues 10 and 11): a version's GNS3 portable project stored in
// the store (migration 0006) instead of a folder of the server, and a whole exercise uploaded as one zip
// (its folder: exercise.yaml, instructions, topology and config files, an optional .gns3project). Every
// upload is untrusted: bounded in size, names checked, nothing stored half-way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace np::app {

// Configuration `exercises.*` (examples/netpraxis.yaml).
struct UploadLimits {
    std::size_t max_file = std::size_t{64} << 20;  // one uploaded project, and one uploaded zip (413 above)
    std::size_t zip_max_entries = 256;             // files and folders of an uploaded zip
    std::size_t zip_max_total = std::size_t{128} << 20;  // uncompressed bytes of an uploaded zip
    std::size_t max_text = std::size_t{1} << 20;         // exercise.yaml, instructions, topology, each
};

// The name an uploaded project gets when the upload names none.
inline constexpr const char* kDefaultProjectName = "lab.gns3project";

// Refuses (core::invalid naming `field`, or payload_too_large) a project that is not a bundle name ending in
// .gns3project, is over the limit, or is not a zip holding a .gns3 topology file.
void check_project_upload(const std::string& name, std::string_view bytes, const UploadLimits& limits);

// Stores `bytes` as the draft's file `name` and makes it the version's GNS3 project, in one transaction
// (blocking). Throws conflict when the version is published.
store::Attachment attach_project(store::Store& store, const store::ExerciseVersion& draft,
                                 const std::string& name, const std::string& bytes);

// The uploaded GNS3 project of a version: its file in the store when the version has one of the name its
// gns3_project says (empty sha256 otherwise: the name is a file of the provider's own folder). Blocking.
store::Attachment project_attachment(store::Store& store, const store::ExerciseVersion& version);

// An exercise read from a zip of its folder.
struct ExerciseBundle {
    std::string slug;                // exercise.yaml's id
    std::string title;               // exercise.yaml's title (the slug when it has none)
    store::ExerciseVersion version;  // spec, instructions, topology (config files inlined), gns3_project
    std::string project;             // the .gns3project's bytes (empty: none)
};

// Reads an uploaded zip: its exercise.yaml (or spec.yaml) at the top or inside one top folder, the files it
// names (instructions, lab.local, lab.gns3; instructions.md and topology.yaml by default). Hostile archives
// are refused by gns3::read_zip_untrusted; a missing or unreadable file is a 400 naming it.
ExerciseBundle read_exercise_zip(std::string_view zip, const UploadLimits& limits);

struct ImportResult {
    store::Exercise exercise;
    store::ExerciseVersion version;
    bool created = false;  // a new exercise (else a new version of the one with that slug)
};
// Creates the exercise of the bundle's slug with its first draft, or adds a draft version to the existing
// one (with `title` updated), the project attached: all in one transaction (blocking).
ImportResult import_exercise(store::Store& store, const ExerciseBundle& bundle, const std::string& user_id);

}  // namespace np::app
