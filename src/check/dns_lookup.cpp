#include "check/dns_lookup.h"

#include "dns/name.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>

#include <cmath>
#include <memory>
#include <stdexcept>

namespace stsctl {

namespace {

using ResolverPtr = std::unique_ptr<ldns_resolver, decltype(&ldns_resolver_deep_free)>;
using RdfPtr = std::unique_ptr<ldns_rdf, decltype(&ldns_rdf_deep_free)>;
using PktPtr = std::unique_ptr<ldns_pkt, decltype(&ldns_pkt_free)>;

std::string rdf_to_string(const ldns_rdf* rdf) {
  char* text = ldns_rdf2str(rdf);
  if (text == nullptr) {
    return "";
  }
  std::string out(text);
  free(text);  // NOLINT: allocated by ldns with malloc
  return out;
}

ldns_rr_type parse_type(const std::string& type) {
  if (type == "TXT") {
    return LDNS_RR_TYPE_TXT;
  }
  if (type == "MX") {
    return LDNS_RR_TYPE_MX;
  }
  if (type == "A") {
    return LDNS_RR_TYPE_A;
  }
  if (type == "AAAA") {
    return LDNS_RR_TYPE_AAAA;
  }
  if (type == "CNAME") {
    return LDNS_RR_TYPE_CNAME;
  }
  throw std::invalid_argument("unsupported DNS type '" + type + "'");
}

std::string record_text(const ldns_rr* rr, ldns_rr_type type) {
  switch (type) {
    case LDNS_RR_TYPE_TXT: {
      // RFC 8461 3.1: strings are concatenated without separators.
      std::string joined;
      for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
        const uint8_t* data = ldns_rdf_data(rdf);
        size_t size = ldns_rdf_size(rdf);
        if (size >= 1) {
          size_t length = std::min<size_t>(data[0], size - 1);
          joined.append(reinterpret_cast<const char*>(data + 1), length);
        }
      }
      return joined;
    }
    case LDNS_RR_TYPE_MX:
      return std::to_string(ldns_rdf2native_int16(ldns_rr_rdf(rr, 0))) + " " +
             normalize_name(rdf_to_string(ldns_rr_rdf(rr, 1)));
    case LDNS_RR_TYPE_CNAME:
      return normalize_name(rdf_to_string(ldns_rr_rdf(rr, 0)));
    default:
      return rdf_to_string(ldns_rr_rdf(rr, 0));
  }
}

ResolverPtr make_resolver(const DnsOptions& options, std::string* description) {
  ldns_resolver* raw = nullptr;
  if (options.resolver.empty()) {
    ldns_status status = ldns_resolver_new_frm_file(&raw, nullptr);
    if (status != LDNS_STATUS_OK || raw == nullptr) {
      throw std::runtime_error(std::string("failed to read the system resolver from /etc/resolv.conf (") +
                               ldns_get_errorstr_by_id(status) + "); pass --resolver IP[:port]");
    }
    *description = "the system resolver";
  } else {
    auto [address, port] = parse_resolver_address(options.resolver);
    raw = ldns_resolver_new();
    if (raw == nullptr) {
      throw std::runtime_error("failed to create a DNS resolver (out of memory)");
    }
    ResolverPtr holder(raw, ldns_resolver_deep_free);
    bool v6 = address.find(':') != std::string::npos;
    RdfPtr rdf(ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, address.c_str()),
               ldns_rdf_deep_free);
    if (!rdf || ldns_resolver_push_nameserver(raw, rdf.get()) != LDNS_STATUS_OK) {
      throw std::runtime_error("failed to use resolver '" + options.resolver + "' (not an IP address)");
    }
    ldns_resolver_set_port(raw, port);
    holder.release();
    *description = "resolver " + options.resolver;
  }
  timeval timeout{};
  double seconds = std::max(0.05, options.timeout_seconds);
  timeout.tv_sec = static_cast<time_t>(seconds);
  timeout.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
  ldns_resolver_set_timeout(raw, timeout);
  ldns_resolver_set_retry(raw, static_cast<uint8_t>(std::max(1, options.retries)));
  ldns_resolver_set_recursive(raw, true);
  ldns_resolver_set_dnsrch(raw, false);
  ldns_resolver_set_defnames(raw, false);
  ldns_resolver_set_fallback(raw, true);  // TCP when truncated
  return ResolverPtr(raw, ldns_resolver_deep_free);
}

