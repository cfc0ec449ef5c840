// SqlStore<Conn>: attachments of exercise versions over content-addressed blobs (migration 0006; store.hpp
// documents each method), written once over the engine's connection type (sql_ops.hpp). Internal to
// src/store; sql_store_impl.hpp includes it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "store/sql_ops.hpp"
#include "store/sql_store.hpp"
#include "store/states.hpp"

namespace np::store {

namespace sql {
constexpr const char* kAttachmentCols = "version_id, name, media_type, sha256, size, created_at";
template <class S>
Attachment read_attachment(const S& s) {
    Attachment a;
    a.version_id = s.text(0);
    a.name = s.text(1);
    a.media_type = s.text(2);
    a.sha256 = s.text(3);
    a.size = s.i64(4);
    a.created_at = s.i64(5);
    return a;
}

// The state of a version, locked for the transaction; throws not_found (unknown) or conflict (published).
template <class C>
void require_draft(C& c, const std::string& version_id, const char* doing) {
    auto stmt =
        c.query(std::string("SELECT state, exercise_id, version FROM exercise_versions WHERE id = ?") +
                C::kForUpdate);
    stmt.bind(version_id);
    if (!stmt.next()) throw core::not_found("no exercise version with id '" + version_id + "'");
    if (!is(stmt.text(0), VersionState::draft))
        throw core::conflict(describe_version(stmt.text(1), stmt.i32(2)) +
                             " is published and immutable: " + doing + " a new version instead");
}

// Deletes the blob when no attachment names it any more.
template <class C>
void drop_unused_blob(C& c, const std::string& sha256) {
    c.query(
         "DELETE FROM blobs WHERE sha256 = ? AND NOT EXISTS (SELECT 1 FROM exercise_attachments WHERE "
         "sha256 = ?)")
        .bind(sha256, sha256)
        .run();
}
}  // namespace sql

template <class Conn>
Attachment SqlStore<Conn>::put_attachment(const Attachment& meta, const std::string& bytes) {
    if (meta.name.empty()) throw core::invalid("an attachment needs a name", {{"name", "must not be empty"}});
    Attachment row = meta;
    row.sha256 = core::sha256_hex(bytes);
    row.size = static_cast<std::int64_t>(bytes.size());
    row.created_at = sql::or_now(row.created_at);
    if (row.media_type.empty()) row.media_type = "application/octet-stream";
    auto& c = connection();
    sql::run_transaction(c, [&] {
        sql::require_draft(c, row.version_id, "attach files to");
        // The same content uploaded twice (or by two writers at once) is stored once.
        c.query(
             "INSERT INTO blobs (sha256, size, content, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) "
             "DO NOTHING")
            .bind(row.sha256, row.size, sql::Blob{bytes}, row.created_at)
            .run();
        std::string previous;
        {
            auto stmt = c.query("SELECT sha256 FROM exercise_attachments WHERE version_id = ? AND name = ?");
            stmt.bind(row.version_id, row.name);
            if (stmt.next()) previous = stmt.text(0);
        }
        c.query("DELETE FROM exercise_attachments WHERE version_id = ? AND name = ?")
            .bind(row.version_id, row.name)
            .run();
        c.query(std::string("INSERT INTO exercise_attachments (") + sql::kAttachmentCols +
                ") VALUES (?, ?, ?, ?, ?, ?)")
            .bind(row.version_id, row.name, row.media_type, row.sha256, row.size, row.created_at)
            .run();
        if (!previous.empty() && previous != row.sha256) sql::drop_unused_blob(c, previous);
    });
    return row;
}

template <class Conn>
std::optional<Attachment> SqlStore<Conn>::get_attachment(const std::string& version_id,
                                                         const std::string& name) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kAttachmentCols +
                        " FROM exercise_attachments WHERE version_id = ? AND name = ?");
    stmt.bind(version_id, name);
    if (!stmt.next()) return std::nullopt;
    return sql::read_attachment(stmt);
}

template <class Conn>
std::vector<Attachment> SqlStore<Conn>::list_attachments(const std::string& version_id) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kAttachmentCols +
                        " FROM exercise_attachments WHERE version_id = ? ORDER BY name");
    stmt.bind(version_id);
    std::vector<Attachment> out;
    while (stmt.next()) out.push_back(sql::read_attachment(stmt));
    return out;
}

template <class Conn>
std::optional<std::string> SqlStore<Conn>::attachment_bytes(const std::string& sha256) {
    auto& c = connection();
    auto stmt = c.query("SELECT content FROM blobs WHERE sha256 = ?");
    stmt.bind(sha256);
    if (!stmt.next()) return std::nullopt;
    return stmt.blob(0);
}

template <class Conn>
void SqlStore<Conn>::delete_attachment(const std::string& version_id, const std::string& name) {
    auto& c = connection();
    sql::run_transaction(c, [&] {
        sql::require_draft(c, version_id, "remove files from");
        std::string sha;
        {
            auto stmt = c.query("SELECT sha256 FROM exercise_attachments WHERE version_id = ? AND name = ?");
            stmt.bind(version_id, name);
            if (!stmt.next())
                throw core::not_found("exercise version '" + version_id + "' has no file '" + name + "'");
            sha = stmt.text(0);
        }
        c.query("DELETE FROM exercise_attachments WHERE version_id = ? AND name = ?")
            .bind(version_id, name)
            .run();
        sql::drop_unused_blob(c, sha);
    });
}

template <class Conn>
int SqlStore<Conn>::copy_attachments(const std::string& from_version_id, const std::string& to_version_id) {
    auto& c = connection();
    return sql::run_transaction(c, [&] {
        sql::require_draft(c, to_version_id, "attach files to");
        return c
            .query(
                std::string("INSERT INTO exercise_attachments (") + sql::kAttachmentCols +
                ") SELECT ?, a.name, a.media_type, a.sha256, a.size, a.created_at FROM exercise_attachments a"
                " WHERE a.version_id = ? AND NOT EXISTS (SELECT 1 FROM exercise_attachments b WHERE"
                " b.version_id = ? AND b.name = a.name)")
            .bind(to_version_id, from_version_id, to_version_id)
            .run();
    });
}

}  // namespace np::store
