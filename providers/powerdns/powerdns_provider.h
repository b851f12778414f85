#pragma once
// PowerDNS Authoritative through its HTTP API (one PATCH per zone, atomic).
//
// read_zones: one GET /api/v1/servers/<server_id>/zones/<zone>. per zone
// (PowerDNS 4.7 has no RRset filter); only the owned RRsets, the apex MX and
// the apex NS are parsed, so a malformed foreign record elsewhere cannot
// break a read. Disabled records are not served, so they count as absent;
// this provider remembers the disabled records it read and keeps them
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
// with its own connection. The API key is sent only as X-API-Key and never
// appears in errors or log lines.

#include "provider.h"

#include <functional>
#include <memory>
#include <string>

namespace stsctl {

/// One line per HTTP request ("PATCH <url> -> 204 (3 ms)") and warnings
/// ("warning: ..."). Called from worker threads, one call at a time.
using PowerdnsLog = std::function<void(const std::string& line)>;

/// Sets the log sink used by providers made afterwards through
/// make_provider()/make_powerdns_provider(config) (e.g. the CLI's -v). Empty:
/// no logging.
void set_powerdns_log(PowerdnsLog log);

/// Throws ProviderError (Kind::Other) when the API key cannot be read.
std::unique_ptr<Provider> make_powerdns_provider(const ProviderConfig& config);
std::unique_ptr<Provider> make_powerdns_provider_with_log(const ProviderConfig& config, PowerdnsLog log);

}  // namespace stsctl