// One query; fills records from the answer chain starting at `name`. Returns
// the name the chain ended at (for a re-query when the answer stops at a CNAME).
DnsAnswer query_once(ldns_resolver* resolver, const std::string& name, ldns_rr_type type,
                     const std::string& description, std::string* chain_end, bool* dangling_cname) {
  DnsAnswer answer;
  *dangling_cname = false;
  RdfPtr qname(ldns_dname_new_frm_str(absolute(name).c_str()), ldns_rdf_deep_free);
  if (!qname) {
    answer.status = DnsStatus::Error;
    answer.error = "'" + name + "' is not a valid DNS name";
    return answer;
  }
  // ldns marks a server that once timed out as unreachable for good; every
  // lookup here should try again and report its own timeout.
  for (size_t i = 0; i < ldns_resolver_nameserver_count(resolver); ++i) {
    ldns_resolver_set_nameserver_rtt(resolver, i, LDNS_RESOLV_RTT_MIN);
  }
  ldns_pkt* raw = nullptr;
  ldns_status status =
      ldns_resolver_query_status(&raw, resolver, qname.get(), type, LDNS_RR_CLASS_IN, LDNS_RD);
  PktPtr packet(raw, ldns_pkt_free);
  if (status != LDNS_STATUS_OK || !packet) {
    bool network = status == LDNS_STATUS_NETWORK_ERR || status == LDNS_STATUS_ERR || status == LDNS_STATUS_OK;
    answer.status = network ? DnsStatus::Timeout : DnsStatus::Error;
    answer.error = network ? "no answer from " + description + " (timeout or unreachable)"
                           : std::string("failed to query ") + description + " (" +
                                 ldns_get_errorstr_by_id(status) + ")";
    return answer;
  }
  ldns_pkt_rcode rcode = ldns_pkt_get_rcode(packet.get());
  std::string current = normalize_name(name);
  const ldns_rr_list* rrs = ldns_pkt_answer(packet.get());
  for (int hop = 0; hop < 16; ++hop) {
    bool found = false;
    std::string next;
    for (size_t i = 0; rrs != nullptr && i < ldns_rr_list_rr_count(rrs); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(rrs, i);
      if (normalize_name(rdf_to_string(ldns_rr_owner(rr))) != current) {
        continue;
      }
      if (ldns_rr_get_type(rr) == type) {
        answer.records.push_back(record_text(rr, type));
        found = true;
      } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && type != LDNS_RR_TYPE_CNAME) {
        next = record_text(rr, LDNS_RR_TYPE_CNAME);
      }
    }
    if (found || next.empty()) {
      break;
    }
    answer.cname_chain.push_back(next);
    current = next;
  }
  *chain_end = current;
  if (rcode == LDNS_RCODE_NOERROR) {
    answer.status = answer.records.empty() ? DnsStatus::NoData : DnsStatus::Ok;
    *dangling_cname = answer.records.empty() && !answer.cname_chain.empty();
  } else if (rcode == LDNS_RCODE_NXDOMAIN) {
    answer.status = DnsStatus::NxDomain;
  } else if (rcode == LDNS_RCODE_SERVFAIL) {
    answer.status = DnsStatus::ServFail;
    answer.error = "SERVFAIL from " + description;
  } else if (rcode == LDNS_RCODE_REFUSED) {
    answer.status = DnsStatus::Refused;
    answer.error = "REFUSED by " + description;
  } else {
    answer.status = DnsStatus::Error;
    answer.error = "rcode " + std::to_string(static_cast<int>(rcode)) + " from " + description;
  }
  return answer;
}

DnsAnswer resolve(ldns_resolver* resolver, const std::string& name, const std::string& type,
                  const std::string& description) {
  ldns_rr_type rr_type;
  try {
    rr_type = parse_type(type);
  } catch (const std::exception& e) {
    DnsAnswer answer;
    answer.error = e.what();
    return answer;
  }
  std::vector<std::string> chain;
  std::string query = name;
  // An authoritative server answers a CNAME to a name outside its data with the
  // CNAME alone: continue from where the chain stopped.
  for (int round = 0; round < 8; ++round) {
    std::string end;
    bool dangling = false;
    DnsAnswer answer = query_once(resolver, query, rr_type, description, &end, &dangling);
    chain.insert(chain.end(), answer.cname_chain.begin(), answer.cname_chain.end());
    answer.cname_chain = chain;
    if (!dangling || end == normalize_name(query)) {
      return answer;
    }
    query = end;
  }
  DnsAnswer loop;
  loop.status = DnsStatus::Error;
  loop.error = "CNAME chain from '" + name + "' is too long (loop?)";
  loop.cname_chain = chain;
  return loop;
}

}  // namespace

