#pragma once
// A real SMTP server with STARTTLS for tests: Exim (exim4-daemon-light) in the
// foreground (`exim -bdf -C <conf>`) on 127.0.0.1:<free port>, with its config,
// spool, logs and certificate under a TempDir. Exim drops privileges to
// Debian-exim, so that directory is made world-readable (test keys only).
// Stopped by PID on destruction. Accepts no mail (every RCPT is denied).

#include "support/support.h"
#include "support/test_ca.h"

#include <memory>
#include <string>
#include <vector>

namespace stsctl::test {

struct SmtpServerOptions {
  std::string hostname = "mx.example.test";  // primary_hostname (banner, EHLO)
  bool starttls = true;                      // advertise STARTTLS
  std::vector<std::string> cert_names;       // SANs of the leaf; empty: {hostname}. Others: a wrong-name cert
  TestCa::Validity validity = TestCa::Validity::Valid;
  int port = 0;  // 0: a free port; else this one (25 inside a test network namespace)
};

class SmtpServer {
 public:
  /// Issues the leaf from `ca`, writes the config, starts exim and waits for
  /// the port. Throws std::runtime_error (with exim's output) on failure.
  SmtpServer(TestCa& ca, const SmtpServerOptions& options = {});
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  int port() const { return m_port; }
  /// "127.0.0.1:<port>", for SmtpOptions::connect_to.
  std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
  const std::string& dir() const { return m_dir.path(); }
  /// Exim's main log and its stderr so far.
  std::string log() const;
  void stop();

 private:
  /// Writes exim.conf for m_port; returns its path.
  std::string write_config(const SmtpServerOptions& options, const std::string& cert,
                           const std::string& key) const;

  TempDir m_dir{"smtp"};
  int m_port = 0;
  std::unique_ptr<ChildProcess> m_process;
};

/// The exim binary ("exim4" or "exim"), or empty when not installed.
std::string exim_program();

}  // namespace stsctl::test
