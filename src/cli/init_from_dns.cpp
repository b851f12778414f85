#include "cli/init_from_dns.h"

#include "check/caa.h"
#include "check/policy_parse.h"
#include "dns/name.h"
#include "policy/policy.h"
#include "publish/atomic_file.h"
#include "util/escape.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>

namespace stsctl {

namespace {

/// A YAML double-quoted scalar.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static const char k_hex[] = "0123456789abcdef";
      out += "\\x";
      out += k_hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += k_hex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// A domain name as a mapping key: plain when it can be, else quoted.
std::string key(const std::string& name) {
  bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
  return plain ? name : quoted(name);
}

std::string flow_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ", ") + quoted(items[i]);
  }
  return out + "]";
}

bool answered(const DnsAnswer& answer) {
  return answer.status == DnsStatus::Ok || answer.status == DnsStatus::NxDomain ||
         answer.status == DnsStatus::NoData;
}

std::string lookup_error(const std::string& name, const std::string& type, const DnsAnswer& answer) {
  return "failed to look up '" + name + "' " + type + " (" +
         (answer.error.empty() ? std::string(to_string(answer.status)) : answer.error) +
         "); init writes nothing until every lookup answers: try again, or pass --resolver";
}

/// "10 mail.example.net" -> "mail.example.net", in preference order, once each.
std::vector<std::string> mx_hosts(const DnsAnswer& mx) {
  std::vector<std::pair<long, std::string>> sorted;
  for (const auto& record : mx.records) {
    size_t space = record.find(' ');
    if (space != std::string::npos && record.size() > space + 1) {
      sorted.emplace_back(std::strtol(record.c_str(), nullptr, 10), record.substr(space + 1));
    }
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> hosts;
  for (const auto& [preference, host] : sorted) {
    if (!host.empty() && std::find(hosts.begin(), hosts.end(), host) == hosts.end()) {
      hosts.push_back(host);
    }
  }
  return hosts;
}

/// Why the served bytes are not the ones stsctl would serve for the same policy.
std::string why_not_canonical(const std::string& body, const std::string& canonical) {
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) {
      return "LF line endings where RFC 8461 section 3.2 has CRLF";
    }
  }
  auto lines_of = [](const std::string& text) {
    std::multiset<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      lines.insert(line);
    }
    return lines;
  };
  if (lines_of(body) == lines_of(canonical)) {
    return "its lines are in another order than stsctl's (version, mode, sorted mx, max_age)";
  }
  return "other bytes than stsctl's canonical form for the same policy (case, spacing, or extra lines)";
}

const Finding* first_fail(const std::vector<Finding>& findings) {
  for (const auto& finding : findings) {
    if (finding.status == CheckStatus::Fail) {
      return &finding;
    }
  }
  return nullptr;
}

/// The policy lines of a domain with a live policy; false (errors added) when it cannot be reproduced.
bool adopt_policy(const PublishedDomain& published, std::ostringstream& out, InitResult& result) {
  const std::string& d = published.domain;
  ParsedStsRecord sts = parse_sts_records(published.sts_txt.records);
  if (!sts.valid) {
    const Finding* why = first_fail(sts.findings);
    result.errors.push_back("failed to adopt '_mta-sts." + d + "' TXT (" +
                            (why ? why->message : std::string("not a valid v=STSv1 record")) +
                            "): senders ignore it; fix the record by hand first, or delete it and let "
                            "stsctl publish one");
    return false;
  }
  const FetchResult& fetch = published.policy;
  std::string url = fetch.url.empty() ? "https://mta-sts." + d + "/.well-known/mta-sts.txt" : fetch.url;
  std::string next = "): init reproduces the live policy, so https://mta-sts." + d +
                     " must serve it with a valid certificate (--ca-file for a private CA)";
  if (!published.policy_fetched || !fetch.transport_ok) {
    result.errors.push_back("failed to fetch '" + url + "' (" +
                            (fetch.error.empty() ? std::string("not fetched") : fetch.error) + next);
    return false;
  }
  if (fetch.status != 200) {
    result.errors.push_back("failed to fetch '" + url + "' (HTTP " + std::to_string(fetch.status) + next);
    return false;
  }
  ParsedPolicy policy = parse_policy_body(fetch.body);
  if (!policy.valid || !policy.mode || !policy.max_age) {
    const Finding* why = first_fail(policy.findings);
    result.errors.push_back("failed to adopt '" + url + "' (" +
                            (why ? why->message : std::string("not a valid policy")) +
                            "): senders reject this policy; fix the file by hand first");
    return false;
  }
  std::string canonical = policy_text(make_policy(*policy.mode, *policy.max_age, policy.mx));
  if (fetch.body != canonical) {
    result.notes.push_back(d + ": the live policy file is not in canonical form (" +
                           why_not_canonical(fetch.body, canonical) +
                           "): apply serves the canonical bytes, and new bytes take a new id");
  }
  result.notes.push_back(d + ": live id " + sts.id + ": plan shows how stsctl adopts it");
  out << "    mx: " << flow_list(policy.mx) << "\n";
  out << "    policy: {mode: " << to_string(*policy.mode) << ", max_age: " << *policy.max_age << "}\n";
  return true;
}

