#pragma once
// JSON answers shared by the HTTP front ends (the prediction service and the
// training page): bodies, {"error": "..."} bodies, and a 500 JSON answer for
// an exception a handler let escape.
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

namespace pneumoscan {

// Text that is not valid UTF-8 (file names, tags from files) is replaced, never a failed request.
void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, int status, const std::string& message);

// Answers any exception escaping a handler with 500 {"error": "internal error: <what>"}.
void answer_exceptions_with_json(httplib::Server& server);

}  // namespace pneumoscan