const char* to_string(DnsStatus status) {
  switch (status) {
    case DnsStatus::Ok:
      return "ok";
    case DnsStatus::NxDomain:
      return "NXDOMAIN";
    case DnsStatus::NoData:
      return "NODATA";
    case DnsStatus::ServFail:
      return "SERVFAIL";
    case DnsStatus::Refused:
      return "REFUSED";
    case DnsStatus::Timeout:
      return "timeout";
    case DnsStatus::Error:
      return "error";
  }
  return "error";
}

std::pair<std::string, uint16_t> parse_resolver_address(const std::string& text) {
  std::string address = text;
  uint16_t port = 53;
  auto parse_port = [&](const std::string& digits) {
    if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(digits) == 0 || std::stoi(digits) > 65535) {
      throw std::invalid_argument("bad port in resolver '" + text + "'");
    }
    port = static_cast<uint16_t>(std::stoi(digits));
  };
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) {
      throw std::invalid_argument("resolver '" + text + "' has no closing ']'");
    }
    address = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        throw std::invalid_argument("resolver '" + text + "' must be [IPv6]:port");
      }
      parse_port(text.substr(close + 2));
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    size_t colon = text.find(':');
    address = text.substr(0, colon);
    parse_port(text.substr(colon + 1));
  }
  unsigned char buffer[16];
  if (inet_pton(AF_INET, address.c_str(), buffer) != 1 && inet_pton(AF_INET6, address.c_str(), buffer) != 1) {
    throw std::invalid_argument("resolver '" + text + "' is not IP[:port]");
  }
  return {address, port};
}

DnsLookup::DnsLookup(const DnsOptions& options) : m_options(options) {
  int workers = std::max(1, options.workers);
  std::vector<ResolverPtr> resolvers;
  for (int i = 0; i < workers; ++i) {
    resolvers.push_back(make_resolver(options, &m_description));
  }
  for (auto& resolver : resolvers) {
    ldns_resolver* raw = resolver.release();
    m_threads.emplace_back([this, raw] {
      ResolverPtr owned(raw, ldns_resolver_deep_free);
      for (;;) {
        Job job;
        {
          std::unique_lock<std::mutex> lock(m_mutex);
          m_cv.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
          if (m_jobs.empty()) {
            return;
          }
          job = std::move(m_jobs.front());
          m_jobs.pop_front();
        }
        try {
          job.promise.set_value(resolve(owned.get(), job.name, job.type, m_description));
        } catch (...) {
          job.promise.set_exception(std::current_exception());
        }
      }
    });
  }
}

DnsLookup::~DnsLookup() {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stopping = true;
  }
  m_cv.notify_all();
  for (auto& thread : m_threads) {
    thread.join();
  }
}

std::shared_future<DnsAnswer> DnsLookup::lookup_async(const std::string& name, const std::string& type) {
  Job job;
  job.name = name;
  job.type = type;
  std::shared_future<DnsAnswer> future = job.promise.get_future().share();
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_jobs.push_back(std::move(job));
  }
  m_cv.notify_one();
  return future;
}

DnsAnswer DnsLookup::lookup(const std::string& name, const std::string& type) {
  return lookup_async(name, type).get();
}

std::vector<HostAddresses> resolve_addresses(DnsLookup& dns, const std::vector<std::string>& hosts) {
  std::vector<std::pair<std::shared_future<DnsAnswer>, std::shared_future<DnsAnswer>>> lookups;
  for (const auto& host : hosts) {
    lookups.emplace_back(dns.lookup_async(host, "A"), dns.lookup_async(host, "AAAA"));
  }
  std::vector<HostAddresses> out;
  for (auto& [a, aaaa] : lookups) {
    HostAddresses host;
    host.addresses = a.get().records;
    host.a_status = a.get().status;
    const auto& v6 = aaaa.get().records;
    host.addresses.insert(host.addresses.end(), v6.begin(), v6.end());
    out.push_back(std::move(host));
  }
  return out;
}

}  // namespace stsctl
