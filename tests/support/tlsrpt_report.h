#pragma once
// TLS-RPT reports as senders send them (RFC 8460 section 4): one day, one
// STS policy, a success count and optionally failures of one result type;
// and the report mail that carries one (section 5.3).

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace stsctl::test {

struct TlsrptDay {
  std::string policy_domain;
  std::string mx_host;  // mx-host and receiving-mx-hostname
  std::string day;      // "2027-01-03": the report covers this UTC day
  int successful = 0;
  int failed = 0;
  std::vector<std::string> policy_string;  // the policy the sender applied; empty: not given
  std::string organization = "Sender Example";
  std::string report_id;
  std::string failure_type = "certificate-expired";  // result-type of the failures
};

/// The report's JSON (contact-info null).
nlohmann::json tlsrpt_report(const TlsrptDay& day);

/// A multipart/report; report-type="tlsrpt" mail from sender.example with the
/// report as an application/tlsrpt+json part.
std::string tlsrpt_mail(const TlsrptDay& day);

}  // namespace stsctl::test
