#pragma once
// Config errors: every problem found in one run, each with its place.

#include <string>
#include <vector>

namespace stsctl {

struct Diagnostic {
  std::string file;
  int line = 0;          // 1-based; 0 when unknown
  int column = 0;        // 1-based; 0 when unknown
  std::string key_path;  // e.g. "domains.example.net.policy.max_age"
  std::string message;   // e.g. "100 is below 86400"
};

/// "file:line:col: key.path: message" (parts that are unknown are left out),
/// with control characters and invalid UTF-8 escaped (util/escape.h).
std::string format_diagnostic(const Diagnostic& diagnostic);

/// A JSON array of {file,line,column,key,message} objects.
std::string diagnostics_to_json(const std::vector<Diagnostic>& diagnostics);

}  // namespace stsctl
