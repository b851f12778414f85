#pragma once
// `validate`'s second pass: files and directories the config refers to
// (providers.P.*_file, ca_file, webroot) that do not exist or cannot be
// read. Warnings only: the config is valid, but apply would fail on this host.

#include "config/config.h"
#include "config/diagnostic.h"

#include <vector>

namespace stsctl {

/// One Diagnostic (file, line, column of the value; key path) per missing or
/// unreadable referenced path, in file order. Reads the config file again
/// for the positions; returns nothing when it cannot.
std::vector<Diagnostic> referenced_file_warnings(const Config& config);

}  // namespace stsctl
