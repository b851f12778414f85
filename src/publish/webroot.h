#pragma once
// Policy files in a web root: <webroot>/mta-sts.<domain>/.well-known/mta-sts.txt.
// Used by `render policy -o DIR` (DIR as the web root) and by apply's publish
// step, which must finish before any TXT id is bumped (RFC 8461 section 8.3).
// Edge module (file-system I/O).

#include "publish/atomic_file.h"

#include <string>

namespace stsctl {

/// "<webroot>/mta-sts.<domain>/.well-known/mta-sts.txt" (domain lowercased,
/// trailing dot stripped).
std::string policy_path(const std::string& webroot, const std::string& domain);

/// "mta-sts.<domain>/.well-known/mta-sts.txt": the policy file below a web root.
std::string policy_relative_path(const std::string& domain);

/// Writes the policy file with write_file_atomically (missing directories
/// are created with mode 0755, the file gets 0644). Returns false (and writes
/// nothing) when the file already holds exactly `text`. Throws
/// std::runtime_error naming the path and the system error on failure; on
/// failure the old file is untouched. Sync for apply's publish step;
/// Deferred for render policy, which calls sync_filesystem() once at the end.
bool write_policy_file(const std::string& webroot, const std::string& domain, const std::string& text,
                       Durability durability = Durability::Sync);

/// The current file's bytes; empty when it does not exist. Throws
/// std::runtime_error naming the path when it exists but cannot be read.
std::string read_policy_file(const std::string& webroot, const std::string& domain);

}  // namespace stsctl
