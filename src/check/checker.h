#pragma once
// `stsctl check`: live checks of MTA-STS and TLS-RPT for many domains over
// DNS, HTTPS and SMTP STARTTLS, as a sender would see them. Gathering
// (gather.cpp): the policy hosts' addresses in one pipelined DNS batch, then
// the HTTPS fetches (sharing a CA store, on a thread per core) overlap the
// other lookups and the SMTP probes (sharing one TLS context); HTTPS and
// SMTP connect to the addresses check itself resolved. Evaluation is pure
// (evaluate.cpp), output in format.cpp. Network failures never throw: they
// become Fail findings. Only bad options throw (std::runtime_error /
// std::invalid_argument, e.g. an unusable --resolver).

#include "check/dns_lookup.h"
#include "check/finding.h"
#include "check/smtp_starttls.h"
#include "net/https_fetch.h"

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace stsctl {

struct CheckTarget {
  std::string domain;    // normalised, e.g. "example.net"
  std::string alias_of;  // non-empty: an alias whose _mta-sts/_smtp._tls/mta-sts names should CNAME there
  std::optional<std::string> expected_policy;  // configured policy text; compared byte for byte
  std::string expected_hash;                   // policy hash from state; compared when no text given
  std::string expected_id;                     // id from state; compared with the DNS id
  bool tlsrpt_required = false;                // config has TLS-RPT: its absence is a fail, not a warning
};

struct CheckOptions {
  DnsOptions dns;      // resolver: --resolver IP[:port] or the system resolver
  FetchOptions fetch;  // HTTPS policy fetch (ca_file, connect_to for tests)
  int https_parallel = 32;
  bool smtp = true;  // probe every MX host with STARTTLS
  SmtpOptions smtp_options;
  int smtp_parallel = 16;
  int expiry_warn_days = 14;
  /// Called from the calling thread as work completes: phase ("dns", "https",
  /// "smtp"), domains (or MX hosts) done, and their total. May be empty.
  std::function<void(const std::string& phase, size_t done, size_t total)> progress;
};

struct DomainReport {
  std::string domain;
  std::vector<Finding> findings;  // in check order
  CheckStatus worst() const;
};

struct CheckReport {
  std::vector<DomainReport> domains;  // in the order of the targets
};

/// Everything gathered for one domain, the input of the pure evaluation.
struct DomainObservation {
  DnsAnswer sts_txt;             // _mta-sts.D TXT
  DnsAnswer apex_txt;            // D TXT
  DnsAnswer tlsrpt_txt;          // _smtp._tls.D TXT
  DnsAnswer typo_txt;            // _smtp_tls.D TXT (common misspelling)
  DnsAnswer legacy_txt;          // _smtp-tlsrpt.D TXT (draft name)
  DnsAnswer mx;                  // D MX
  DnsAnswer host_a;              // mta-sts.D A
  DnsAnswer host_aaaa;           // mta-sts.D AAAA
  std::vector<DnsAnswer> caa;    // CAA at each of caa_search_names("mta-sts.D"); empty: not looked up
  FetchResult fetch;             // https://mta-sts.D/.well-known/mta-sts.txt
  std::vector<SmtpResult> smtp;  // one per MX host (empty when SMTP is off)
  bool smtp_checked = false;
};

/// The MX host names of an MX answer, in record order, without duplicates;
/// a null MX (RFC 7505) gives one empty name.
std::vector<std::string> mx_hosts(const DnsAnswer& mx);

/// Pure: findings for one domain from what was observed.
DomainReport evaluate_domain(const CheckTarget& target, const DomainObservation& observed,
                             const CheckOptions& options);

/// Runs every check for every target. Throws only for unusable options.
CheckReport run_checks(const CheckOptions& options, const std::vector<CheckTarget>& targets);

/// 0 when nothing failed (warnings allowed), 2 when any check failed.
int check_exit_code(const CheckReport& report);

/// Human table: per domain, each check with pass/warn/fail, reason and fix.
std::string format_check_table(const CheckReport& report, bool color);

/// {"domains":[{"domain","status","findings":[{"check","status","message","fix"}]}],
///  "summary":{"domains","pass","warn","fail"},"exit_code"}.
std::string check_report_json(const CheckReport& report);
/// The same, written to `out` a domain at a time (no whole-report tree).
void write_check_report_json(const CheckReport& report, std::ostream& out);

}  // namespace stsctl
