// The JSON report of an evaluation (FORMATS.md) as an object, for code that stores parts of it (the
// evaluate job) without a text round trip; report_json (engine.hpp) is its text.
#pragma once

#include <boost/json/object.hpp>

namespace np::eval {

struct Evaluation;

boost::json::object report_object(const Evaluation& e, bool student_view = false,
                                  bool with_transcript = true);

}  // namespace np::eval
