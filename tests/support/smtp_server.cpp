#include "support/smtp_server.h"

#include <sys/stat.h>

#include <stdexcept>

namespace stsctl::test {

namespace {

void make_readable(const std::string& path, mode_t mode) {
  if (chmod(path.c_str(), mode) != 0) {
    throw std::runtime_error("failed to chmod " + path);
  }
}

}  // namespace

std::string exim_program() {
  for (const char* name : {"/usr/sbin/exim4", "/usr/sbin/exim", "exim4", "exim"}) {
    if (have_program(name)) {
      return name;
    }
  }
  return "";
}

SmtpServer::SmtpServer(TestCa& ca, const SmtpServerOptions& options) {
  std::string exim = exim_program();
  if (exim.empty()) {
    throw std::runtime_error(
        "exim is not installed (apt-get install exim4-daemon-light; see scripts/install-deps)");
  }
  std::vector<std::string> names =
      options.cert_names.empty() ? std::vector<std::string>{options.hostname} : options.cert_names;
  TestCa::Leaf leaf = ca.issue(names, options.validity);
  // Exim reads the key after dropping to Debian-exim: copy it somewhere it can.
  const std::string cert = m_dir.file("server.crt");
  const std::string key = m_dir.file("server.key");
  write_file(cert, read_file(leaf.cert_file));
  write_file(key, read_file(leaf.key_file));
  make_readable(m_dir.path(), 0755);
  make_readable(cert, 0644);
  make_readable(key, 0644);
  for (const char* sub : {"spool", "log"}) {
    std::string path = m_dir.file(sub);
    mkdir(path.c_str(), 0777);
    make_readable(path, 0777);
  }

  // free_port() can race with another suite: retry on a fresh port.
  for (int attempt = 0;; ++attempt) {
    m_port = options.port != 0 ? options.port : free_port();
    const std::string conf_file = write_config(options, cert, key);
    m_process = std::make_unique<ChildProcess>(std::vector<std::string>{exim, "-C", conf_file, "-bdf"},
                                               m_dir.file("exim.stderr"));
    if (wait_for_port(m_port, 20)) {
      return;
    }
    std::string text = log();
    stop();
    if (attempt >= 2) {
      throw std::runtime_error("exim did not start listening on 127.0.0.1:" + std::to_string(m_port) + "\n" +
                               text);
    }
  }
}

std::string SmtpServer::write_config(const SmtpServerOptions& options, const std::string& cert,
                                     const std::string& key) const {
  std::string conf;
  conf += "keep_environment =\n";
  conf += "primary_hostname = " + options.hostname + "\n";
  conf += "spool_directory = " + m_dir.file("spool") + "\n";
  conf += "log_file_path = " + m_dir.file("log") + "/%slog\n";
  conf += "pid_file_path = " + m_dir.file("exim.pid") + "\n";
  conf += "local_interfaces = 127.0.0.1\n";
  conf += "daemon_smtp_ports = " + std::to_string(m_port) + "\n";
  conf += "host_lookup =\n";
  conf += "rfc1413_hosts =\n";
  conf += std::string("tls_advertise_hosts = ") + (options.starttls ? "*" : "") + "\n";
  conf += "tls_certificate = " + cert + "\n";
  conf += "tls_privatekey = " + key + "\n";
  conf += "acl_smtp_rcpt = acl_rcpt\n";
  conf += "begin acl\n";
  conf += "acl_rcpt:\n  deny\n";
  const std::string conf_file = m_dir.file("exim.conf");
  write_file(conf_file, conf);
  make_readable(conf_file, 0644);
  return conf_file;
}

SmtpServer::~SmtpServer() { stop(); }

void SmtpServer::stop() {
  if (m_process) {
    m_process->stop();
    m_process.reset();
  }
}

std::string SmtpServer::log() const {
  std::string text;
  for (const auto& path :
       {m_dir.file("log/mainlog"), m_dir.file("log/paniclog"), m_dir.file("exim.stderr")}) {
    if (file_exists(path)) {
      text += read_file(path);
    }
  }
  return text;
}

}  // namespace stsctl::test
