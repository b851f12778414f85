#include "publish/propagation.h"

#include "config/values.h"
#include "net/address.h"
#include "util/handles.h"

#include <chrono>
#include <memory>
#include <thread>

namespace stsctl {

namespace {

struct Endpoint {
  std::string address;
  uint16_t port = 53;
  std::string error;
};

Endpoint endpoint_for(const std::string& nameserver, const PropagationOptions& options) {
  std::string name = nameserver;
  if (!name.empty() && name.back() == '.') {
    name.pop_back();
  }
  Endpoint endpoint;
  auto it = options.addresses.find(name);
  if (it != options.addresses.end()) {
    // Validated when the config was loaded; a bad value here is a caller's bug.
    HostPort target;
    if (auto reason = parse_host_port(it->second, 53, &target)) {
      endpoint.error = "bad address " + it->second + ": " + *reason;
      return endpoint;
    }
    endpoint.address = target.host;
    endpoint.port = target.port;
    return endpoint;
  }
  std::string reason;
  std::vector<std::string> addresses = resolve_addresses(name, &reason);
  if (addresses.empty()) {
    endpoint.error = "cannot resolve " + name + ": " + reason;
    return endpoint;
  }
  endpoint.address = addresses.front();
  return endpoint;
}

/// The TXT values at `owner` as served by one server, strings joined
/// (RFC 8461 section 3.1); or an error text in parentheses.
std::vector<std::string> query_txt(const Endpoint& endpoint, const std::string& owner, std::string& error) {
  std::vector<std::string> values;
  ldns_resolver* raw = ldns_resolver_new();
  handle::LdnsResolver resolver(raw);
  handle::LdnsRdf address(ldns_rdf_new_frm_str(
      endpoint.address.find(':') == std::string::npos ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
      endpoint.address.c_str()));
  if (!address) {
    error = "(bad address " + endpoint.address + ")";
    return values;
  }
  ldns_resolver_push_nameserver(resolver.get(), address.get());
  ldns_resolver_set_port(resolver.get(), endpoint.port);
  ldns_resolver_set_recursive(resolver.get(), false);
  ldns_resolver_set_usevc(resolver.get(), true);
  ldns_resolver_set_retry(resolver.get(), 1);
  timeval timeout{3, 0};
  ldns_resolver_set_timeout(resolver.get(), timeout);
  handle::LdnsRdf name(ldns_dname_new_frm_str(owner.c_str()));
  ldns_pkt* raw_answer = nullptr;
  ldns_status status = ldns_resolver_query_status(&raw_answer, resolver.get(), name.get(), LDNS_RR_TYPE_TXT,
                                                  LDNS_RR_CLASS_IN, 0);
  handle::LdnsPkt answer(raw_answer);
  if (status != LDNS_STATUS_OK || !answer) {
    error = std::string("(") + ldns_get_errorstr_by_id(status) + ")";
    return values;
  }
  handle::LdnsRrList txts(ldns_pkt_rr_list_by_type(answer.get(), LDNS_RR_TYPE_TXT, LDNS_SECTION_ANSWER));
  for (size_t i = 0; txts && i < ldns_rr_list_rr_count(txts.get()); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(txts.get(), i);
    std::string joined;
    for (size_t j = 0; j < ldns_rr_rd_count(rr); ++j) {
      const ldns_rdf* rdf = ldns_rr_rdf(rr, j);
      const uint8_t* data = ldns_rdf_data(rdf);
      joined.append(reinterpret_cast<const char*>(data + 1), data[0]);
    }
    values.push_back(joined);
  }
  return values;
}

}  // namespace

std::vector<NameserverLag> wait_for_propagation(const std::vector<PropagationTarget>& targets,
                                                const PropagationOptions& options,
                                                const std::function<void(size_t, size_t)>& progress) {
  struct Pending {
    const PropagationTarget* target;
    std::string nameserver;
    Endpoint endpoint;
    std::string seen;
  };
  std::vector<Pending> pending;
  std::vector<NameserverLag> lags;
  std::map<std::string, Endpoint> endpoints;  // one lookup per name server
  for (const auto& target : targets) {
    for (const auto& nameserver : target.nameservers) {
      auto found = endpoints.find(nameserver);
      if (found == endpoints.end()) {
        found = endpoints.emplace(nameserver, endpoint_for(nameserver, options)).first;
      }
      if (!found->second.error.empty()) {
        // A name server that cannot be found will not start serving by waiting.
        lags.push_back({target.owner, nameserver, "(" + found->second.error + ")"});
        continue;
      }
      pending.push_back({&target, nameserver, found->second, ""});
    }
  }
  const size_t total = pending.size();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.timeout_seconds);
  while (!pending.empty()) {
    std::vector<Pending> still;
    for (auto& item : pending) {
      std::string error;
      auto values = query_txt(item.endpoint, item.target->owner, error);
      bool served = false;
      for (const auto& value : values) {
        served = served || value == item.target->expected_txt;
      }
      if (!served) {
        item.seen = error.empty() ? (values.empty() ? "" : values.front()) : error;
        still.push_back(item);
      }
    }
    pending = std::move(still);
    if (progress) {
      progress(total - pending.size(), total);
    }
    if (pending.empty() || std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(options.interval_seconds));
  }
  for (const auto& item : pending) {
    lags.push_back({item.target->owner, item.nameserver, item.seen});
  }
  return lags;
}

}  // namespace stsctl
