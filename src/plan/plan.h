#pragma once
// Pure: desired vs live RRsets of one zone -> the changes, in a deterministic
// order (deletes first, then creates and updates, canonical order within).

#include "records/rrset.h"

#include <optional>

#include <string>
#include <vector>

namespace stsctl {

enum class ChangeKind { Create, Update, Delete };
const char* to_string(ChangeKind kind);

struct Change {
  ChangeKind kind = ChangeKind::Create;
  RRsetKey key;
  std::optional<RRset> before;  // the live RRset as read (absent for Create)
  std::optional<RRset> after;   // the RRset to write (absent for Delete)
};

/// What a provider read for one zone: only the owned RRsets that exist, the
/// zone's MX RRset (if any) and its NS names.
struct ZoneSnapshot {
  std::string zone;  // no trailing dot
  std::vector<RRset> owned;
  std::vector<RRset> mx;
  std::vector<std::string> nameservers;  // absolute names
};

struct ZonePlan {
  std::string zone;
  std::string provider;
  std::vector<Change> changes;
  bool empty() const { return changes.empty(); }
};

/// Diffs `desired` against `live.owned` over `owned_keys` (every RRset stsctl
/// owns in this zone). Foreign TXT values in an owned TXT RRset (see
/// is_owned_txt) are carried into `after`, so they survive a REPLACE. TXT is
/// compared as joined logical strings; TTL differences are updates.
ZonePlan make_zone_plan(const std::string& zone, const std::string& provider, const std::vector<RRset>& desired,
                        const ZoneSnapshot& live, const std::vector<RRsetKey>& owned_keys);

/// Throws std::logic_error if any change touches an RRset not in owned_keys.
void assert_only_owned(const ZonePlan& plan, const std::vector<RRsetKey>& owned_keys);

/// Human, terraform-like text for one change, one line per value, each line
/// ending in '\n' (TXT values quoted):
///   "  + _mta-sts.example.net. 3600 TXT \"v=STSv1; id=1\""      create
///   "  - mta-sts.example.net. 3600 A 192.0.2.1"                    delete
///   "  ~ _mta-sts.example.net. TXT" then "      - 3600 <old>",
///   "      + 3600 <new>" and "        3600 <kept>" lines             update
std::string describe_change(const Change& change);

}  // namespace stsctl
