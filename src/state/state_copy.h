#pragma once
// Copies a whole state (policy state, history, pending ids, TLS-RPT reports)
// from one database to another, SQLite or PostgreSQL either way, and
// verifies the copy by row counts and a content hash. Edge module.

#include <cstdint>
#include <map>
#include <string>

namespace stsctl {

struct StateDigest {
  std::map<std::string, int64_t> rows;  // per table
  std::string hash;                     // SHA-256 over every row, order-independent
};

/// The digest of the state at `location` (read in one snapshot).
StateDigest digest_state(const std::string& location);

/// Copies `from` into `to` in one write transaction on `to`, which is
/// committed only when the copy's digest equals the source's. A target that
/// already holds state is refused (StateError) unless `replace`, which
/// drops its tables first. Returns the digest.
StateDigest copy_state(const std::string& from, const std::string& to, bool replace);

}  // namespace stsctl
