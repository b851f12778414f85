#pragma once
// PowerDNS Authoritative through its HTTP API (one PATCH per zone, atomic).
//
// read_zones: the owned RRsets of many zones (32 and more, on a server that
// holds at most 16 times as many) come from one zone list (GET .../zones:
// which zones exist) and one GET .../search-data?q=<label>.* per distinct
// first label of the owned names (_mta-sts, _smtp, mta-sts), across all
// zones, filtered here to exactly the owned RRsets of the asked zones; only
// those records are parsed, so a malformed record elsewhere cannot break a
// read. Other zones, zones whose apex MX or NS is wanted (search-data cannot
// select an apex), and every zone when a search fails or may have been cut at
// its max results, are read with one GET .../zones/<zone>. each (PowerDNS 4.7
// has no RRset filter), parsing only the owned RRsets, the apex MX and NS.
// Disabled records are not served, so they count as absent; this provider
// remembers (per provider object) the disabled records it read and keeps them
// (disabled) when it later replaces or deletes that RRset.
//
// apply_zones: one PATCH per non-empty plan, DELETEs first, then REPLACEs;
// TXT always quoted and split into 255-octet character-strings. Never creates
// a zone. With `notify: true` a successful PATCH is followed by
// PUT .../notify; a failed NOTIFY does not undo the change, so it is not the
// zone's error: it is logged as a line starting "warning:" (always passed to
// the log sink, not only when verbose).
//
// Zones are processed concurrently, at most 8 requests in flight, each worker
// with its own connection; PATCHes go one at a time when the server's
// `launch` (GET .../config) has gsqlite3, which fails concurrent writers, and
// drop to one at the first 5xx otherwise; one at a time, each PATCH goes out
// on a connection opened while the one before it ran (PowerDNS closes every
// connection). A searching read_zones sends the zone list, the searches and
// GET .../config together. The API key is sent only as
// X-API-Key and never appears in errors or log lines.

#include "powerdns/powerdns_config.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace stsctl {

/// One line per HTTP request ("PATCH <url> -> 204 (3 ms)") and warnings
/// ("warning: ..."). Called from worker threads, one call at a time.
using PowerdnsLog = std::function<void(const std::string& line)>;

/// How read_zones reads; the default picks by size (see above). Tests pin one.
struct PowerdnsReadTuning {
  enum class Mode {
    Auto,
    WholeZone,  // one GET per zone
    Search,     // search-data whenever the query does not want MX or NS
  };
  Mode mode = Mode::Auto;
  size_t search_limit = 0;  // max results per search; 0: sized from the server's zone count
};

/// Throws ProviderError (Kind::Other) when the API key cannot be read.
std::unique_ptr<Provider> make_powerdns_provider(const PowerdnsConfig& config);
std::unique_ptr<Provider> make_powerdns_provider_with_log(const PowerdnsConfig& config, PowerdnsLog log,
                                                          PowerdnsReadTuning tuning = {});

}  // namespace stsctl
