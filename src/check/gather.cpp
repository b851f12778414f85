// Gathering for `check` (edge): the policy hosts' addresses in one pipelined
// DNS batch, then the policy fetches on their own threads while the other
// lookups (one batch) and one STARTTLS probe per distinct MX host run here.
// HTTPS and SMTP connect to the addresses resolved here, so every answer
// comes from the same resolver (no second lookup through the system resolver).
#include "check/caa.h"
#include "check/checker.h"
#include "net/tls_client.h"

#include <functional>
#include <future>
#include <map>

namespace stsctl {

namespace {

// The lookups of one domain besides the policy host's addresses, in the
// order lookup_many answers them.
constexpr size_t k_fixed_queries = 6;

std::vector<DnsQuery> domain_queries(const std::string& d) {
  return {{"_mta-sts." + d, "TXT"},     {d, "TXT"}, {"_smtp._tls." + d, "TXT"}, {"_smtp_tls." + d, "TXT"},
          {"_smtp-tlsrpt." + d, "TXT"}, {d, "MX"}};
}

std::vector<std::string> policy_host_addresses(const DomainObservation& o) {
  std::vector<std::string> addresses;
  for (const auto* answer : {&o.host_a, &o.host_aaaa}) {
    if (answer->status == DnsStatus::Ok) {
      addresses.insert(addresses.end(), answer->records.begin(), answer->records.end());
    }
  }
  return addresses;
}

// Reports DNS progress over both batches as one count.
std::function<void(size_t, size_t)> dns_progress(const CheckOptions& options, size_t before, size_t total) {
  return [&options, before, total](size_t done, size_t /*batch*/) {
    if (options.progress) {
      options.progress("dns", before + done, total);
    }
  };
}

// First batch: mta-sts.D A and AAAA, all the HTTPS fetches need to start.
void gather_policy_hosts(DnsLookup& dns, const CheckOptions& options, const std::vector<CheckTarget>& targets,
                         std::vector<DomainObservation>& observed, size_t total) {
  std::vector<DnsQuery> queries;
  queries.reserve(targets.size() * 2);
  for (const auto& target : targets) {
    queries.push_back({"mta-sts." + target.domain, "A"});
    queries.push_back({"mta-sts." + target.domain, "AAAA"});
  }
  std::vector<DnsAnswer> answers = dns.lookup_many(queries, dns_progress(options, 0, total));
  for (size_t i = 0; i < targets.size(); ++i) {
    observed[i].host_a = std::move(answers[2 * i]);
    observed[i].host_aaaa = std::move(answers[2 * i + 1]);
  }
}

// Second batch, while the fetches run: the records and CAA of every domain.
void gather_records(DnsLookup& dns, const CheckOptions& options, const std::vector<CheckTarget>& targets,
                    std::vector<DomainObservation>& observed, size_t total) {
  std::vector<DnsQuery> queries;
  queries.reserve(targets.size() * (k_fixed_queries + 2));
  // CAA names are shared between domains (parents): each is asked once.
  std::map<std::string, size_t> caa_index;
  std::vector<std::vector<size_t>> caa_of(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    for (auto& query : domain_queries(targets[i].domain)) {
      queries.push_back(std::move(query));
    }
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    for (const auto& name : caa_search_names("mta-sts." + targets[i].domain)) {
      auto [it, added] = caa_index.emplace(name, queries.size());
      if (added) {
        queries.push_back({name, "CAA"});
      }
      caa_of[i].push_back(it->second);
    }
  }
  std::vector<DnsAnswer> answers = dns.lookup_many(queries, dns_progress(options, 2 * targets.size(), total));
  for (size_t i = 0; i < targets.size(); ++i) {
    DomainObservation& o = observed[i];
    DnsAnswer* a = &answers[i * k_fixed_queries];
    o.sts_txt = std::move(a[0]);
    o.apex_txt = std::move(a[1]);
    o.tlsrpt_txt = std::move(a[2]);
    o.typo_txt = std::move(a[3]);
    o.legacy_txt = std::move(a[4]);
    o.mx = std::move(a[5]);
    for (size_t index : caa_of[i]) {
      o.caa.push_back(answers[index]);  // copied: parents are shared
    }
  }
}

void gather_smtp(DnsLookup& dns, const CheckOptions& options, std::shared_ptr<const TlsClient> tls,
                 std::vector<DomainObservation>& observed) {
  std::vector<std::string> unique;
  std::map<std::string, size_t> index;
  for (const auto& o : observed) {
    for (const auto& host : mx_hosts(o.mx)) {
      if (!host.empty() && index.emplace(host, unique.size()).second) {
        unique.push_back(host);
      }
    }
  }
  // MX host addresses come from the same resolver as everything else
  // (connect_to, for tests, takes precedence inside probe_smtp).
  std::vector<HostAddresses> addresses = resolve_addresses(dns, unique);
  // Hosts without an address are reported, not handed to getaddrinfo().
  std::vector<std::string> probe_hosts;
  std::vector<std::vector<std::string>> probe_addresses;
  std::vector<SmtpResult> results(unique.size());
  std::vector<size_t> probe_index;
  const auto& map = options.smtp_options.connect_to;
  const std::string port = std::to_string(options.smtp_options.port);
  for (size_t i = 0; i < unique.size(); ++i) {
    bool mapped =
        map.count(unique[i]) > 0 || map.count(unique[i] + ":" + port) > 0 || map.count(":" + port) > 0;
    if (!mapped && addresses[i].addresses.empty()) {
      results[i].host = unique[i];
      results[i].error = "MX host " + unique[i] + " has no A or AAAA record (" +
                         std::string(to_string(addresses[i].a_status)) + ")";
      continue;
    }
    probe_hosts.push_back(unique[i]);
    probe_addresses.push_back(addresses[i].addresses);
    probe_index.push_back(i);
  }
  SmtpOptions smtp = options.smtp_options;
  smtp.tls = std::move(tls);
  std::vector<SmtpResult> probed = probe_smtp_many(probe_hosts, smtp, options.smtp_parallel, probe_addresses);
  for (size_t k = 0; k < probed.size(); ++k) {
    results[probe_index[k]] = std::move(probed[k]);
  }
  for (auto& o : observed) {
    o.smtp_checked = true;
    for (const auto& host : mx_hosts(o.mx)) {
      if (!host.empty()) {
        o.smtp.push_back(results[index.at(host)]);
      }
    }
  }
}

}  // namespace

CheckReport run_checks(const CheckOptions& options, const std::vector<CheckTarget>& targets) {
  std::vector<DomainObservation> observed(targets.size());
  DnsLookup dns(options.dns);
  // Progress counts the lookups of both batches (CAA names estimated as one
  // per domain; the last report is exact).
  size_t dns_total = targets.size() * (2 + k_fixed_queries + 1);
  gather_policy_hosts(dns, options, targets, observed, dns_total);

  // The policy hosts' addresses from our own lookups (like curl --resolve);
  // a connect_to entry (tests) still wins inside fetch_policies.
  FetchOptions fetch = options.fetch;
  // One TLS context for the run's HTTPS and SMTP connections.
  auto tls = std::make_shared<const TlsClient>(
      std::vector<std::string>{options.fetch.ca_file, options.smtp_options.ca_file});
  fetch.tls = tls;
  std::vector<std::string> domains;
  for (size_t i = 0; i < targets.size(); ++i) {
    domains.push_back(targets[i].domain);
    std::vector<std::string> addresses = policy_host_addresses(observed[i]);
    if (!addresses.empty()) {
      fetch.resolve["mta-sts." + targets[i].domain] = std::move(addresses);
    }
  }
  // The fetches (mostly TLS handshakes) run on their own threads while the
  // other lookups and the SMTP probes go on here: each phase mostly waits on
  // the network, so the run takes about as long as the longest.
  std::future<std::vector<FetchResult>> fetching =
      std::async(std::launch::async, [&] { return fetch_policies(domains, fetch, options.https_parallel); });
  try {
    gather_records(dns, options, targets, observed, dns_total);
    if (options.smtp) {
      gather_smtp(dns, options, tls, observed);
      if (options.progress) {
        options.progress("smtp", targets.size(), targets.size());
      }
    }
  } catch (...) {
    fetching.wait();
    throw;
  }
  std::vector<FetchResult> fetched = fetching.get();
  if (options.progress) {
    options.progress("https", targets.size(), targets.size());
  }
  // Each field of an observation has one writer: the fetches are stored here.
  for (size_t i = 0; i < targets.size() && i < fetched.size(); ++i) {
    observed[i].fetch = std::move(fetched[i]);
  }

  CheckReport report;
  report.domains.reserve(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    report.domains.push_back(evaluate_domain(targets[i], observed[i], options));
  }
  return report;
}

}  // namespace stsctl
