#pragma once
// `stsctl init --from-dns DOMAIN…`: a starting config from what domains
// already publish (MX, _mta-sts and _smtp._tls TXT, the live policy over
// HTTPS, mta-sts A/AAAA/CNAME and CAA), so a hand-made MTA-STS setup is
// adopted as it is. Gathering is the edge (DNS, HTTPS); turning what was
// gathered into config text is pure (config_from_published).

#include "check/dns_lookup.h"
#include "cli/context.h"
#include "config/config.h"
#include "net/https_fetch.h"

#include <string>
#include <vector>

namespace stsctl {

struct InitOptions {
  std::vector<std::string> domains;  // --from-dns
  std::string provider;              // --provider: defaults.provider of the written config
  std::string resolver;              // --resolver IP[:port]; empty: the system resolver
  std::string ca_file;               // --ca-file: trust this CA for the policy fetch
  double timeout_seconds = 20;       // --timeout, per network step
};

/// What one domain publishes, as a sender's resolver and HTTPS client see it.
struct PublishedDomain {
  std::string domain;    // normalised
  DnsAnswer mx;          // D MX
  DnsAnswer sts_txt;     // _mta-sts.D TXT (cname_chain: an alias)
  DnsAnswer tlsrpt_txt;  // _smtp._tls.D TXT
  DnsAnswer host_a;      // mta-sts.D A (cname_chain: a CNAME)
  DnsAnswer host_aaaa;   // mta-sts.D AAAA
  DnsAnswer caa_status;  // mta-sts.D CAA: status and error only
  std::vector<CaaEntry> caa;
  bool policy_fetched = false;  // policy holds a fetch (done when _mta-sts has a record)
  FetchResult policy;
};

/// The config text and what to tell the operator.
struct InitResult {
  std::string config_text;          // empty when errors is not
  std::vector<std::string> notes;   // "D: ..." lines: what differs from stsctl's form, what to add
  std::vector<std::string> errors;  // why nothing can be written
};

/// Pure: the config that reproduces `published` (in its order). A domain
/// whose _mta-sts, _smtp._tls and mta-sts names CNAME to another listed
/// domain's names becomes alias_of it. `provider` goes to defaults.provider
/// (empty: left for the operator). `header` is the first comment line.
InitResult config_from_published(const std::vector<PublishedDomain>& published, const std::string& provider,
                                 const std::string& header);

/// The other domain whose _mta-sts name `domain`'s CNAMEs to; "" when none.
std::string alias_target(const PublishedDomain& domain);

/// `init --from-dns`: gathers, then writes the config to the -c path, which
/// must not exist yet. Exit 0 written, 1 nothing written (errors printed).
int run_init(Context& context, const InitOptions& options);

}  // namespace stsctl
