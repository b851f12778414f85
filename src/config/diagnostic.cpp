#include "config/diagnostic.h"

#include <nlohmann/json.hpp>

#include "util/escape.h"

namespace stsctl {

std::string format_diagnostic(const Diagnostic& diagnostic) {
  std::string out;
  if (!diagnostic.file.empty()) {
    out += diagnostic.file + ":";
  }
  if (diagnostic.line > 0) {
    out += std::to_string(diagnostic.line) + ":";
    if (diagnostic.column > 0) {
      out += std::to_string(diagnostic.column) + ":";
    }
  }
  if (!out.empty()) {
    out += " ";
  }
  if (!diagnostic.key_path.empty()) {
    out += diagnostic.key_path + ": ";
  }
  out += diagnostic.message;
  // Keys and values come from the file: a control character must not reach the terminal.
  return escape_control(out);
}

std::string diagnostics_to_json(const std::vector<Diagnostic>& diagnostics) {
  nlohmann::json array = nlohmann::json::array();
  for (const Diagnostic& d : diagnostics) {
    array.push_back({{"file", d.file},
                     {"line", d.line},
                     {"column", d.column},
                     {"key", d.key_path},
                     {"message", d.message}});
  }
  // Invalid UTF-8 from the file becomes U+FFFD instead of an exception.
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace stsctl
