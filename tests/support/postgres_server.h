#pragma once
// A throw-away PostgreSQL 15 for tests: initdb into a TempDir under the build
// tree, `postgres` run as the postgres user (initdb refuses root) listening on
// 127.0.0.1 only (a free port, its own socket directory), password logins
// over TCP. Stopped by PID (fast shutdown) on destruction. One per test
// executable (shared()); each test case takes a fresh database.

#include "support/support.h"

#include <memory>
#include <string>

namespace stsctl::test {

class PostgresServer {
 public:
  /// Throws std::runtime_error with the server's log when it does not start.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /// The server of this test executable, started on first use.
  static PostgresServer& shared();

  /// True when the PostgreSQL 15 server binaries are installed.
  static bool available();

  int port() const { return m_port; }
  /// A new empty database; returns its state URL (see url()).
  std::string create_database();
  /// "postgresql://postgres@127.0.0.1:PORT/DB?sslmode=disable&password_file=F".
  std::string url(const std::string& database) const;
  /// The superuser's password file (for password_file= or PGPASSWORD).
  const std::string& password_file() const { return m_password_file; }
  std::string log() const;
  void stop();

 private:
  std::unique_ptr<TempDir> m_dir;
  std::string m_password_file;
  std::string m_log_path;
  int m_port = 0;
  int m_databases = 0;
  pid_t m_owner = 0;  // a forked child must not stop the parent's server
  std::unique_ptr<ChildProcess> m_process;
};

}  // namespace stsctl::test
