#pragma once
// A real IMAP server for tests: Dovecot (dovecot-imapd) in the foreground
// (`dovecot -F -c <conf>`) with its own base_dir, a passwd-file user, a
// Maildir under a TempDir, and IMAPS only on 127.0.0.1:<free port> with a
// leaf certificate from the test CA. Stopped by PID on destruction.
// Running as root, the mail user is nobody (Dovecot refuses uid 0), so the
// directory is made world-readable (test data only).

#include "support/support.h"
#include "support/test_ca.h"

#include <memory>
#include <string>
#include <vector>

namespace stsctl::test {

class DovecotServer {
 public:
  /// Issues the leaf for `hostname` from `ca`, writes the config, starts
  /// dovecot and waits for the port. Throws std::runtime_error (with the
  /// log) on failure.
  DovecotServer(TestCa& ca, const std::string& user, const std::string& password,
                const std::string& hostname = "imap.example.test");
  ~DovecotServer();
  DovecotServer(const DovecotServer&) = delete;
  DovecotServer& operator=(const DovecotServer&) = delete;

  int port() const { return m_port; }
  const std::string& hostname() const { return m_hostname; }
  /// "imaps://USER@HOST:PORT/MAILBOX".
  std::string url(const std::string& mailbox = "INBOX") const;
  /// "HOST:PORT:127.0.0.1:PORT", for --connect-to.
  std::string connect_to() const;

  /// Puts a message into `mailbox` ("INBOX" or another folder) as new mail.
  void deliver(const std::string& message, const std::string& mailbox = "INBOX");
  /// The Maildir file names of a mailbox (cur/ and new/), sorted.
  std::vector<std::string> messages(const std::string& mailbox = "INBOX") const;
  /// How many messages of `mailbox` carry the \Seen flag (Maildir ":2,...S").
  size_t seen_count(const std::string& mailbox = "INBOX") const;
  std::string log() const;
  void stop();

 private:
  std::string maildir(const std::string& mailbox) const;

  TempDir m_dir{"dovecot"};
  std::string m_hostname;
  std::string m_user;
  int m_port = 0;
  unsigned m_uid = 0;
  unsigned m_gid = 0;
  int m_delivered = 0;
  std::unique_ptr<ChildProcess> m_process;
};

}  // namespace stsctl::test
