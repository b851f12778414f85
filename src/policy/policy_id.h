#pragma once
// The id rule: a new id exactly when the policy hash changes.

#include "config/config.h"

#include <cstdint>
#include <optional>
#include <string>

namespace stsctl {

struct PublishedPolicy {
  std::string id;
  std::string hash;
};

struct IdDecision {
  std::string id;
  bool bumped = false;  // true when id differs from previous (or there was none)
};

/// Pure. Same hash as `previous` -> previous id, unchanged. Otherwise a new id
/// in `format` for time `now_unix` (UTC) that differs from previous->id and,
/// for timestamp and serial, sorts after it (string order, same length):
///  - timestamp: YYYYMMDDhhmmss; if not after the previous id, previous + 1 s
///  - serial: YYYYMMDDnn; nn counts up within a day; past 99, or when the
///    previous id is from a later day, continue from the previous value + 1
///  - hash: first 32 hex digits of the policy hash (1-32 alnum, RFC 8461 3.1)
/// Switching format: the formats have different lengths (14, 10, 32), so the
/// new id always differs, but no order across lengths is promised. A foreign
/// previous id of the same length: timestamp steps past a 14-digit id (a real
/// time + 1 s, else decimal + 1); serial counts past a 10-digit id; an id with
/// non-digits gets the plain new id, which differs but may sort before it.
IdDecision decide_id(IdFormat format, int64_t now_unix, const std::optional<PublishedPolicy>& previous,
                     const std::string& new_hash);

/// What is known of a domain's ids when a new one is decided.
struct IdHistory {
  std::optional<PublishedPolicy> published;  // live, as the state recorded it
  std::optional<PublishedPolicy> pending;    // decided (and maybe pushed), not yet confirmed live
  std::string live_id;                       // the id DNS serves, when the state does not know it
};

/// Pure. The published id when the hash is unchanged (not bumped); the
/// pending id when it was decided for this hash (bumped: a crash between push
/// and record, or a render, must not mint a second id for one policy);
/// otherwise a new id (decide_id) that differs from and, where the format
/// allows, sorts after the latest of the published, pending and live ids.
IdDecision decide_next_id(IdFormat format, int64_t now_unix, const IdHistory& known,
                          const std::string& new_hash);

}  // namespace stsctl
