#pragma once
// Hand-made DNS answers for the check tests that evaluate observations
// without a resolver.

#include "check/dns_lookup.h"

#include <string>
#include <utility>
#include <vector>

namespace stsctl::test {

/// An answer with `records` (DnsStatus::Ok).
inline DnsAnswer ok(std::vector<std::string> records) {
  DnsAnswer answer;
  answer.status = DnsStatus::Ok;
  answer.records = std::move(records);
  return answer;
}

/// An answer without records: NXDOMAIN, NODATA or a failure with `error`.
inline DnsAnswer status(DnsStatus status, const std::string& error = "") {
  DnsAnswer answer;
  answer.status = status;
  answer.error = error;
  return answer;
}

}  // namespace stsctl::test
