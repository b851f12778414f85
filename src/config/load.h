#pragma once
// Reading and validating stsctl.yaml. Pure apart from reading the file itself:
// secret files are never opened here (only their paths are resolved).

#include "config/config.h"
#include "config/diagnostic.h"

#include <cstddef>
#include <string>
#include <vector>

namespace stsctl {

struct LoadResult {
  Config config;                        // meaningful only when ok()
  std::vector<Diagnostic> diagnostics;  // the errors found, in file order (at most 100)
  size_t more_diagnostics = 0;          // errors found beyond those listed
  bool ok() const { return diagnostics.empty(); }
};

/// Loads and validates the file at `path`. `state_override` (from --state)
/// replaces the config's state path when non-empty.
LoadResult load_config(const std::string& path, const std::string& state_override = "");

/// Same, from text (`display_name` is used in diagnostics; relative paths are
/// resolved against `base_dir`).
LoadResult load_config_text(const std::string& text, const std::string& display_name,
                            const std::string& base_dir, const std::string& state_override = "");

}  // namespace stsctl
