#pragma once
// Summaries of stored TLS-RPT reports per policy domain, the promotion gate
// on them (rollout.gates.tlsrpt), and their text, JSON and HTML forms. Pure.

#include "config/config.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stsctl {

struct DaySummary {
  std::string date;  // "2026-11-20": the UTC day each report's date range starts on
  uint64_t reports = 0;
  uint64_t successful_sessions = 0;
  uint64_t failed_sessions = 0;
  std::map<std::string, uint64_t> failures;  // result-type -> failed-session-count
};

/// Reports for one policy domain over some time span.
struct ReportSummary {
  std::string domain;
  uint64_t reports = 0;
  uint64_t successful_sessions = 0;  // sums of the summary counts
  uint64_t failed_sessions = 0;
  std::map<std::string, uint64_t> failures;  // result-type -> summed failed-session-count
  std::vector<std::string> senders;          // organization-name, sorted, distinct
  std::vector<DaySummary> days;              // by date; filled when asked for
  /// Distinct normalised policy-strings of `sts` policies (normalise_policy_text).
  std::vector<std::string> policy_strings;

  uint64_t sessions() const { return successful_sessions + failed_sessions; }
  /// failed / all sessions; 0 without sessions.
  double failure_rate() const;
};

/// One summary under `domain` for several policy domains' summaries: a
/// domain and its alias domains, whose senders report each under its own
/// policy-domain (RFC 8460 section 4.4) though they share one policy. Counts
/// add up; failures, senders, policy-strings and days are merged.
ReportSummary merge_summaries(const std::string& domain, const std::vector<ReportSummary>& parts);

/// Why the TLS-RPT gate holds a domain, or nullopt when it passes. `summary`
/// covers the reports whose date range lies within the current stage;
/// `published_policy_text` is the policy file senders fetch now. Where
/// reports carry policy-strings, at least one must be that policy.
std::optional<std::string> tlsrpt_gate_failure(const ReportSummary& summary, const TlsrptGate& gate,
                                               const std::string& published_policy_text);

/// "2.9%", "0%", "0.5%": a rate as a percentage with at most one decimal.
std::string format_percent(double rate);

/// {"domain": ..., "reports": ..., ...} as `report show --json` prints it,
/// keys in that order.
nlohmann::ordered_json summary_to_json(const ReportSummary& summary, bool with_days);

/// JSON text with ", " and ": " between items, on one line.
std::string dump_spaced(const nlohmann::ordered_json& value);

/// The human table of `report show`.
std::string format_summary_text(const std::vector<ReportSummary>& summaries, bool with_days);

/// What the HTML page shows beside a domain's chart.
struct DomainRollout {
  std::string stage;           // "1/3 testing", "pinned", or "" when not published
  std::string next_promotion;  // RFC 3339 or ""
};

/// One self-contained HTML page: per domain an inline SVG chart of daily
/// successful and failed sessions (id "chart-<domain>"), the failure types,
/// the rollout stage and the next promotion date. No external resources.
std::string render_report_html(const std::vector<ReportSummary>& summaries,
                               const std::map<std::string, DomainRollout>& rollout,
                               const std::string& generated_at);

}  // namespace stsctl
