#include "support/pdns_server.h"
#include "util/handles.h"

#include <curl/curl.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace stsctl::test {

namespace {

using nlohmann::json;

constexpr const char* k_schema = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";

std::string random_key() {
  std::random_device device;
  std::mt19937_64 rng(device());
  static const char k_hex[] = "0123456789abcdef";
  std::string key;
  for (int i = 0; i < 32; ++i) {
    key += k_hex[rng() % 16];
  }
  return key;
}

std::string log_tail(const std::string& path) {
  try {
    std::string text = read_file(path);
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  } catch (const std::exception&) {
    return "(no log)";
  }
}

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string absolute_in_zone(const std::string& name, const std::string& zone) {
  if (name == "@" || name.empty()) {
    return zone + ".";
  }
  if (name.back() == '.') {
    return name;
  }
  return name + "." + zone + ".";
}

}  // namespace

PdnsServer::PdnsServer(const std::string& extra_conf)
    : m_dir(std::make_unique<TempDir>("pdns")), m_api_key(random_key()) {
  const std::string db = m_dir->file("pdns.sqlite3");
  CommandResult created = run_command({"sqlite3", db}, read_file(k_schema));
  if (created.exit_code != 0) {
    throw std::runtime_error("failed to load '" + std::string(k_schema) + "' into '" + db +
                             "' (sqlite3: " + created.err +
                             "): install pdns-backend-sqlite3 and sqlite3 (scripts/install-deps)");
  }
  m_key_file = m_dir->file("pdns.key");
  write_file(m_key_file, m_api_key + "\n");

  // Ports can be taken between free_port() and bind: retry a few times.
  const std::string log_path = m_dir->file("pdns.log");
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    m_dns_port = free_port(true);
    m_api_port = free_port();
    while (m_api_port == m_dns_port) {
      m_api_port = free_port();
    }
    std::ostringstream conf;
    conf << "launch=gsqlite3\n"
         << "gsqlite3-database=" << db << "\n"
         << "local-address=127.0.0.1\n"
         << "local-port=" << m_dns_port << "\n"
         << "api=yes\n"
         << "api-key=" << m_api_key << "\n"
         << "webserver=yes\n"
         << "webserver-address=127.0.0.1\n"
         << "webserver-port=" << m_api_port << "\n"
         << "webserver-allow-from=127.0.0.0/8\n"
         << "socket-dir=" << m_dir->path() << "\n"
         << "daemon=no\n"
         << "guardian=no\n"
         << "disable-syslog=yes\n"
         << "security-poll-suffix=\n"
         << "loglevel=4\n"
         // No caches: a DNS query right after a PATCH must see the change.
         << "cache-ttl=0\n"
         << "negquery-cache-ttl=0\n"
         << "query-cache-ttl=0\n"
         << "zone-cache-refresh-interval=0\n"
         << "receiver-threads=1\n"
         << "distributor-threads=1\n"
         << extra_conf;
    write_file(m_dir->file("pdns.conf"), conf.str());
    m_process = std::make_unique<ChildProcess>(
        std::vector<std::string>{"pdns_server", "--config-dir=" + m_dir->path()}, log_path);
    // The API answers once the backend is up.
    why = "its API did not answer within 20 s";
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
         std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
      if (!m_process->running()) {
        why = "it exited before its API answered";
        break;
      }
      if (api("GET", "/zones").status == 200) {
        return;
      }
    }
    m_process->stop();
  }
  throw std::runtime_error("failed to start pdns_server on 127.0.0.1 (" + why +
                           ", 3 attempts): check that pdns-server and pdns-backend-sqlite3 are installed "
                           "(scripts/install-deps); the end of its log:\n" +
                           log_tail(log_path));
}

PdnsServer::~PdnsServer() { stop(); }

std::string PdnsServer::api_url() const { return "http://127.0.0.1:" + std::to_string(m_api_port); }

PowerdnsConfig PdnsServer::provider_config(const std::string& name) const {
  PowerdnsConfig config;
  config.name = name;
  config.url = api_url();
  config.server_id = "localhost";
  config.api_key_file = m_key_file;
  config.timeout_seconds = 10;
  return config;
}

std::string PdnsServer::unique_zone(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + std::to_string(++counter) + "-" + std::to_string(getpid()) + ".example.test";
}