/// tlsrpt, policy_host and caa lines of a policy domain.
void host_lines(const PublishedDomain& published, std::ostringstream& out, InitResult& result) {
  const std::string& d = published.domain;
  if (published.tlsrpt_txt.status == DnsStatus::Ok) {
    ParsedTlsRpt tlsrpt = parse_tlsrpt_records(published.tlsrpt_txt.records);
    if (tlsrpt.valid) {
      out << "    tlsrpt: {rua: " << flow_list(tlsrpt.rua) << "}\n";
    } else {
      const Finding* why = first_fail(tlsrpt.findings);
      result.notes.push_back(d + ": _smtp._tls." + d + " TXT is not a valid TLS-RPT record (" +
                             (why ? why->message : std::string("unreadable")) +
                             "): left out, so plan shows its deletion; set tlsrpt.rua to keep reports");
    }
  }
  if (!published.host_a.cname_chain.empty()) {
    out << "    policy_host: {cname: " << quoted(published.host_a.cname_chain.front()) << "}\n";
    return;  // a CNAME has no CAA beside it (RFC 1034 section 3.6.2)
  }
  const auto& v4 = published.host_a.records;
  const auto& v6 = published.host_aaaa.records;
  if (v4.empty() && v6.empty()) {
    result.notes.push_back(d + ": mta-sts." + d +
                           " has no address: set policy_host (ipv4/ipv6 or cname) before apply");
  } else {
    out << "    policy_host: {";
    if (!v4.empty()) {
      out << "ipv4: " << flow_list(v4) << (v6.empty() ? "" : ", ");
    }
    if (!v6.empty()) {
      out << "ipv6: " << flow_list(v6);
    }
    out << "}\n";
  }
  if (!published.caa.empty()) {
    out << "    caa:\n";
    for (const auto& entry : published.caa) {
      out << "      - {tag: " << quoted(entry.tag) << ", value: " << quoted(entry.value);
      if (entry.flags != 0) {
        out << ", flags: " << static_cast<int>(entry.flags);
      }
      out << "}\n";
    }
  }
}

/// Notes where an alias's other names are not yet the CNAMEs stsctl gives an alias.
void alias_notes(const PublishedDomain& alias, const std::string& target, InitResult& result) {
  const std::string& d = alias.domain;
  for (const auto& [prefix, answer] :
       {std::pair<std::string, const DnsAnswer*>{"_smtp._tls.", &alias.tlsrpt_txt},
        std::pair<std::string, const DnsAnswer*>{"mta-sts.", &alias.host_a}}) {
    bool cname_there = !answer->cname_chain.empty() && answer->cname_chain.front() == prefix + target;
    bool nothing = answer->status != DnsStatus::Ok && answer->cname_chain.empty();
    if (!cname_there && !(nothing && prefix == "_smtp._tls.")) {
      result.notes.push_back(d + ": " + prefix + d + " is not a CNAME to " + prefix + target +
                             ": as an alias of " + target + ", apply makes it one");
    }
  }
}

const char* const k_providers_help =
    "# providers:   # the DNS server plan and apply read and write; see stsctl.yaml(5)\n"
    "#   NAME: {type: powerdns, url: \"http://127.0.0.1:8081\", api_key_file: pdns.key}\n"
    "#   NAME: {type: rfc2136, server: \"ns1.example.net:53\",\n"
    "#          tsig: {name: KEY, algorithm: hmac-sha256, secret_file: tsig.secret}}\n"
    "# publish: {webroot: /var/www/mta-sts}   # where the policy files are served from\n";

}  // namespace

std::string alias_target(const PublishedDomain& domain) {
  const std::string prefix = "_mta-sts.";
  if (domain.sts_txt.cname_chain.empty() || domain.sts_txt.cname_chain.front().rfind(prefix, 0) != 0) {
    return "";
  }
  std::string target = domain.sts_txt.cname_chain.front().substr(prefix.size());
  return target == domain.domain ? "" : target;
}

