// Gathering for `check` (edge): DNS for every domain in one pipelined batch,
// then the policy fetches and, at the same time, one STARTTLS probe per
// distinct MX host. HTTPS
// and SMTP connect to the addresses resolved here, so every answer comes
// from the same resolver (no second lookup through the system resolver).
#include "check/caa.h"
#include "check/checker.h"

#include <future>
#include <map>

namespace stsctl {

namespace {

// The lookups of one domain, in the order lookup_many answers them.
constexpr size_t k_fixed_queries = 8;

std::vector<DnsQuery> domain_queries(const std::string& d) {
  return {{"_mta-sts." + d, "TXT"},     {d, "TXT"}, {"_smtp._tls." + d, "TXT"}, {"_smtp_tls." + d, "TXT"},
          {"_smtp-tlsrpt." + d, "TXT"}, {d, "MX"},  {"mta-sts." + d, "A"},      {"mta-sts." + d, "AAAA"}};
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

void gather_dns(DnsLookup& dns, const CheckOptions& options, const std::vector<CheckTarget>& targets,
                std::vector<DomainObservation>& observed) {
  std::vector<DnsQuery> queries;
  queries.reserve(targets.size() * (k_fixed_queries + 4));
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
  std::vector<DnsAnswer> answers = dns.lookup_many(queries, [&](size_t done, size_t total) {
    if (options.progress) {
      options.progress("dns", done, total);
    }
  });
  for (size_t i = 0; i < targets.size(); ++i) {
    DomainObservation& o = observed[i];
    DnsAnswer* a = &answers[i * k_fixed_queries];
    o.sts_txt = std::move(a[0]);
    o.apex_txt = std::move(a[1]);
    o.tlsrpt_txt = std::move(a[2]);
    o.typo_txt = std::move(a[3]);
    o.legacy_txt = std::move(a[4]);
    o.mx = std::move(a[5]);
    o.host_a = std::move(a[6]);
    o.host_aaaa = std::move(a[7]);
    for (size_t index : caa_of[i]) {
      o.caa.push_back(answers[index]);  // copied: parents are shared
    }
  }
}

void gather_smtp(DnsLookup& dns, const CheckOptions& options, std::vector<DomainObservation>& observed) {
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
  std::vector<SmtpResult> probed =
      probe_smtp_many(probe_hosts, options.smtp_options, options.smtp_parallel, probe_addresses);
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
  gather_dns(dns, options, targets, observed);

  // SMTP probes run on their own thread while the HTTPS fetches run here:
  // both mostly wait on the network, so the run takes the longer of the two.
  std::future<void> smtp;
  if (options.smtp) {
    smtp = std::async(std::launch::async, [&] { gather_smtp(dns, options, observed); });
  }

  // The policy hosts' addresses from our own lookups (like curl --resolve);
  // a connect_to entry (tests) still wins inside fetch_policies.
  FetchOptions fetch = options.fetch;
  std::vector<std::string> domains;
  for (size_t i = 0; i < targets.size(); ++i) {
    domains.push_back(targets[i].domain);
    std::vector<std::string> addresses = policy_host_addresses(observed[i]);
    if (!addresses.empty()) {
      fetch.resolve["mta-sts." + targets[i].domain] = std::move(addresses);
    }
  }
  std::vector<FetchResult> fetched;
  try {
    fetched = fetch_policies(domains, fetch, options.https_parallel);
  } catch (...) {
    if (smtp.valid()) {
      smtp.wait();
    }
    throw;
  }
  if (options.progress) {
    options.progress("https", targets.size(), targets.size());
  }
  if (smtp.valid()) {
    smtp.get();
    if (options.progress) {
      options.progress("smtp", targets.size(), targets.size());
    }
  }
  // gather_smtp touches only the smtp fields; the fetches are stored after it ends.
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
