#include "support/nginx_server.h"

#include <unistd.h>

#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>

namespace stsctl::test {

std::string nginx_main_config(const std::string& prefix_dir, const std::string& http_body) {
  const std::string& p = prefix_dir;
  // As root, workers would drop to "nobody" and could not read the 0700 TempDir.
  std::string user = ::geteuid() == 0 ? "user root;\n" : "";
  return "daemon off;\n" + user +
         "worker_processes 1;\n"
         "pid " +
         p + "/nginx.pid;\n" + "error_log " + p + "/logs/error.log info;\n" +
         "events { worker_connections 64; }\n"
         "http {\n"
         "  access_log " +
         p + "/logs/access.log;\n" + "  client_body_temp_path " + p + "/tmp/client_body;\n" +
         "  proxy_temp_path " + p + "/tmp/proxy;\n" + "  fastcgi_temp_path " + p + "/tmp/fastcgi;\n" +
         "  uwsgi_temp_path " + p + "/tmp/uwsgi;\n" + "  scgi_temp_path " + p + "/tmp/scgi;\n" + http_body +
         "\n}\n";
}

CommandResult nginx_check_config(const std::string& conf_file, const std::string& prefix_dir) {
  write_file(prefix_dir + "/logs/.keep", "");
  write_file(prefix_dir + "/tmp/.keep", "");
  return run_command({"nginx", "-t", "-q", "-c", conf_file, "-p", prefix_dir + "/", "-e", "stderr"});
}

namespace {

std::string host_block(const NginxHost& host, const TestCa::Leaf& leaf, const std::string& root, int port) {
  std::string policy_location;
  if (!host.redirect.empty()) {
    policy_location = "      return 301 " + host.redirect + ";\n";
  } else if (host.status != 0) {
    policy_location = "      return " + std::to_string(host.status) + ";\n";
  } else {
    policy_location = "      types { }\n      default_type " + host.content_type + ";\n";
    if (host.chunked) {
      policy_location += "      ssi on;\n      ssi_types *;\n";
    }
  }
  return "  server {\n"
         "    listen 127.0.0.1:" +
         std::to_string(port) + " ssl;\n" + "    server_name " + host.host + ";\n" + "    ssl_certificate " +
         leaf.cert_file + ";\n" + "    ssl_certificate_key " + leaf.key_file + ";\n" + "    root " + root +
         ";\n" + "    location = /.well-known/mta-sts.txt {\n" + policy_location + "    }\n" +
         "    location / { return 404; }\n"
         "  }\n";
}

}  // namespace

NginxServer::NginxServer(const std::vector<NginxHost>& hosts, const NginxOptions& options)
    : m_dir("nginx"), m_webroot(options.webroot) {
  if (options.ca != nullptr) {
    m_issuer = options.ca;
  } else {
    m_ca = std::make_unique<TestCa>();
    m_issuer = m_ca.get();
  }
  std::vector<TestCa::Leaf> leaves;
  std::map<std::string, size_t> leaf_of;  // host -> its leaf in `leaves`
  for (const auto& host : hosts) {
    if (host.cert_of.empty()) {
      leaves.push_back(m_issuer->issue(
          host.cert_names.empty() ? std::vector<std::string>{host.host} : host.cert_names, host.validity));
    } else {
      auto shared = leaf_of.find(host.cert_of);
      if (shared == leaf_of.end()) {
        throw std::runtime_error("cert_of '" + host.cert_of + "' names no host listed before " + host.host);
      }
      leaves.push_back(leaves[shared->second]);
    }
    leaf_of.emplace(host.host, leaves.size() - 1);
    write_file(webroot() + "/" + host.host + "/.well-known/.keep", "");
  }
  // free_port() can race with another suite: retry on a fresh port.
  for (int attempt = 0;; ++attempt) {
    m_port = options.port != 0 ? options.port : free_port();
    std::string body;
    for (size_t i = 0; i < hosts.size(); ++i) {
      body += host_block(hosts[i], leaves[i], webroot() + "/" + hosts[i].host, m_port);
    }
    try {
      start(body);
      break;
    } catch (const std::exception&) {
      if (attempt >= 2) {
        throw;
      }
    }
  }
  for (const auto& host : hosts) {
    m_connect_to[host.host + ":443"] = "127.0.0.1:" + std::to_string(m_port);
  }
}

NginxServer::NginxServer(const std::string& http_body, int port) : m_dir("nginx"), m_port(port) {
  start(http_body);
}

NginxServer::~NginxServer() { stop(); }

void NginxServer::start(const std::string& http_body) {
  std::string conf = m_dir.file("nginx.conf");
  write_file(conf, nginx_main_config(m_dir.path(), http_body));
  CommandResult check = nginx_check_config(conf, m_dir.path());
  if (check.exit_code != 0) {
    throw std::runtime_error("nginx -t failed for " + conf + ":\n" + check.err + check.out);
  }
  std::string log = m_dir.file("logs/nginx.out");
  m_process = std::make_unique<ChildProcess>(
      std::vector<std::string>{"nginx", "-c", conf, "-p", m_dir.path() + "/", "-e", "stderr"}, log);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!m_process->running()) {
      std::string output = file_exists(log) ? read_file(log) : "";
      m_process.reset();
      throw std::runtime_error("nginx exited during start-up:\n" + output);
    }
    if (wait_for_port(m_port, 0.2)) {
      return;
    }
  }
  m_process.reset();
  throw std::runtime_error("nginx did not listen on 127.0.0.1:" + std::to_string(m_port));
}

FetchOptions NginxServer::fetch_options() const {
  FetchOptions options;
  options.ca_file = ca_file();
  options.connect_to = m_connect_to;
  options.timeout_seconds = 10;
  return options;
}

void NginxServer::write_policy(const std::string& host, const std::string& text) const {
  write_file(webroot() + "/" + host + "/.well-known/mta-sts.txt", text);
}

void NginxServer::stop() {
  if (m_process) {
    m_process->stop();
    m_process.reset();
  }
}

}  // namespace stsctl::test
