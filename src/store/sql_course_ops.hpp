// Engine-generic logic of the Store's course operations (migration 0004; internal to src/store): courses,
// rosters and the unpaged lists gradebooks read. Written once over a connection type C, as sql_ops.hpp.
#pragma once

#include <string>
#include <vector>

#include "store/sql_ops.hpp"

namespace np::store::sql {

constexpr const char* kCourseSelect =
    "SELECT c.id, c.slug, c.title, c.created_by, c.created_at, c.group_names,"
    " (SELECT COUNT(*) FROM course_members m WHERE m.course_id = c.id) FROM courses c";
template <class S>
Course read_course(const S& s) {
    Course c;
    c.id = s.text(0);
    c.slug = s.text(1);
    c.title = s.text(2);
    c.created_by = s.text(3);
    c.created_at = s.i64(4);
    c.groups = s.text(5);
    c.members = s.i64(6);
    return c;
}

template <class C>
class CourseOps {
 public:
    using Stmt = typename C::Stmt;
    using Error = typename C::Error;

    explicit CourseOps(C& connection) : c(connection) {}

    void create_course(const Course& course) {
        require_id(course.id, "course");
        try {
            run_transaction(c, [&] {
                c.query(
                     "INSERT INTO courses (id, slug, title, group_names, created_by, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)")
                    .bind(course.id, course.slug, course.title, or_default(course.groups, "[]"),
                          course.created_by, or_now(course.created_at))
                    .run();
            });
        } catch (const Error& e) {
            if (e.is_primary_key())
                throw core::conflict("a course with id '" + course.id + "' already exists");
            if (e.is_unique())
                throw core::conflict("a course with slug '" + course.slug + "' already exists");
            throw;
        }
    }

    std::optional<Course> get_course(const std::string& id_or_slug) {
        auto stmt =
            c.query(std::string(kCourseSelect) + " WHERE c.id = ? OR c.slug = ? ORDER BY c.id LIMIT 1");
        stmt.bind(id_or_slug, id_or_slug);
        if (!stmt.next()) return std::nullopt;
        return read_course(stmt);
    }

    PageResult<Course> list_courses(const Page& page) {
        return page_query<Course>(c, kCourseSelect, "c.id", Where{}, page.after, !page.after.empty(), page,
                                  read_course<Stmt>);
    }

    void update_course(const Course& course) {
        int changed = run_transaction(c, [&] {
            return c.query("UPDATE courses SET title = ?, group_names = ? WHERE id = ?")
                .bind(course.title, or_default(course.groups, "[]"), course.id)
                .run();
        });
        if (changed == 0) throw core::not_found("no course with id '" + course.id + "'");
    }

    void delete_course(const std::string& id) {
        int changed =
            run_transaction(c, [&] { return c.query("DELETE FROM courses WHERE id = ?").bind(id).run(); });
        if (changed == 0) throw core::not_found("no course with id '" + id + "'");
    }

    void add_course_member(const CourseMember& m) {
        run_transaction(c, [&] {
            try {
                run_transaction(c, [&] {
                    c.query(
                         "INSERT INTO course_members (course_id, user_id, group_name, email, added_at)"
                         " VALUES (?, ?, ?, ?, ?)")
                        .bind(m.course_id, m.user_id, m.group, m.email, or_now(m.added_at))
                        .run();
                });
            } catch (const Error& e) {
                if (e.is_unique())
                    throw core::conflict("user '" + m.user_id + "' is already in course '" + m.course_id +
                                         "'");
                if (!e.is_foreign_key()) throw;
                auto stmt = c.query("SELECT 1 FROM courses WHERE id = ?");
                stmt.bind(m.course_id);
                if (!stmt.next()) throw core::not_found("no course with id '" + m.course_id + "'");
                throw core::not_found("no user with id '" + m.user_id + "'");
            }
        });
    }

    std::vector<CourseMember> list_course_members(const std::string& course_id, const std::string& group) {
        Where w;
        w.add("m.course_id = ?", course_id);
        if (!group.empty()) w.add("m.group_name = ?", group);
        std::string cols;
        for (std::string_view col : {"id", "username", "realm", "role", "display_name", "password_hash",
                                     "must_change_password", "created_at", "session_gen", "disabled"})
            cols += (cols.empty() ? "u." : ", u.") + std::string(col);
        auto stmt = c.query("SELECT " + cols +
                            ", m.course_id, m.group_name, m.email, m.added_at FROM course_members m"
                            " JOIN users u ON u.id = m.user_id" +
                            w.sql() + " ORDER BY u.username, u.realm");
        stmt.bind_args(w.args);
        std::vector<CourseMember> out;
        while (stmt.next()) {
            CourseMember m;
            m.user = read_user(stmt);
            m.user.password_hash.clear();  // never leaves the store through a roster
            m.user_id = m.user.id;
            m.course_id = stmt.text(10);
            m.group = stmt.text(11);
            m.email = stmt.text(12);
            m.added_at = stmt.i64(13);
            out.push_back(std::move(m));
        }
        return out;
    }

