#include "support/resolver_env.h"

#include <net/if.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace stsctl::test {

namespace {

std::string next_zone(const std::string& prefix, const std::string& parent) {
  static std::atomic<int> counter{0};
  return prefix + std::to_string(++counter) + "." + parent;
}

std::string tail(const std::string& text, size_t max = 3000) {
  return text.size() > max ? text.substr(text.size() - max) : text;
}

}  // namespace

void ResolverEnv::require_network_namespace() {
  const std::string how =
      " End-to-end tests must run in their own network and mount namespace, where the test's unbound on "
      "127.0.0.1:53 is the system resolver: run them with ctest, or by hand as root with "
      "`unshare --net --mount tests/support/in_netns.sh <test executable>`.";
  if (std::getenv("STSCTL_TEST_NETNS") == nullptr) {
    throw std::runtime_error("STSCTL_TEST_NETNS is not set: not started by tests/support/in_netns.sh." + how);
  }
  // A namespace of its own has nothing but lo (if_nameindex lists the
  // interfaces of the caller's network namespace).
  std::string others;
  if (struct if_nameindex* interfaces = if_nameindex()) {
    for (auto* i = interfaces; i->if_index != 0; ++i) {
      if (std::string(i->if_name) != "lo") {
        others += std::string(others.empty() ? "" : ", ") + i->if_name;
      }
    }
    if_freenameindex(interfaces);
  } else {
    throw std::runtime_error("if_nameindex failed: cannot tell which network namespace this is." + how);
  }
  if (!others.empty()) {
    throw std::runtime_error("this network namespace has interfaces other than lo (" + others + ")." + how);
  }
  std::vector<std::string> nameservers;
  for (const auto& line : non_empty_lines(read_file("/etc/resolv.conf"))) {
    if (line.rfind("nameserver", 0) == 0) {
      nameservers.push_back(line);
    }
  }
  if (nameservers != std::vector<std::string>{"nameserver 127.0.0.1"}) {
    throw std::runtime_error("/etc/resolv.conf does not name exactly `nameserver 127.0.0.1`." + how);
  }
}

std::string ResolverEnv::pdns_zone(const std::string& prefix) { return next_zone(prefix, "pdns.test"); }

std::string ResolverEnv::bind_zone(const std::string& prefix) { return next_zone(prefix, "bind.test"); }

ResolverEnv::ResolverEnv(const std::vector<ZoneSpec>& bind_zones) {
  require_network_namespace();
  for (const auto& zone : bind_zones) {
    if (zone.name.size() < 10 || zone.name.compare(zone.name.size() - 10, 10, ".bind.test") != 0) {
      throw std::invalid_argument("ResolverEnv: BIND zone " + zone.name + " is not under bind.test");
    }
  }
  m_webroot = m_dir.file("www");
  write_file(m_webroot + "/.keep", "");
  m_pdns = std::make_unique<PdnsServer>();
  m_named = std::make_unique<NamedServer>(bind_zones);
  m_bind_secret_file = m_dir.file("tsig.secret");
  m_named->write_secret_file(m_bind_secret_file);
  start_unbound();
}

ResolverEnv::~ResolverEnv() {
  stop_nginx();
  if (m_unbound) {
    m_unbound->stop();
  }
}

void ResolverEnv::start_unbound() {
  // PROTOCOLS.md section 10: iterator only, no cache, stubs to the loopback
  // servers. `test.` is one of unbound's default local zones (answered
  // NXDOMAIN locally): turn that off. No qname minimisation, so each server
  // is asked the full name (neither serves the parents themselves).
  std::ostringstream conf;
  conf << "server:\n"
       << "  interface: 127.0.0.1\n  port: 53\n  do-ip4: yes\n  do-ip6: no\n  do-udp: yes\n  do-tcp: yes\n"
       << "  access-control: 127.0.0.0/8 allow\n"
       << "  chroot: \"\"\n  username: \"\"\n  directory: \"" << m_dir.path() << "\"\n"
       << "  pidfile: \"" << m_dir.file("unbound.pid") << "\"\n"
       << "  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  log-queries: yes\n  log-replies: yes\n"
       << "  num-threads: 1\n  so-reuseport: no\n"
       << "  do-not-query-localhost: no\n  module-config: \"iterator\"\n"
       << "  cache-max-ttl: 0\n  cache-max-negative-ttl: 0\n  prefetch: no\n  serve-expired: no\n"
       << "  qname-minimisation: no\n  infra-keep-probing: yes\n  target-fetch-policy: \"0 0 0 0 0\"\n"
       << "  local-zone: \"test.\" nodefault\n"
       << "remote-control:\n  control-enable: no\n"
       << "stub-zone:\n  name: \"pdns.test\"\n  stub-addr: 127.0.0.1@" << m_pdns->dns_port()
       << "\n  stub-no-cache: yes\n"
       << "stub-zone:\n  name: \"bind.test\"\n  stub-addr: 127.0.0.1@" << m_named->port()
       << "\n  stub-no-cache: yes\n";
  const std::string conf_path = m_dir.file("unbound.conf");
  write_file(conf_path, conf.str());
  CommandResult check = run_command({"unbound-checkconf", conf_path});
  if (check.exit_code != 0) {
    throw std::runtime_error("unbound-checkconf " + conf_path + " failed:\n" + check.out + check.err);
  }
  m_unbound = std::make_unique<ChildProcess>(std::vector<std::string>{"unbound", "-d", "-c", conf_path},
                                             m_dir.file("unbound.log"));
  if (!wait_for_port(53, 20) || !m_unbound->running()) {
    throw std::runtime_error("unbound did not start on 127.0.0.1:53:\n" + unbound_log());
  }
}

