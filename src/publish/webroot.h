#pragma once
// Policy files in a web root: <webroot>/mta-sts.<domain>/.well-known/mta-sts.txt.
// Used by `render policy -o DIR` (DIR as the web root) and by apply's publish
// step, which must finish before any TXT id is bumped (RFC 8461 section 8.3).
// Edge module (file-system I/O).

#include <string>

namespace stsctl {

/// "<webroot>/mta-sts.<domain>/.well-known/mta-sts.txt" (domain lowercased,
/// trailing dot stripped).
std::string policy_path(const std::string& webroot, const std::string& domain);

/// Writes the policy file atomically: a temp file in the same directory,
/// fsync, rename, fsync of the directory. Missing directories are created with
/// mode 0755, the file gets 0644. Returns false (and writes nothing) when the
/// file already holds exactly `text`. Throws std::runtime_error naming the path
/// and the system error on failure; on failure the old file is untouched.
/// Sync: fsync the file and its directory before returning (apply's publish
/// step, where the id is pushed right after). Deferred: atomic rename only;
/// the caller calls sync_filesystem() once after a bulk write (render policy),
/// as 100,000 fsyncs would dominate the run.
enum class Durability { Sync, Deferred };
bool write_policy_file(const std::string& webroot, const std::string& domain, const std::string& text,
                       Durability durability = Durability::Sync);

/// syncfs(2) on the file system holding `webroot`; throws on failure.
void sync_filesystem(const std::string& webroot);

/// The current file's bytes; empty when it does not exist. Throws
/// std::runtime_error naming the path when it exists but cannot be read.
std::string read_policy_file(const std::string& webroot, const std::string& domain);

}  // namespace stsctl
