#include "publish/propagation.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netdb.h>

#include <chrono>
#include <memory>
#include <thread>

namespace stsctl {

namespace {

struct ResolverFree {
  void operator()(ldns_resolver* r) const { ldns_resolver_deep_free(r); }
};
struct PacketFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct RrListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};

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
    std::string value = it->second;
    size_t colon = value.rfind(':');
    if (colon != std::string::npos && value.find(']') == std::string::npos && value.find(':') == colon) {
      endpoint.address = value.substr(0, colon);
      endpoint.port = static_cast<uint16_t>(std::stoi(value.substr(colon + 1)));
    } else if (!value.empty() && value.front() == '[') {
      size_t close = value.find(']');
      endpoint.address = value.substr(1, close - 1);
      if (close + 1 < value.size() && value[close + 1] == ':') {
        endpoint.port = static_cast<uint16_t>(std::stoi(value.substr(close + 2)));
      }
    } else {
      endpoint.address = value;
    }
    return endpoint;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &result);
  if (rc != 0 || result == nullptr) {
    endpoint.error = std::string("cannot resolve ") + name + ": " + gai_strerror(rc);
    return endpoint;
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (result->ai_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(result->ai_addr)->sin6_addr, text, sizeof text);
  }
  freeaddrinfo(result);
  endpoint.address = text;
  return endpoint;
}

/// The TXT values at `owner` as served by one server, strings joined
/// (RFC 8461 section 3.1); or an error text in parentheses.
std::vector<std::string> query_txt(const Endpoint& endpoint, const std::string& owner, std::string& error) {
  std::vector<std::string> values;
  ldns_resolver* raw = ldns_resolver_new();
  std::unique_ptr<ldns_resolver, ResolverFree> resolver(raw);
  std::unique_ptr<ldns_rdf, RdfFree> address(ldns_rdf_new_frm_str(
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
  std::unique_ptr<ldns_rdf, RdfFree> name(ldns_dname_new_frm_str(owner.c_str()));
  ldns_pkt* raw_answer = nullptr;
  ldns_status status = ldns_resolver_query_status(&raw_answer, resolver.get(), name.get(), LDNS_RR_TYPE_TXT,
                                                  LDNS_RR_CLASS_IN, 0);
  std::unique_ptr<ldns_pkt, PacketFree> answer(raw_answer);
  if (status != LDNS_STATUS_OK || !answer) {
    error = std::string("(") + ldns_get_errorstr_by_id(status) + ")";
    return values;
  }
  std::unique_ptr<ldns_rr_list, RrListFree> txts(
      ldns_pkt_rr_list_by_type(answer.get(), LDNS_RR_TYPE_TXT, LDNS_SECTION_ANSWER));
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
