// Pure evaluation of what `check` gathered: one finding per check, in a
// stable order, with the reason and the fix.
#include "check/caa.h"
#include "check/checker.h"
#include "check/policy_parse.h"
#include "dns/name.h"
#include "policy/policy.h"
#include "util/text.h"

#include <algorithm>

namespace stsctl {

namespace {

constexpr uint32_t k_one_day = 86400;
constexpr uint32_t k_four_weeks = 28 * k_one_day;

class Collector {
 public:
  explicit Collector(std::vector<Finding>* out) : m_out(out) {}
  void pass(const std::string& check, const std::string& message) {
    m_out->push_back({check, CheckStatus::Pass, message, ""});
  }
  void warn(const std::string& check, const std::string& message, const std::string& hint) {
    m_out->push_back({check, CheckStatus::Warn, message, hint});
  }
  void fail(const std::string& check, const std::string& message, const std::string& hint) {
    m_out->push_back({check, CheckStatus::Fail, message, hint});
  }
  void add(const std::vector<Finding>& findings) {
    m_out->insert(m_out->end(), findings.begin(), findings.end());
  }

 private:
  std::vector<Finding>* m_out;
};

bool is_lookup_failure(const DnsAnswer& answer) {
  return answer.status != DnsStatus::Ok && answer.status != DnsStatus::NxDomain &&
         answer.status != DnsStatus::NoData;
}

// A failed lookup is not an absent record: say which it was.
std::string lookup_failure_text(const std::string& name, const std::string& type, const DnsAnswer& answer) {
  std::string what = answer.status == DnsStatus::Timeout ? "timed out" : to_string(answer.status);
  return "DNS lookup of " + name + " " + type + " " + what +
         (answer.error.empty() ? "" : " (" + answer.error + ")") +
         "; this is not the same as a missing record";
}

std::string absence_text(const DnsAnswer& answer) {
  return answer.status == DnsStatus::NxDomain ? "NXDOMAIN: the name does not exist"
                                              : "NODATA: the name exists but has no record of this type";
}

std::string chain_text(const std::string& name, const DnsAnswer& answer) {
  if (answer.cname_chain.empty()) {
    return "";
  }
  std::string text = " (via CNAME " + name;
  for (const auto& hop : answer.cname_chain) {
    text += " -> " + hop;
  }
  return text + ")";
}

std::string media_type(const std::string& content_type) {
  return ascii_lower(trim(content_type.substr(0, content_type.find(';'))));
}

void check_sts(const CheckTarget& target, const DomainObservation& o, Collector& c, ParsedStsRecord* sts) {
  const std::string name = "_mta-sts." + target.domain;
  if (o.sts_txt.status == DnsStatus::Ok) {
    *sts = parse_sts_records(o.sts_txt.records);
    std::vector<Finding> findings = sts->findings;
    for (auto& finding : findings) {
      if (finding.check_name == "sts.record" && finding.status == CheckStatus::Pass) {
        finding.message += chain_text(name, o.sts_txt);
      }
    }
    c.add(findings);
  } else if (is_lookup_failure(o.sts_txt)) {
    c.fail("sts.record", lookup_failure_text(name, "TXT", o.sts_txt),
           "check that the zone's name servers answer (and the --resolver), then retry");
  } else {
    c.fail("sts.record", "no TXT record at " + name + " (" + absence_text(o.sts_txt) + ")",
           "publish " + name + " TXT \"v=STSv1; id=<id>\" (stsctl apply)");
  }

  // An STS record at the apex is a common mistake: senders only look at _mta-sts.
  if (o.apex_txt.status == DnsStatus::Ok) {
    for (const auto& txt : o.apex_txt.records) {
      if (txt.rfind("v=STSv1", 0) == 0) {
        std::string message =
            "a v=STSv1 TXT record is published at the apex " + target.domain + " instead of " + name;
        std::string hint = "move it to " + name + " and delete it from " + target.domain;
        if (sts->valid) {
          c.warn("sts.apex", message, hint);
        } else {
          c.fail("sts.apex", message, hint);
        }
        break;
      }
    }
  }

  if (!target.alias_of.empty()) {
    std::string expected = "_mta-sts." + target.alias_of;
    const auto& chain = o.sts_txt.cname_chain;
    if (std::find(chain.begin(), chain.end(), expected) != chain.end()) {
      c.pass("alias.cname", name + " is a CNAME to " + expected);
    } else {
      c.warn("alias.cname",
             name + " does not CNAME to " + expected + " although " + target.domain +
                 " is configured as an alias of " + target.alias_of,
             "publish " + name + " CNAME " + expected + " (stsctl apply)");
    }
  }
}

void check_tlsrpt(const CheckTarget& target, const DomainObservation& o, Collector& c) {
  const std::string name = "_smtp._tls." + target.domain;
  bool have_record = false;
  if (o.tlsrpt_txt.status == DnsStatus::Ok) {
    ParsedTlsRpt parsed = parse_tlsrpt_records(o.tlsrpt_txt.records);
    have_record = parsed.valid;
    auto findings = parsed.findings;
    if (!target.tlsrpt_required) {
      // Unrelated TXT only (no v=TLSRPTv1 at all) is the same as no TLS-RPT.
      bool none = std::none_of(o.tlsrpt_txt.records.begin(), o.tlsrpt_txt.records.end(),
                               [](const std::string& t) { return t.rfind("v=TLSRPT", 0) == 0; });
      if (none) {
        findings.clear();
        c.warn("tlsrpt.record",
               "no v=TLSRPTv1 TXT record at " + name + " (TLS-RPT is optional but recommended)",
               "publish " + name + " TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@" + target.domain + "\"");
      }
    }
    c.add(findings);
  } else if (is_lookup_failure(o.tlsrpt_txt)) {
    c.fail("tlsrpt.record", lookup_failure_text(name, "TXT", o.tlsrpt_txt), "check the zone's name servers");
  } else if (target.tlsrpt_required) {
    c.fail("tlsrpt.record", "no TXT record at " + name + " (" + absence_text(o.tlsrpt_txt) + ")",
           "publish the configured TLS-RPT record (stsctl apply)");
  } else {
    c.warn("tlsrpt.record", "no TLS-RPT record at " + name + " (optional but recommended)",
           "publish " + name + " TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@" + target.domain + "\"");
  }

  auto flag = [&](const DnsAnswer& answer, const std::string& wrong, const std::string& why) {
    if (answer.status != DnsStatus::Ok) {
      return;
    }
    bool tlsrpt = std::any_of(answer.records.begin(), answer.records.end(),
                              [](const std::string& t) { return t.rfind("v=TLSRPT", 0) == 0; });
    if (!tlsrpt) {
      return;
    }
    std::string message =
        "a TLS-RPT record is published at " + wrong + " (" + why + "); senders only read " + name;
    std::string hint = "publish it at " + name + " and delete " + wrong;
    if (have_record) {
      c.warn("tlsrpt.misplaced", message, hint);
    } else {
      c.fail("tlsrpt.misplaced", message, hint);
    }
  };
  flag(o.typo_txt, "_smtp_tls." + target.domain, "'_smtp_tls' is a misspelling of '_smtp._tls'");
  flag(o.legacy_txt, "_smtp-tlsrpt." + target.domain, "the name from an early draft");
}

// The policy host's certificate expiry, also when the fetch failed on it.
void check_policy_certificate_expiry(const std::string& host, const FetchResult& f,
                                     const CheckOptions& options, Collector& c) {
  if (!f.certificate_seen) {
    return;
  }
  if (f.days_to_expiry < 0) {
    c.fail("policy.certificate_expiry",
           "the certificate of " + host + " expired " + std::to_string(-f.days_to_expiry) + " days ago",
           "renew the certificate of " + host + "; senders cannot fetch the policy until then");
  } else if (f.days_to_expiry < options.expiry_warn_days) {
    c.warn("policy.certificate_expiry",
           "the certificate of " + host + " expires in " + std::to_string(f.days_to_expiry) + " days",
           "renew the certificate of " + host + " (automate renewal)");
  } else if (f.transport_ok) {
    c.pass("policy.certificate_expiry",
           "the certificate of " + host + " expires in " + std::to_string(f.days_to_expiry) + " days");
  }
}

void check_policy(const CheckTarget& target, const DomainObservation& o,
                  const std::vector<std::string>& hosts, const ParsedStsRecord& sts,
                  const CheckOptions& options, Collector& c) {
  const std::string host = "mta-sts." + target.domain;
  // Policy host in DNS.
  std::vector<std::string> addresses;
  for (const auto* answer : {&o.host_a, &o.host_aaaa}) {
    if (answer->status == DnsStatus::Ok) {
      addresses.insert(addresses.end(), answer->records.begin(), answer->records.end());
    }
  }
  if (!addresses.empty()) {
    std::string list;
    for (const auto& a : addresses) {
      list += (list.empty() ? "" : ", ") + a;
    }
    c.pass("policy_host.dns", host + " resolves to " + list + chain_text(host, o.host_a));
  } else if (is_lookup_failure(o.host_a) || is_lookup_failure(o.host_aaaa)) {
    const DnsAnswer& bad = is_lookup_failure(o.host_a) ? o.host_a : o.host_aaaa;
    c.fail("policy_host.dns", lookup_failure_text(host, is_lookup_failure(o.host_a) ? "A" : "AAAA", bad),
           "check the zone's name servers");
  } else {
    c.fail("policy_host.dns", host + " has no A or AAAA record (" + absence_text(o.host_a) + ")",
           "publish " + host + " A/AAAA (or a CNAME to the policy web server)");
  }

  // HTTPS fetch (RFC 8461 3.3).
  const FetchResult& f = o.fetch;
  if (!f.transport_ok) {
    if (f.certificate_error) {
      c.fail(
          "policy.certificate", "the certificate of " + host + " is not valid: " + f.error,
          "serve a certificate for " + host + " from a trusted CA, unexpired, with " + host + " in its SANs");
      check_policy_certificate_expiry(host, f, options, c);
    } else if (f.timed_out) {
      c.fail("policy.fetch", "fetching " + f.url + " timed out",
             "check that " + host + " answers on port 443");
    } else {
      c.fail("policy.fetch", f.error + (f.address.empty() ? "" : " at " + f.address),
             "check that " + host + " resolves and serves HTTPS on port 443");
    }
    return;
  }
  c.pass("policy.certificate", "the HTTPS certificate is valid for " + host);
  check_policy_certificate_expiry(host, f, options, c);
  if (f.status >= 300 && f.status < 400) {
    c.fail("policy.fetch",
           f.url + " answers " + std::to_string(f.status) + " redirect to '" + f.location +
               "'; senders never follow redirects (RFC 8461 3.3)",
           "serve the policy file directly at /.well-known/mta-sts.txt with status 200");
    return;
  }
  if (f.status == 404) {
    c.fail("policy.fetch", f.url + " answers 404 Not Found: no policy file is published",
           "write the policy to the web root (stsctl apply, or stsctl render policy)");
    return;
  }
  if (f.status != 200) {
    c.fail("policy.fetch", f.url + " answers HTTP " + std::to_string(f.status) + "; only 200 counts",
           "serve the policy file with status 200");
    return;
  }
  if (f.too_large) {
    c.fail("policy.fetch", f.url + " is larger than the 64 KiB senders accept", "serve only the policy file");
    return;
  }
  c.pass("policy.fetch", f.url + " answers 200" + (f.address.empty() ? "" : " (from " + f.address + ")"));
  std::string type = media_type(f.content_type);
  if (type == "text/plain") {
    c.pass("policy.content_type", "Content-Type is " + f.content_type);
  } else {
    c.fail("policy.content_type",
           "Content-Type is '" + f.content_type + "', not text/plain; many senders reject the policy",
           "serve /.well-known/mta-sts.txt as text/plain (nginx: default_type text/plain)");
  }

  ParsedPolicy policy = parse_policy_body(f.body);
  c.add(policy.findings);

  if (policy.max_age) {
    uint32_t max_age = *policy.max_age;
    if (max_age < k_one_day) {
      c.fail("policy.max_age", "max_age " + std::to_string(max_age) + " is under one day",
             "use at least 86400 (a week or more once in enforce)");
    } else if (policy.mode == PolicyMode::Enforce && max_age < k_four_weeks) {
      c.warn("policy.max_age", "max_age " + std::to_string(max_age) + " is under 28 days in enforce mode",
             "raise max_age (e.g. 31557600) once enforce is stable, so cached policies outlive an attack "
             "window");
    } else {
      c.pass("policy.max_age", "max_age " + std::to_string(max_age));
    }
  }

  // Consistency: every MX host must match a pattern (RFC 8461 4.1).
  if (policy.valid && (!policy.mode || *policy.mode != PolicyMode::None)) {
    for (const auto& mx : hosts) {
      auto match = std::find_if(policy.mx.begin(), policy.mx.end(), [&](const std::string& p) {
        return mx_pattern_matches(normalize_name(p), mx);
      });
      if (match != policy.mx.end()) {
        c.pass("policy.mx_coverage", "MX " + mx + " matches mx pattern '" + *match + "'");
      } else {
        c.fail("policy.mx_coverage", "MX " + mx + " matches no mx pattern of the policy",
               "add 'mx: " + mx +
                   "' (or a '*.' pattern one label above it) to the policy, or fix the MX record");
      }
    }
    for (const auto& pattern : policy.mx) {
      bool used = std::any_of(hosts.begin(), hosts.end(), [&](const std::string& mx) {
        return mx_pattern_matches(normalize_name(pattern), mx);
      });
      if (!used && !hosts.empty()) {
        c.warn("policy.mx_unused", "mx pattern '" + pattern + "' matches no current MX host",
               "remove stale patterns; each one is a host senders will trust");
      }
    }
  }

  // Drift between the configured/stated policy and what is live.
  if (target.expected_policy) {
    if (f.body == *target.expected_policy) {
      c.pass("drift.policy", "the live policy equals the configured one");
    } else {
      c.fail("drift.policy",
             "the live policy differs from the configured one (live sha256 " +
                 sha256_hex(f.body).substr(0, 12) + ", configured " +
                 sha256_hex(*target.expected_policy).substr(0, 12) + ")",
             "run stsctl apply to publish the configured policy");
    }
  } else if (!target.expected_hash.empty()) {
    std::string live = sha256_hex(f.body);
    if (live == target.expected_hash) {
      c.pass("drift.policy", "the live policy has the hash recorded in state");
    } else {
      c.fail("drift.policy",
             "the live policy hash " + live.substr(0, 12) + " differs from state " +
                 target.expected_hash.substr(0, 12),
             "run stsctl apply to publish the recorded policy");
    }
  }
  (void)sts;
}

void check_smtp(const DomainObservation& o, const CheckOptions& options, Collector& c) {
  for (const auto& r : o.smtp) {
    const std::string& h = r.host;
    if (!r.connected || !r.error.empty()) {
      std::string message = r.error.empty() ? "failed to connect to " + h : h + ": " + r.error;
      c.fail("smtp.connect", message,
             "check that " + h + " accepts SMTP on port " + std::to_string(options.smtp_options.port));
      continue;
    }
    if (!r.starttls_offered) {
      c.fail("smtp.starttls", h + " does not offer STARTTLS (banner '" + r.banner + "')",
             "enable STARTTLS on " + h + " with a certificate for " + h);
      continue;
    }
    c.pass("smtp.starttls", h + " offers STARTTLS" + (r.address.empty() ? "" : " (at " + r.address + ")"));
    if (!r.tls_ok) {
      c.fail("smtp.tls", h + ": " + r.tls_error, "offer TLS 1.2 or later with a current cipher suite");
      continue;
    }
    c.pass("smtp.tls", h + " negotiated " + r.tls_version + " (" + r.cipher + ")");
    if (r.chain_valid) {
      c.pass("smtp.certificate_chain", h + ": certificate chain is trusted");
    } else {
      c.fail("smtp.certificate_chain", h + ": certificate chain is not valid (" + r.chain_error + ")",
             "install a certificate (with its intermediates) from a public CA, e.g. Let's Encrypt");
    }
    if (r.name_valid) {
      c.pass("smtp.certificate_name", h + ": certificate is valid for " + h);
    } else {
      c.fail("smtp.certificate_name", h + ": certificate " + r.subject + " is not valid for the name " + h,
             "use a certificate whose subjectAltName lists " + h + " (the MX host name)");
    }
    if (r.days_to_expiry < 0) {
      c.fail("smtp.certificate_expiry",
             h + ": certificate expired " + std::to_string(-r.days_to_expiry) + " days ago",
             "renew the certificate of " + h);
    } else if (r.days_to_expiry < options.expiry_warn_days) {
      c.warn("smtp.certificate_expiry",
             h + ": certificate expires in " + std::to_string(r.days_to_expiry) + " days",
             "renew the certificate of " + h + " (automate renewal)");
    } else {
      c.pass("smtp.certificate_expiry",
             h + ": certificate expires in " + std::to_string(r.days_to_expiry) + " days");
    }
  }
}

}  // namespace

std::vector<std::string> mx_hosts(const DnsAnswer& mx) {
  std::vector<std::string> hosts;
  if (mx.status != DnsStatus::Ok) {
    return hosts;
  }
  for (const auto& record : mx.records) {
    std::string host = record.substr(record.find(' ') + 1);
    if (!host.empty() && std::find(hosts.begin(), hosts.end(), host) == hosts.end()) {
      hosts.push_back(host);
    }
  }
  return hosts;
}

DomainReport evaluate_domain(const CheckTarget& target, const DomainObservation& o,
                             const CheckOptions& options) {
  DomainReport report;
  report.domain = target.domain;
  Collector c(&report.findings);

  ParsedStsRecord sts;
  check_sts(target, o, c, &sts);
  if (sts.valid && !target.expected_id.empty()) {
    if (sts.id == target.expected_id) {
      c.pass("drift.id", "DNS id " + sts.id + " equals the id in state");
    } else {
      c.fail("drift.id", "DNS id " + sts.id + " differs from the id in state (" + target.expected_id + ")",
             "run stsctl apply to publish the current id (or check who else edits " + target.domain + ")");
    }
  }
  check_tlsrpt(target, o, c);

  std::vector<std::string> hosts = mx_hosts(o.mx);
  if (o.mx.status == DnsStatus::Ok) {
    if (hosts.size() == 1 && hosts.front().empty()) {
      c.warn("mx.records", target.domain + " has a null MX (accepts no mail); MTA-STS has nothing to protect",
             "retire the policy (mode none) or publish real MX records");
      hosts.clear();
    } else {
      std::string list;
      for (const auto& h : hosts) {
        list += (list.empty() ? "" : ", ") + h;
      }
      c.pass("mx.records", target.domain + " MX: " + list);
    }
  } else if (is_lookup_failure(o.mx)) {
    c.fail("mx.records", lookup_failure_text(target.domain, "MX", o.mx), "check the zone's name servers");
  } else {
    c.fail("mx.records", target.domain + " has no MX records (" + absence_text(o.mx) + ")",
           "publish MX records; MTA-STS protects delivery to MX hosts");
  }

  check_policy(target, o, hosts, sts, options, c);
  if (!o.caa.empty()) {
    const std::string host = "mta-sts." + target.domain;
    c.add(evaluate_caa({host, caa_search_names(host), o.caa, o.fetch.certificate_seen,
                        o.fetch.certificate_issuer, o.fetch.issuer_organization}));
  }
  if (o.smtp_checked) {
    check_smtp(o, options, c);
  }
  return report;
}

}  // namespace stsctl
