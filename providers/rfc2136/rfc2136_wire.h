#pragma once
// RFC 2136 wire conversions, pure (no I/O): canonical record values <-> ldns
// RRs, the query and UPDATE messages the provider sends, TSIG signing of a
// message and checking of its answer (RFC 8945).

#include "plan/plan.h"
#include "records/rrset.h"
#include "util/handles.h"

#include <ldns/ldns.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stsctl::rfc2136 {

// RFC 8945 section 5.2 (ldns has no constants for these).
constexpr uint16_t k_tsig_badsig = 16;
constexpr uint16_t k_tsig_badkey = 17;
constexpr uint16_t k_tsig_badtime = 18;

ldns_rr_type to_ldns(RRType type);

/// "NOERROR" ... "NOTZONE"; "unknown rcode" above 10.
const char* rcode_name(unsigned rcode);

/// The canonical value (records/rrset.h) of one RR; nullopt if malformed.
std::optional<std::string> canonical_value(const ldns_rr* rr, RRType type);

/// Adds the RDATA for a canonical `value` to `rr`; false when it does not parse.
bool push_value(ldns_rr* rr, RRType type, const std::string& value);

/// An IN-class query for `owner`/`type`, RD clear.
handle::LdnsPkt build_query(const std::string& owner, ldns_rr_type type);

/// One UPDATE for a zone's changes (RFC 2136 section 2.4, 2.5): every change
/// locked by a prerequisite on what plan read, all RRset deletes before all
/// adds. On bad input: null packet and *error set ("X lies outside zone Z",
/// "cannot encode TXT value 'v' at X").
handle::LdnsPkt build_update(const std::string& zone, const std::vector<Change>& changes, std::string* error);

/// A TSIG key; `algorithm` in ldns spelling with a trailing dot
/// ("hmac-sha256."), `secret` base64.
struct TsigKey {
  std::string name;  // with trailing dot
  std::string algorithm;
  const char* secret = nullptr;
};

/// A message ready to send: its wire form and, when signed, the request MAC
/// the answer's TSIG must be computed over (RFC 8945 section 5.3).
struct WireMessage {
  std::vector<uint8_t> wire;
  handle::LdnsRdf request_mac;
};

/// Sets `id`, signs with `key` (when non-null) and renders `packet`. On
/// failure returns nullopt and *status says why.
std::optional<WireMessage> to_wire(ldns_pkt* packet, uint16_t id, const TsigKey* key, ldns_status* status);

/// A parsed answer. `tsig_error`: the TSIG RR's error field (0 if none);
/// `verified`: the TSIG signature checks out (always true when unsigned).
struct Answer {
  handle::LdnsPkt packet;
  uint16_t tsig_error = 0;
  bool verified = true;
};

/// Parses an answer's wire form and checks its TSIG against the request MAC.
std::optional<Answer> parse_answer(const std::vector<uint8_t>& wire, const TsigKey* key,
                                   const ldns_rdf* request_mac);

/// The RRset of `type` at `owner` in the answer section (other names and types
/// ignored: a TXT query at a CNAME returns the CNAME). nullopt when there is
/// none; *malformed set when an RR does not convert.
std::optional<RRset> answer_rrset(const ldns_pkt* answer, const std::string& owner, RRType type,
                                  bool* malformed);

/// Whether the answer is authoritative and holds the SOA of `zone`.
bool has_apex_soa(const ldns_pkt* answer, const std::string& zone);

}  // namespace stsctl::rfc2136