InitResult config_from_published(const std::vector<PublishedDomain>& published, const std::string& provider,
                                 const std::string& header) {
  InitResult result;
  std::set<std::string> policy_domains;
  for (const auto& domain : published) {
    if (alias_target(domain).empty()) {
      policy_domains.insert(domain.domain);
    }
  }
  std::ostringstream domains;
  for (const auto& p : published) {
    const std::string& d = p.domain;
    bool broken = false;
    for (const auto& [answer, name, type] :
         {std::tuple<const DnsAnswer*, std::string, const char*>{&p.mx, d, "MX"},
          {&p.sts_txt, "_mta-sts." + d, "TXT"},
          {&p.tlsrpt_txt, "_smtp._tls." + d, "TXT"},
          {&p.host_a, "mta-sts." + d, "A"},
          {&p.host_aaaa, "mta-sts." + d, "AAAA"},
          {&p.caa_status, "mta-sts." + d, "CAA"}}) {
      if (!answered(*answer)) {
        result.errors.push_back(lookup_error(name, type, *answer));
        broken = true;
      }
    }
    if (broken) {
      continue;
    }
    std::string target = alias_target(p);
    if (!target.empty()) {
      if (policy_domains.count(target) == 0) {
        result.errors.push_back(
            "failed to adopt '" + d + "' (_mta-sts." + d + " is a CNAME to _mta-sts." + target + ", and " +
            target + " is not a policy domain here): list the domain that publishes the policy too");
        continue;
      }
      alias_notes(p, target, result);
      domains << "  " << key(d) << ": {alias_of: " << key(target) << "}\n";
      continue;
    }
    std::ostringstream lines;
    bool has_sts =
        p.sts_txt.status == DnsStatus::Ok && parse_sts_records(p.sts_txt.records).sts_record_count > 0;
    if (has_sts) {
      if (!adopt_policy(p, lines, result)) {
        continue;
      }
    } else {
      std::vector<std::string> hosts = mx_hosts(p.mx);
      if (hosts.empty()) {
        result.errors.push_back("failed to adopt '" + d +
                                "' (no MX records and no _mta-sts TXT: nothing to adopt); check the name");
        continue;
      }
      result.notes.push_back(d +
                             ": publishes no MTA-STS yet: mx comes from its MX records, the policy "
                             "from the defaults (mode testing)");
      lines << "    mx: " << flow_list(hosts) << "\n";
    }
    host_lines(p, lines, result);
    domains << "  " << key(d) << ":\n" << lines.str();
  }
  if (!result.errors.empty()) {
    return result;
  }
  std::ostringstream text;
  text << "# " << header << "\n"
       << "# What these domains publish today. TTLs cannot be read reliably through a\n"
       << "# resolver: set ttl to your zone's (plan shows any TTL it would change).\n"
       << "version: 1\n"
       << "defaults:\n"
       << "  ttl: 3600\n";
  if (provider.empty()) {
    text << "  # provider: NAME   # the key of your DNS provider under providers:\n";
  } else {
    text << "  provider: " << quoted(provider) << "\n";
  }
  text << "domains:\n" << domains.str() << k_providers_help;
  result.config_text = text.str();
  return result;
}

namespace {

/// The CAA records `answer` holds for its own name: none when the name is a
/// CNAME (those would be the target's, RFC 8659 section 3).
std::vector<CaaEntry> own_caa(const DnsAnswer& answer) {
  std::vector<CaaEntry> entries;
  if (answer.status != DnsStatus::Ok || !answer.cname_chain.empty()) {
    return entries;
  }
  for (const auto& text : answer.records) {
    if (std::optional<CaaRecord> record = parse_caa_text(text)) {
      entries.push_back({static_cast<uint8_t>(record->flags), ascii_lower(record->tag), record->value});
    }
  }
  return entries;
}

std::vector<PublishedDomain> gather(DnsLookup& dns, const std::vector<std::string>& names) {
  // Six lookups per domain, all in one pipelined batch.
  std::vector<DnsQuery> queries;
  for (const auto& name : names) {
    for (DnsQuery query : std::vector<DnsQuery>{{name, "MX"},
                                                {"_mta-sts." + name, "TXT"},
                                                {"_smtp._tls." + name, "TXT"},
                                                {"mta-sts." + name, "A"},
                                                {"mta-sts." + name, "AAAA"},
                                                {"mta-sts." + name, "CAA"}}) {
      queries.push_back(std::move(query));
    }
  }
  std::vector<DnsAnswer> answers = dns.lookup_many(queries);
  std::vector<PublishedDomain> published;
  for (size_t i = 0; i < names.size(); ++i) {
    const DnsAnswer* at = &answers[i * 6];
    PublishedDomain domain;
    domain.domain = names[i];
    domain.mx = at[0];
    domain.sts_txt = at[1];
    domain.tlsrpt_txt = at[2];
    domain.host_a = at[3];
    domain.host_aaaa = at[4];
    domain.caa = own_caa(at[5]);
    domain.caa_status = at[5];
    if (domain.caa_status.status == DnsStatus::Ok && domain.caa.empty()) {
      domain.caa_status.status = DnsStatus::NoData;
    }
    domain.caa_status.records.clear();
    published.push_back(std::move(domain));
  }
  return published;
}

bool publishes_sts(const PublishedDomain& domain) {
  return alias_target(domain).empty() && domain.sts_txt.status == DnsStatus::Ok &&
         parse_sts_records(domain.sts_txt.records).sts_record_count > 0;
}

}  // namespace