void PdnsServer::create_zone(const std::string& zone, const std::vector<PdnsRecord>& records) {
  json body = {{"name", zone + "."}, {"kind", "Native"}, {"nameservers", {"ns1." + zone + "."}}};
  PdnsApiResult created = api("POST", "/zones", body.dump());
  if (created.status != 201 && created.status != 200) {
    throw std::runtime_error("failed to create zone '" + zone + "' on the test PowerDNS (HTTP " +
                             std::to_string(created.status) + ": " + created.body +
                             "): use a zone name not yet created, e.g. from PdnsServer::unique_zone()");
  }
  if (!records.empty()) {
    replace_records(zone, records);
  }
}

void PdnsServer::replace_records(const std::string& zone, const std::vector<PdnsRecord>& records) {
  json rrsets = json::array();
  for (const auto& record : records) {
    json contents = json::array();
    for (const auto& content : record.contents) {
      contents.push_back({{"content", content}, {"disabled", record.disabled}});
    }
    rrsets.push_back({{"name", absolute_in_zone(record.name, zone)},
                      {"type", record.type},
                      {"ttl", record.ttl},
                      {"changetype", "REPLACE"},
                      {"records", contents}});
  }
  json body = {{"rrsets", rrsets}};
  PdnsApiResult patched = api("PATCH", "/zones/" + zone + ".", body.dump());
  if (patched.status != 204) {
    throw std::runtime_error("failed to seed zone '" + zone + "' on the test PowerDNS (HTTP " +
                             std::to_string(patched.status) + ": " + patched.body +
                             "): check the records' names, types and contents");
  }
}

PdnsApiResult PdnsServer::api(const std::string& method, const std::string& path,
                              const std::string& body) const {
  handle::CurlEasy curl(curl_easy_init());
  PdnsApiResult result;
  if (!curl) {
    return result;
  }
  const std::string url = api_url() + "/api/v1/servers/localhost" + path;
  const std::string key_header = "X-API-Key: " + m_api_key;
  handle::CurlSlist headers(curl_slist_append(nullptr, key_header.c_str()));
  curl_slist_append(headers.get(), "Content-Type: application/json");
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method == "PUT" || method == "POST" || method == "PATCH") {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &result.body);
  if (curl_easy_perform(curl.get()) == CURLE_OK) {
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &result.status);
  }
  return result;
}

std::vector<std::string> PdnsServer::query(const std::string& name, const std::string& type) const {
  CommandResult result = run_command({"dig", "@127.0.0.1", "-p", std::to_string(m_dns_port), "+short",
                                      "+norecurse", "+time=2", "+tries=2", name, type});
  if (result.exit_code != 0) {
    throw std::runtime_error("failed to query '" + name + " " + type + "' with dig (" + result.out +
                             result.err + "): install bind9-dnsutils (scripts/install-deps)");
  }
  std::vector<std::string> answers;
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) {
      answers.push_back(line);
    }
  }
  std::sort(answers.begin(), answers.end());
  return answers;
}

PdnsUpdateServer::PdnsUpdateServer(const std::vector<ZoneSpec>& zones)
    : m_server("dnsupdate=yes\nallow-dnsupdate-from=127.0.0.0/8\n") {
  const std::string config_dir = "--config-dir=" + m_server.dir();
  m_port = m_server.dns_port();
  make_keys(m_server.dir());
  auto pdnsutil = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"pdnsutil", config_dir};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult result = run_command(argv);
    if (result.exit_code != 0) {
      throw std::runtime_error("failed to run 'pdnsutil " + args.front() + "' (" + result.out + result.err +
                               "): check the zone text and the TSIG keys given to it");
    }
  };
  pdnsutil({"import-tsig-key", key_name(), key_algorithm(), key_secret()});
  pdnsutil({"import-tsig-key", other_key_name(), key_algorithm(), other_key_secret()});
  for (const auto& zone : zones) {
    const std::string file = m_server.dir() + "/" + zone.name + ".zone";
    write_file(file, zone_file_text(zone));
    pdnsutil({"load-zone", zone.name, file});
    pdnsutil({"set-meta", zone.name, "TSIG-ALLOW-DNSUPDATE", key_name()});
  }
}

std::string PdnsUpdateServer::log() const { return log_tail(m_server.dir() + "/pdns.log"); }

bool PdnsServer::running() { return m_process && m_process->running(); }

void PdnsServer::stop() {
  if (m_process) {
    m_process->stop();
  }
}

}  // namespace stsctl::test
