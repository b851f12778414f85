#include "support/named_server.h"

#include "support/knot_server.h"
#include "support/pdns_server.h"

#include <sys/stat.h>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace stsctl::test {

namespace {

// `tsig-keygen` prints a named.conf key clause; the secret is the quoted text
// after `secret`.
std::string parse_secret(const std::string& keygen_output) {
  auto pos = keygen_output.find("secret \"");
  if (pos == std::string::npos) {
    throw std::runtime_error("tsig-keygen printed no secret");
  }
  pos += 8;
  auto end = keygen_output.find('"', pos);
  return keygen_output.substr(pos, end - pos);
}

}  // namespace

std::string make_tsig_key(const std::string& name, std::string* secret) {
  auto result = run_command({"tsig-keygen", "-a", "hmac-sha256", name});
  if (result.exit_code != 0) {
    throw std::runtime_error("tsig-keygen failed: " + result.err);
  }
  *secret = parse_secret(result.out);
  return result.out;
}

std::string zone_file_text(const ZoneSpec& zone) {
  std::ostringstream text;
  text << "$ORIGIN " << zone.name << ".\n$TTL 300\n"
       << "@ IN SOA ns." << zone.name << ". hostmaster." << zone.name << ". 1 3600 600 86400 300\n"
       << "@ IN NS ns." << zone.name << ".\n"
       << "ns IN A 127.0.0.1\n"
       << zone.extra_records << "\n";
  return text.str();
}

std::unique_ptr<UpdateServer> start_update_server(const std::string& kind,
                                                  const std::vector<ZoneSpec>& zones) {
  if (kind == "Knot") {
    return std::make_unique<KnotServer>(zones);
  }
  if (kind == "PowerDNS") {
    return std::make_unique<PdnsUpdateServer>(zones);
  }
  return std::make_unique<NamedServer>(zones);
}

void UpdateServer::write_secret_file(const std::string& path) const {
  write_file(path, key_secret() + "\n");
  chmod(path.c_str(), 0600);
}

Rfc2136Config UpdateServer::provider_config(const std::string& secret_file, const std::string& name) const {
  Rfc2136Config config;
  config.name = name;
  config.timeout_seconds = 5;
  config.server_host = "127.0.0.1";
  config.server_port = static_cast<uint16_t>(port());
  config.tsig.name = key_name();
  config.tsig.algorithm = key_algorithm();
  config.tsig.secret_file = secret_file;
  return config;
}

std::vector<std::string> UpdateServer::query(const std::string& name, const std::string& type) const {
  auto result = run_command({"dig", "@127.0.0.1", "-p", std::to_string(port()), "+short", "+norecurse",
                             "+tcp", "+time=2", "+tries=1", name, type});
  if (result.exit_code != 0) {
    return {};
  }
  return non_empty_lines(result.out);
}

CommandResult UpdateServer::nsupdate(const std::string& commands) const {
  std::string script = "server 127.0.0.1 " + std::to_string(port()) + "\n" + commands + "\nsend\n";
  return run_command({"nsupdate", "-v", "-k", m_key_dir + "/update.key"}, script);
}

std::string UpdateServer::make_keys(const std::string& dir) {
  m_key_dir = dir;
  std::string update_key = make_tsig_key(m_key_name, &m_key_secret);
  // nsupdate -k wants a file holding just the one key.
  write_file(dir + "/update.key", update_key);
  chmod((dir + "/update.key").c_str(), 0600);
  return update_key + make_tsig_key(m_other_key_name, &m_other_key_secret);
}

NamedServer::NamedServer(const std::vector<ZoneSpec>& zones) {
  const std::string& d = m_dir.path();
  write_file(d + "/tsig.key", make_keys(d));
  chmod((d + "/tsig.key").c_str(), 0600);
  std::string zone_conf;
  for (const auto& zone : zones) {
    std::string file = d + "/" + zone.name + ".zone";
    write_file(file, zone_file_text(zone));
    zone_conf += "zone \"" + zone.name + "\" {\n  type primary;\n  file \"" + file + "\";\n" +
                 "  update-policy { grant " + key_name() + " zonesub ANY; };\n" + "  allow-transfer { key " +
                 key_name() + "; };\n};\n";
  }
  std::string conf_path = d + "/named.conf";

  // free_port() can race with another suite (another server may take the TCP
  // or UDP port before named binds it, and named then runs without it):
  // retry on a fresh port.
  for (int attempt = 0;; ++attempt) {
    m_port = free_port(true);
    std::ostringstream conf;
    conf << "include \"" << d << "/tsig.key\";\n"
         << "options {\n  directory \"" << d << "\";\n  listen-on port " << m_port << " { 127.0.0.1; };\n"
         << "  listen-on-v6 { none; };\n  pid-file \"" << d << "/named.pid\";\n  session-keyfile \"" << d
         << "/session.key\";\n  recursion no;\n  dnssec-validation no;  // no root key refresh: loopback "
            "only\n  allow-transfer { none; };\n  notify no;\n};\n"
         << "controls { };\n"
         << zone_conf;
    write_file(conf_path, conf.str());
    if (attempt == 0) {
      auto check = run_command({"named-checkconf", "-z", conf_path});
      if (check.exit_code != 0) {
        throw std::runtime_error("named-checkconf failed:\n" + check.out + check.err);
      }
    }
    std::string failure = start_and_wait(zones, conf_path);
    if (failure.empty()) {
      return;
    }
    stop();
    if (attempt >= 2) {
      throw std::runtime_error(failure);
    }
  }
}

std::string NamedServer::start_and_wait(const std::vector<ZoneSpec>& zones, const std::string& conf_path) {
  const std::string& d = m_dir.path();
  // -n 1: one worker thread is plenty and the machine is small.
  m_process = std::make_unique<ChildProcess>(
      std::vector<std::string>{"named", "-g", "-n", "1", "-c", conf_path, "-p", std::to_string(m_port)},
      d + "/named.log");
  if (!wait_for_port(m_port, 30)) {
    return "named did not open port " + std::to_string(m_port) + ":\n" + log();
  }
  for (const auto& zone : zones) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (query(zone.name, "SOA").empty()) {
      if (std::chrono::steady_clock::now() > deadline || !running() ||
          log().find("address in use") != std::string::npos) {
        return "named does not answer SOA for " + zone.name + ":\n" + log();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (log().find("address in use") != std::string::npos) {
    return "named could not bind all of port " + std::to_string(m_port) + ":\n" + log();
  }
  return "";
}

NamedServer::~NamedServer() { stop(); }

void NamedServer::stop() {
  if (m_process) {
    m_process->stop();
  }
}

std::string NamedServer::log() const {
  const std::string path = m_dir.path() + "/named.log";
  return file_exists(path) ? read_file(path) : std::string();
}

}  // namespace stsctl::test
