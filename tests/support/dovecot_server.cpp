#include "support/dovecot_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace stsctl::test {

namespace {

void own(const std::string& path, unsigned uid, unsigned gid, mode_t mode) {
  if (chmod(path.c_str(), mode) != 0 || (getuid() == 0 && chown(path.c_str(), uid, gid) != 0)) {
    throw std::runtime_error("failed to prepare " + path + " for dovecot");
  }
}

}  // namespace

DovecotServer::DovecotServer(TestCa& ca, const std::string& user, const std::string& password,
                             const std::string& hostname)
    : m_hostname(hostname), m_user(user) {
  if (!have_program("dovecot") && !have_program("/usr/sbin/dovecot")) {
    throw std::runtime_error(
        "dovecot is not installed (apt-get install dovecot-imapd; see scripts/install-deps)");
  }
  // Dovecot refuses uid 0 for mail users: as root, mail belongs to nobody.
  m_uid = getuid() == 0 ? 65534 : getuid();
  m_gid = getuid() == 0 ? 65534 : getgid();
  TestCa::Leaf leaf = ca.issue({hostname});
  const std::string cert = m_dir.file("server.crt");
  const std::string key = m_dir.file("server.key");
  write_file(cert, read_file(leaf.cert_file));
  write_file(key, read_file(leaf.key_file));
  own(m_dir.path(), static_cast<unsigned>(getuid()), static_cast<unsigned>(getgid()), 0755);
  own(cert, static_cast<unsigned>(getuid()), static_cast<unsigned>(getgid()), 0644);
  own(key, static_cast<unsigned>(getuid()), static_cast<unsigned>(getgid()), 0600);
  for (const char* sub :
       {"run", "mail", "mail/Maildir", "mail/Maildir/cur", "mail/Maildir/new", "mail/Maildir/tmp"}) {
    std::string path = m_dir.file(sub);
    mkdir(path.c_str(), 0755);
    own(path, std::string(sub) == "run" ? static_cast<unsigned>(getuid()) : m_uid,
        std::string(sub) == "run" ? static_cast<unsigned>(getgid()) : m_gid, 0755);
  }
  write_file(m_dir.file("passwd"), user + ":{PLAIN}" + password + ":" + std::to_string(m_uid) + ":" +
                                       std::to_string(m_gid) + "::" + m_dir.file("mail") + "\n");
  // Read by the auth process as the dovecot user (a test password only).
  own(m_dir.file("passwd"), static_cast<unsigned>(getuid()), static_cast<unsigned>(getgid()), 0644);

  for (int attempt = 0;; ++attempt) {
    m_port = free_port();
    std::string conf;
    conf += "base_dir = " + m_dir.file("run") + "\n";
    conf += "state_dir = " + m_dir.file("run") + "/state\n";
    conf += "instance_name = stsctl-test-" + std::to_string(m_port) + "\n";
    conf += "listen = 127.0.0.1\n";
    conf += "protocols = imap\n";
    conf += "log_path = " + m_dir.file("dovecot.log") + "\n";
    conf += "ssl = required\n";
    conf += "ssl_cert = <" + cert + "\n";
    conf += "ssl_key = <" + key + "\n";
    conf += "disable_plaintext_auth = yes\n";
    conf += "auth_mechanisms = plain login\n";
    conf += "first_valid_uid = " + std::to_string(std::min(m_uid, 500u)) + "\n";
    conf += "mail_location = maildir:~/Maildir\n";
    conf += "passdb {\n  driver = passwd-file\n  args = " + m_dir.file("passwd") + "\n}\n";
    conf += "userdb {\n  driver = passwd-file\n  args = " + m_dir.file("passwd") + "\n}\n";
    conf +=
        "service imap-login {\n  chroot =\n  inet_listener imap {\n    port = 0\n  }\n"
        "  inet_listener imaps {\n    address = 127.0.0.1\n    port = " +
        std::to_string(m_port) + "\n    ssl = yes\n  }\n}\n";
    conf += "service anvil {\n  chroot =\n}\n";
    conf += "namespace inbox {\n  inbox = yes\n  mailbox Processed {\n    auto = create\n  }\n}\n";
    write_file(m_dir.file("dovecot.conf"), conf);
    m_process = std::make_unique<ChildProcess>(
        std::vector<std::string>{"dovecot", "-F", "-c", m_dir.file("dovecot.conf")},
        m_dir.file("dovecot.stderr"));
    if (wait_for_port(m_port, 20)) {
      return;
    }
    std::string text = log();
    stop();
    if (attempt >= 2) {
      throw std::runtime_error("dovecot did not start listening on 127.0.0.1:" + std::to_string(m_port) +
                               "\n" + text);
    }
  }
}

DovecotServer::~DovecotServer() { stop(); }

void DovecotServer::stop() {
  if (m_process) {
    m_process->stop();
    m_process.reset();
  }
}

std::string DovecotServer::url(const std::string& mailbox) const {
  return "imaps://" + m_user + "@" + m_hostname + ":" + std::to_string(m_port) + "/" + mailbox;
}

std::string DovecotServer::connect_to() const {
  return m_hostname + ":" + std::to_string(m_port) + ":127.0.0.1:" + std::to_string(m_port);
}

std::string DovecotServer::maildir(const std::string& mailbox) const {
  return mailbox == "INBOX" ? m_dir.file("mail/Maildir") : m_dir.file("mail/Maildir/." + mailbox);
}

void DovecotServer::deliver(const std::string& message, const std::string& mailbox) {
  // Maildir delivery: write in tmp/, rename into new/ (never a half file).
  std::string base = maildir(mailbox);
  std::string name = "1700000000." + std::to_string(++m_delivered) + ".stsctl-test";
  std::string tmp = base + "/tmp/" + name;
  write_file(tmp, message);
  own(tmp, m_uid, m_gid, 0644);
  std::filesystem::rename(tmp, base + "/new/" + name);
}

std::vector<std::string> DovecotServer::messages(const std::string& mailbox) const {
  std::vector<std::string> out;
  for (const char* sub : {"/cur", "/new"}) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(maildir(mailbox) + sub, error)) {
      out.push_back(entry.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t DovecotServer::seen_count(const std::string& mailbox) const {
  size_t count = 0;
  for (const auto& name : messages(mailbox)) {
    size_t info = name.find(":2,");
    if (info != std::string::npos && name.find('S', info) != std::string::npos) {
      ++count;
    }
  }
  return count;
}

std::string DovecotServer::log() const {
  std::string out;
  for (const char* name : {"dovecot.log", "dovecot.stderr"}) {
    if (file_exists(m_dir.file(name))) {
      out += read_file(m_dir.file(name));
    }
  }
  return out;
}

}  // namespace stsctl::test