std::string ResolverEnv::unbound_log() const {
  const std::string path = m_dir.file("unbound.log");
  return file_exists(path) ? tail(read_file(path)) : "(no log)";
}

std::string ResolverEnv::create_pdns_zone(const std::string& prefix, const std::vector<PdnsRecord>& records) {
  std::string zone = pdns_zone(prefix);
  if (records.empty()) {
    m_pdns->create_zone(zone, {{"@", "MX", {"10 mail." + zone + "."}}});
  } else {
    m_pdns->create_zone(zone, records);
  }
  return zone;
}

void ResolverEnv::serve(const std::vector<NginxHost>& hosts) {
  stop_nginx();
  NginxOptions options;
  options.port = 443;
  options.ca = &m_ca;
  options.webroot = m_webroot;
  m_nginx = std::make_unique<NginxServer>(hosts, options);
}

void ResolverEnv::stop_nginx() {
  if (m_nginx) {
    m_nginx->stop();
    m_nginx.reset();
  }
}

void ResolverEnv::write_policy(const std::string& domain, const std::string& text) const {
  write_file(m_webroot + "/mta-sts." + domain + "/.well-known/mta-sts.txt", text);
}

std::vector<std::string> ResolverEnv::dig(const std::string& name, const std::string& type) const {
  CommandResult result = run_command({"dig", "+short", "+time=3", "+tries=2", name, type});
  if (result.exit_code != 0) {
    throw std::runtime_error("dig " + name + " " + type + " through the system resolver failed (exit " +
                             std::to_string(result.exit_code) + "): " + result.out + result.err +
                             "\nunbound log:\n" + unbound_log());
  }
  return non_empty_lines(result.out);
}

std::string ResolverEnv::dig_rcode(const std::string& name, const std::string& type) const {
  CommandResult result = run_command({"dig", "+time=3", "+tries=2", name, type});
  static const std::regex k_status("status: ([A-Z]+)");
  std::smatch match;
  if (std::regex_search(result.out, match, k_status)) {
    return match[1];
  }
  return "(no answer)";
}

std::string ResolverEnv::live_id(const std::string& domain) const {
  return sts_id(dig("_mta-sts." + domain, "TXT"));
}

size_t ResolverEnv::sts_record_count(const std::string& domain) const {
  size_t count = 0;
  for (const auto& line : dig("_mta-sts." + domain, "TXT")) {
    if (line.rfind("\"v=STSv1", 0) == 0) {
      ++count;
    }
  }
  return count;
}

PolicyFetch ResolverEnv::fetch_policy(const std::string& domain) const {
  const std::string body_file = m_dir.file("fetched-policy");
  std::remove(body_file.c_str());
  CommandResult result = run_command(
      {"curl", "-sS", "--max-time", "10", "--proto", "=https", "--cacert", m_ca.ca_file(), "-o", body_file,
       "-w", "%{http_code}\n%{content_type}\n", "https://mta-sts." + domain + "/.well-known/mta-sts.txt"});
  PolicyFetch fetch;
  fetch.exit_code = result.exit_code;
  fetch.error = result.err;
  auto lines = non_empty_lines(result.out);
  if (!lines.empty()) {
    fetch.status = std::strtol(lines[0].c_str(), nullptr, 10);
  }
  if (lines.size() > 1) {
    fetch.content_type = lines[1];
  }
  if (file_exists(body_file)) {
    fetch.body = read_file(body_file);
  }
  return fetch;
}

CommandResult ResolverEnv::mta_sts_query(const std::string& domain) const {
  return run_command({"mta-sts-query", domain}, "", {{"SSL_CERT_FILE", m_ca.ca_file()}});
}

std::string ResolverEnv::config(const std::string& domains, const std::string& extra) const {
  std::ostringstream out;
  out << "version: 1\n"
      << "defaults:\n  provider: pdns\n  ttl: 300\n"
      << "  policy_host: {ipv4: [127.0.0.1]}\n"
      << "  tlsrpt: {rua: [\"mailto:tlsrpt@example.net\"]}\n"
      << "domains:\n"
      << domains << extra << "providers:\n"
      << "  pdns: {type: powerdns, url: \"" << m_pdns->api_url() << "\", api_key_file: \""
      << m_pdns->api_key_file() << "\"}\n"
      << "  bind:\n    type: rfc2136\n    server: \"127.0.0.1:" << m_named->port() << "\"\n"
      << "    tsig: {name: " << m_named->key_name() << ", algorithm: " << m_named->key_algorithm()
      << ", secret_file: \"" << m_bind_secret_file << "\"}\n"
      << "publish:\n  webroot: \"" << m_webroot << "\"\n  verify: true\n  ca_file: \"" << m_ca.ca_file()
      << "\"\n  propagation: {timeout: 0}\n"
      << "state: \"" << m_dir.file("stsctl.db") << "\"\n";
  return out.str();
}

void ResolverEnv::write_config(const std::string& text) const { write_file(config_file(), text); }

CommandResult ResolverEnv::stsctl(const std::string& now, const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& extra_env) const {
  std::vector<std::string> all{"-c", config_file(), "--now", now};
  all.insert(all.end(), args.begin(), args.end());
  return run_stsctl(all, "", extra_env);
}

}  // namespace stsctl::test
