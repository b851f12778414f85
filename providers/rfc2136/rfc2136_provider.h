#pragma once
// Any RFC 2136 server (BIND, Knot, ...): TSIG-signed UPDATE, one per zone.
//
// read_zones: plain queries (TSIG-signed when a key is set) to the configured
// server for the apex SOA (must be authoritative), each owned RRset, the apex
// MX and NS; TCP by default, UDP with TCP fallback when transport is udp.
// apply_zones: one UPDATE per zone whose prerequisites lock what was read
// (Change::before): "RRset exists (value dependent)" with the old values, or
// "RRset does not exist" for creates. All RRset deletes precede all adds.
// A failed prerequisite is ProviderError::Kind::Conflict ("changed since
// plan"); TSIG BADSIG/BADKEY/BADTIME and REFUSED are Kind::Auth. Once the
// server is unreachable or times out, the remaining zones are not tried.
// Both work on up to 4 zones at a time (one resolver per worker thread);
// results keep the order of the input.

#include "rfc2136/rfc2136_config.h"

namespace stsctl {

/// Reads the TSIG secret (secret_file, trimmed, or secret_env; base64) now and
/// keeps it in a holder wiped on destruction. Throws ProviderError
/// (Kind::Other) for a missing or malformed secret, an unsupported algorithm
/// (hmac-sha256 default, hmac-sha512, hmac-sha1; hmac-md5 only with
/// allow_hmac_md5) or a bad transport. No network traffic here.
std::unique_ptr<Provider> make_rfc2136_provider(const Rfc2136Config& config);

}  // namespace stsctl
