#include "deploy/policy_web.h"

#include "check/policy_parse.h"
#include "net/address.h"
#include "policy/policy.h"
#include "publish/webroot.h"

#include <memory>
#include <set>

namespace stsctl {

namespace {

/// Where mta-sts.<policy domain> will answer: the addresses the config gives
/// it, or those of its CNAME target. Empty: resolve the name (the config
/// manages no address for it).
std::vector<std::string> configured_addresses(const Config& config, const std::string& policy_domain) {
  const DomainConfig* domain = config.find_domain(policy_domain);
  if (domain == nullptr) {
    return {};
  }
  const PolicyHost& host = domain->policy_host;
  if (!host.cname.empty()) {
    return resolve_addresses(host.cname);  // the target exists: the operator runs it
  }
  std::vector<std::string> addresses = host.ipv4;
  addresses.insert(addresses.end(), host.ipv6.begin(), host.ipv6.end());
  return addresses;
}

FetchOptions fetch_options(const Config& config) {
  FetchOptions options;
  options.ca_file = config.publish.ca_file;
  options.connect_to = config.publish.connect_to;
  options.timeout_seconds = config.publish.timeout_seconds;
  return options;
}

/// "text/plain; charset=utf-8" -> "text/plain".
std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
    type.pop_back();
  }
  for (auto& c : type) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return type;
}

}  // namespace

std::string policy_mismatch(const FetchResult& result, const std::string& text) {
  if (!result.transport_ok) {
    return result.error;
  }
  if (result.status >= 300 && result.status < 400) {
    return result.url + " answered HTTP " + std::to_string(result.status) + " (redirect to '" +
           result.location + "'; senders never follow redirects, RFC 8461 section 3.3)";
  }
  if (result.status != 200) {
    return result.url + " answered HTTP " + std::to_string(result.status);
  }
  if (media_type(result.content_type) != "text/plain") {
    return result.url + " is served with Content-Type '" + result.content_type +
           "', not text/plain (RFC 8461 section 3.2)";
  }
  if (result.body != text) {
    return result.url + " does not serve the new policy yet (hash " + sha256_hex(result.body).substr(0, 12) +
           ", want " + sha256_hex(text).substr(0, 12) + ")";
  }
  return "";
}

std::string WebrootPolicyWeb::current(const std::string& host) {
  return read_policy_file(m_config.publish.webroot, host);
}

bool WebrootPolicyWeb::write(const std::string& host, const std::string& text) {
  return write_policy_file(m_config.publish.webroot, host, text);
}

std::vector<std::string> WebrootPolicyWeb::verify(const std::vector<VerifyTarget>& targets) {
  FetchOptions options = fetch_options(m_config);
  std::vector<std::string> hosts;
  std::map<std::string, std::vector<std::string>> addresses_by_domain;
  for (const auto& target : targets) {
    hosts.push_back(target.host);
    auto found = addresses_by_domain.find(target.domain);
    if (found == addresses_by_domain.end()) {
      found = addresses_by_domain.emplace(target.domain, configured_addresses(m_config, target.domain)).first;
    }
    // An alias's mta-sts name is a CNAME to the primary's: same addresses.
    options.resolve["mta-sts." + target.host] = found->second;
  }
  auto results = fetch_policies(hosts, options);
  std::vector<std::string> reasons;
  for (size_t i = 0; i < targets.size(); ++i) {
    reasons.push_back(policy_mismatch(results[i], targets[i].text));
  }
  return reasons;
}

std::map<std::string, LivePolicy> WebrootPolicyWeb::fetch_live(const std::vector<std::string>& domains) {
  std::map<std::string, LivePolicy> out;
  auto results = fetch_policies(domains, fetch_options(m_config));
  for (size_t i = 0; i < domains.size(); ++i) {
    LivePolicy& live = out[domains[i]];
    const FetchResult& result = results[i];
    if (!result.transport_ok) {
      live.error = result.error;
      continue;
    }
    if (result.status != 200) {
      live.error = result.url + " answered HTTP " + std::to_string(result.status);
      continue;
    }
    live.body = result.body;
    ParsedPolicy parsed = parse_policy_body(result.body);
    if (!parsed.mode || !parsed.max_age) {
      live.error = result.url + " does not serve a policy with a mode and a max_age";
      continue;
    }
    live.policy = make_policy(*parsed.mode, *parsed.max_age, parsed.mx);
  }
  return out;
}

}  // namespace stsctl
