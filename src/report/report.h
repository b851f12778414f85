#pragma once
// RFC 8460 aggregate reports as senders really send them (PROTOCOLS.md
// section 9): parsing is lenient about optional and unknown fields, strict
// about what is kept. Pure: no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stsctl {

/// One `failure-details` entry (RFC 8460 section 4.3). Unknown result types
/// and reason codes are kept as sent.
struct FailureDetail {
  std::string result_type;  // "unknown" when the sender left it out
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;
  std::string receiving_ip;
  std::string failure_reason_code;
  std::string additional_information;
  uint64_t failed_session_count = 0;
};

/// One entry of `policies`.
struct PolicyResult {
  std::string policy_type;                 // sts | tlsa | no-policy-found | as sent
  std::string policy_domain;               // lowercase, no trailing dot; may be empty (no-policy-found)
  std::vector<std::string> policy_string;  // empty when absent
  std::string policy_norm;                 // normalise_policy_text(policy_string); "" when absent
  std::vector<std::string> mx_hosts;       // a string, an array, or absent in the wild
  uint64_t successful_sessions = 0;
  uint64_t failed_sessions = 0;
  std::vector<FailureDetail> failures;
};

struct TlsReport {
  std::string organization_name;
  std::string report_id;
  std::string contact_info;  // empty when null or absent
  int64_t start = 0;         // date-range, unix seconds
  int64_t end = 0;
  std::vector<PolicyResult> policies;
};

/// A report or the reason the text is none.
struct ParsedReport {
  std::optional<TlsReport> report;
  std::string error;  // e.g. "not JSON (...)", "date-range.start-datetime: missing"
};

/// Parses the JSON text of one report.
ParsedReport parse_report_json(std::string_view text);

/// True when `bytes` start with the gzip magic (RFC 1952: 1f 8b).
bool is_gzip(std::string_view bytes);

/// The largest decompressed report accepted: 64 MiB.
constexpr size_t k_max_report_bytes = 64u << 20;

/// Decompresses gzip data (also several members, and trailing whitespace
/// after the last one). Throws std::runtime_error ("truncated gzip data",
/// "corrupt gzip data (...)", "more than N bytes once decompressed").
std::string gunzip(std::string_view bytes, size_t max_output = k_max_report_bytes);

/// gunzip into `out` (reused across calls: only ever grown); returns how many
/// of its bytes are the decompressed data.
size_t gunzip_into(std::string_view bytes, std::string& out, size_t max_output = k_max_report_bytes);

/// A policy-string (or a published policy's text) reduced to compare equal
/// however a sender split, ordered or spaced its lines: trimmed, lower-case
/// keys, sorted, joined by "\n".
std::string normalise_policy_text(const std::vector<std::string>& lines);
std::string normalise_policy_text(std::string_view text);

}  // namespace stsctl