int run_init(Context& context, const InitOptions& options) {
  const std::string& path = context.options().config_path;
  std::vector<std::string> names;
  for (const auto& raw : options.domains) {
    std::string name = normalize_name(raw);
    if (auto why = host_name_error(name)) {
      throw CliError("init: --from-dns '" + raw + "' is not a domain name: " + *why);
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  if (names.empty()) {
    throw CliError("init: --from-dns needs at least one domain, e.g. --from-dns example.net");
  }
  std::error_code ignored;
  if (std::filesystem::exists(std::filesystem::symlink_status(path, ignored))) {
    throw CliError(
        "failed to write '" + path +
        "' (it exists; init never overwrites a config): pass -c with a new file name, or move it away");
  }
  std::string header = "Written by `stsctl init --from-dns";
  for (const auto& name : names) {
    header += " " + name;
  }
  header += "` from live DNS and HTTPS.";

  DnsOptions dns_options;
  dns_options.resolver = options.resolver;
  dns_options.timeout_seconds = options.timeout_seconds;
  std::unique_ptr<DnsLookup> dns;
  try {
    dns = std::make_unique<DnsLookup>(dns_options);
  } catch (const std::invalid_argument& error) {
    throw CliError(std::string("init: ") + error.what());
  }
  std::vector<PublishedDomain> published = gather(*dns, names);
  // An alias's policy domain is read too: its config entry holds the policy.
  std::vector<std::string> more;
  std::vector<std::string> extra_notes;
  for (const auto& domain : published) {
    std::string target = alias_target(domain);
    if (!target.empty() && !host_name_error(target) &&
        std::find(names.begin(), names.end(), target) == names.end() &&
        std::find(more.begin(), more.end(), target) == more.end()) {
      more.push_back(target);
      extra_notes.push_back(target + ": read too, as " + domain.domain + " is its alias");
    }
  }
  if (!more.empty()) {
    auto extra = gather(*dns, more);
    published.insert(published.end(), std::make_move_iterator(extra.begin()),
                     std::make_move_iterator(extra.end()));
  }
  FetchOptions fetch;
  fetch.ca_file = options.ca_file;
  fetch.timeout_seconds = options.timeout_seconds;
  std::vector<std::string> fetch_names;
  std::vector<size_t> fetch_index;
  for (size_t i = 0; i < published.size(); ++i) {
    if (publishes_sts(published[i])) {
      fetch_names.push_back(published[i].domain);
      fetch_index.push_back(i);
    }
  }
  std::vector<FetchResult> fetched = fetch_policies(fetch_names, fetch);
  for (size_t j = 0; j < fetched.size(); ++j) {
    published[fetch_index[j]].policy = std::move(fetched[j]);
    published[fetch_index[j]].policy_fetched = true;
  }

  InitResult result = config_from_published(published, options.provider, header);
  result.notes.insert(result.notes.begin(), extra_notes.begin(), extra_notes.end());
  if (result.errors.empty()) {
    write_file_atomically(path, result.config_text, Durability::Sync, Directories::MustExist);
  }
  size_t aliases = static_cast<size_t>(std::count_if(
      published.begin(), published.end(), [](const PublishedDomain& d) { return !alias_target(d).empty(); }));
  if (context.json()) {
    nlohmann::json out{{"notes", result.notes}};
    if (result.errors.empty()) {
      out["written"] = path;
      out["domains"] = published.size();
      out["aliases"] = aliases;
    } else {
      out["errors"] = result.errors;
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  for (const auto& note : result.notes) {
    std::cerr << "note: " << escape_control(note) << "\n";
  }
  for (const auto& error : result.errors) {
    std::cerr << "stsctl: " << escape_control(error) << "\n";
  }
  if (!result.errors.empty()) {
    return k_exit_error;
  }
  if (!context.json()) {
    std::cout << "wrote " << path << ": " << published.size()
              << (published.size() == 1 ? " domain" : " domains") << " (" << aliases
              << (aliases == 1 ? " alias" : " aliases")
              << ") as published; add your DNS provider under providers:, then run `stsctl plan`\n";
  }
  return k_exit_ok;
}

}  // namespace stsctl
