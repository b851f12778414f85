#include "support/knot_server.h"

#include <sys/stat.h>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace stsctl::test {

KnotServer::KnotServer(const std::vector<ZoneSpec>& zones) {
  const std::string& d = m_dir.path();
  make_keys(d);
  run_command({"mkdir", "-p", d + "/zones", d + "/db"});
  std::string zone_conf;
  for (const auto& zone : zones) {
    write_file(d + "/zones/" + zone.name + ".zone", zone_file_text(zone));
    zone_conf += "  - domain: " + zone.name + "\n";
  }
  for (int attempt = 0;; ++attempt) {
    m_port = free_port(true);
    std::ostringstream conf;
    conf << "server:\n  listen: 127.0.0.1@" << m_port << "\n  rundir: " << d << "\n  pidfile: " << d
         << "/knot.pid\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"
         << "control:\n  listen: " << d << "/knot.sock\n"
         << "log:\n  - target: stderr\n    any: info\n"
         << "database:\n  storage: " << d << "/db\n"
         << "key:\n  - id: " << key_name() << "\n    algorithm: hmac-sha256\n    secret: " << key_secret()
         << "\n"
         << "  - id: " << other_key_name()
         << "\n    algorithm: hmac-sha256\n    secret: " << other_key_secret()
         << "\n"
         // The other key may read, never update.
         << "acl:\n  - id: update\n    key: " << key_name() << "\n    action: update\n"
         << "  - id: other\n    key: " << other_key_name() << "\n    action: transfer\n"
         << "template:\n  - id: default\n    storage: " << d << "/zones\n    file: \"%s.zone\"\n"
         << "    zonefile-sync: -1\n    journal-content: changes\n    semantic-checks: off\n    acl: "
            "[update, other]\n"
         << "zone:\n"
         << zone_conf;
    write_file(d + "/knot.conf", conf.str());
    m_process = std::make_unique<ChildProcess>(std::vector<std::string>{"knotd", "-c", d + "/knot.conf"},
                                               d + "/knot.log");
    bool up = wait_for_port(m_port, 20);
    for (const auto& zone : zones) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (up && query(zone.name, "SOA").empty()) {
        if (std::chrono::steady_clock::now() > deadline || !m_process->running()) {
          up = false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    if (up) {
      return;
    }
    stop();
    if (attempt >= 2) {
      throw std::runtime_error("knotd did not serve the zones on port " + std::to_string(m_port) + ":\n" +
                               log());
    }
  }
}

KnotServer::~KnotServer() { stop(); }

void KnotServer::stop() {
  if (m_process) {
    m_process->stop();
  }
}

std::string KnotServer::log() const {
  const std::string path = m_dir.path() + "/knot.log";
  return file_exists(path) ? read_file(path) : std::string();
}

}  // namespace stsctl::test