    void remove_course_member(const std::string& course_id, const std::string& user_id) {
        int changed = run_transaction(c, [&] {
            return c.query("DELETE FROM course_members WHERE course_id = ? AND user_id = ?")
                .bind(course_id, user_id)
                .run();
        });
        if (changed == 0)
            throw core::not_found("user '" + user_id + "' is not in course '" + course_id + "'");
    }

    std::vector<Assignment> assignments_in(const AssignmentFilter& filter) {
        Where w;
        if (!filter.exercise_id.empty()) w.add("a.exercise_id = ?", filter.exercise_id);
        if (!filter.student_id.empty()) w.add("a.student_id = ?", filter.student_id);
        if (!filter.course_id.empty()) w.add("r.course_id = ?", filter.course_id);
        auto stmt = c.query(std::string(kAssignmentSelect) + w.sql() + " ORDER BY a.id");
        stmt.bind_args(w.args);
        std::vector<Assignment> out;
        while (stmt.next()) out.push_back(read_assignment(stmt));
        return out;
    }

    std::vector<Evaluation> evaluations_in(const EvaluationScope& scope) {
        Where w;
        std::string from = " FROM evaluations v";
        if (!scope.course_id.empty() || !scope.exercise_id.empty()) {
            from +=
                " JOIN assignments a ON a.id = v.assignment_id"
                " LEFT JOIN assignment_rules r ON r.assignment_id = a.id";
            if (!scope.course_id.empty()) w.add("r.course_id = ?", scope.course_id);
            if (!scope.exercise_id.empty()) w.add("a.exercise_id = ?", scope.exercise_id);
        }
        if (!scope.run_id.empty()) w.add("v.run_id = ?", scope.run_id);
        std::string cols;
        for (std::string_view col : {"id", "assignment_id", "student_id", "attempt", "status", "score",
                                     "max_score", "results", "transcript", "error", "job_id", "created_at",
                                     "finished_at", "exercise_version_id", "late", "run_id"})
            cols += (cols.empty() ? "v." : ", v.") + std::string(col);
        auto stmt = c.query("SELECT " + cols + from + w.sql() + " ORDER BY v.id");
        stmt.bind_args(w.args);
        std::vector<Evaluation> out;
        while (stmt.next()) out.push_back(read_evaluation(stmt));
        return out;
    }

    void update_assignment_rules(const Assignment& a) {
        run_transaction(c, [&] {
            int changed = c.query(
                               "UPDATE assignments SET deadline = ?, max_attempts = ?, cooldown_seconds = ?,"
                               " score_policy = ? WHERE id = ?")
                              .bind(a.deadline, a.max_attempts, a.cooldown_seconds,
                                    std::string(a.score_policy == "best" ? "best" : "last"), a.id)
                              .run();
            if (changed == 0) throw core::not_found("no assignment with id '" + a.id + "'");
            // An assignment made before migration 0004 has no rules row yet.
            c.query("DELETE FROM assignment_rules WHERE assignment_id = ?").bind(a.id).run();
            c.query(
                 "INSERT INTO assignment_rules (assignment_id, course_id, score, late, late_penalty, "
                 "keep_hidden)"
                 " VALUES (?, ?, ?, ?, ?, ?)")
                .bind(a.id, a.course_id, a.score_policy, a.late_policy, a.late_penalty,
                      std::int64_t{a.keep_hidden ? 1 : 0})
                .run();
        });
    }

    void set_assignment_version(const std::string& assignment_id, const std::string& version_id) {
        int changed = 0;
        try {
            changed = run_transaction(c, [&] {
                return c.query("UPDATE assignments SET exercise_version_id = ? WHERE id = ?")
                    .bind(version_id, assignment_id)
                    .run();
            });
        } catch (const Error& e) {
            if (e.is_foreign_key())
                throw core::invalid("exercise version '" + version_id +
                                    "' is not a version of the exercise of "
                                    "assignment '" +
                                    assignment_id + "'");
            throw;
        }
        if (changed == 0) throw core::not_found("no assignment with id '" + assignment_id + "'");
    }

 private:
    C& c;
};

}  // namespace np::store::sql
