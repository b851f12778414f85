#pragma once
// Any RFC 2136 server (tested against BIND, Knot DNS and PowerDNS's own DNS
// UPDATE): TSIG-signed UPDATE, one per zone.
//
// read_zones: queries (TSIG-signed when a key is set) to the configured server:
// first, for every zone, the apex SOA (must be authoritative), the first type
// of each owned name (CNAME first, RFC 1034 section 3.6.2) and the apex MX/NS
// where the query wants them; then the other owned types at names that exist
// and hold no CNAME. apply_zones: one UPDATE per zone whose prerequisites lock
// what was read (Change::before): "RRset exists (value dependent)" with the
// old values, or "RRset does not exist" for creates. All RRset deletes precede
// all adds. A failed prerequisite is ProviderError::Kind::Conflict ("changed
// since plan"); TSIG errors and a REFUSED update are Kind::Auth.
// Messages go out pipelined (rfc2136_pipeline.h): many in flight over 4
// persistent TCP connections (transport tcp, the default), or one UDP socket
// with TCP for truncated answers (transport udp). Once the server is
// unreachable or a message times out, the messages not yet sent are not sent.
// Results keep the order of the input; wire conversions are in rfc2136_wire.h.

#include "rfc2136/rfc2136_config.h"

namespace stsctl {

/// Reads the TSIG secret (secret_file, trimmed, or secret_env; base64) now and
/// keeps it in a holder wiped on destruction. Throws ProviderError
/// (Kind::Other) for a missing or malformed secret, an unsupported algorithm
/// (hmac-sha256 default, hmac-sha512, hmac-sha1; hmac-md5 only with
/// allow_hmac_md5) or a bad transport. No network traffic here.
std::unique_ptr<Provider> make_rfc2136_provider(const Rfc2136Config& config);

}  // namespace stsctl
