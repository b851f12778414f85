#include "support/postgres_server.h"

#include "state/postgres_db.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace stsctl::test {

namespace {

const std::string k_bin = "/usr/lib/postgresql/15/bin/";
const std::string k_user = "postgres";

std::string tail(const std::string& text) {
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

}  // namespace

bool PostgresServer::available() {
  return access((k_bin + "postgres").c_str(), X_OK) == 0 && getpwnam("postgres");
}

PostgresServer::PostgresServer() : m_dir(std::make_unique<TempDir>("postgres")), m_owner(getpid()) {
  const std::string data = m_dir->file("data");
  m_password_file = m_dir->file("password");
  write_file(m_password_file, "test-pg-password-" + std::to_string(getpid()) + "\n");
  m_log_path = m_dir->file("postgres.log");
  CommandResult owned = run_command({"chown", "-R", k_user + ":", m_dir->path()});
  if (owned.exit_code != 0) {
    throw std::runtime_error("chown of " + m_dir->path() + " failed: " + owned.err);
  }
  CommandResult init = run_command(
      {"setpriv", "--reuid=" + k_user, "--regid=" + k_user, "--init-groups", "--", k_bin + "initdb", "-D",
       data, "-U", "postgres", "--pwfile=" + m_password_file, "--auth-local=trust",
       "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"});
  if (init.exit_code != 0) {
    throw std::runtime_error("initdb failed: " + init.out + init.err);
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    m_port = free_port();
    m_process = std::make_unique<ChildProcess>(std::vector<std::string>{"setpriv",
                                                                        "--reuid=" + k_user,
                                                                        "--regid=" + k_user,
                                                                        "--init-groups",
                                                                        "--",
                                                                        k_bin + "postgres",
                                                                        "-D",
                                                                        data,
                                                                        "-p",
                                                                        std::to_string(m_port),
                                                                        "-k",
                                                                        m_dir->path(),
                                                                        "-c",
                                                                        "listen_addresses=127.0.0.1",
                                                                        "-c",
                                                                        "fsync=off",
                                                                        "-c",
                                                                        "synchronous_commit=off",
                                                                        "-c",
                                                                        "full_page_writes=off",
                                                                        "-c",
                                                                        "max_connections=200"},
                                               m_log_path);
    if (wait_for_port(m_port, 30) && m_process->running()) {
      // Accepting TCP before recovery ends: wait for a login to work.
      for (int i = 0; i < 100; ++i) {
        try {
          open_postgres(url("postgres"));
          return;
        } catch (const std::exception&) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    }
    stop();
  }
  throw std::runtime_error("postgres did not start; log " + m_log_path + ":\n" + log());
}

PostgresServer::~PostgresServer() {
  if (getpid() == m_owner) {
    stop();
  }
}

PostgresServer& PostgresServer::shared() {
  static PostgresServer server;
  return server;
}

std::string PostgresServer::create_database() {
  const std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(++m_databases);
  open_postgres(url("postgres"))->exec("CREATE DATABASE " + name, "create a database on");
  return url(name);
}

std::string PostgresServer::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(m_port) + "/" + database +
         "?sslmode=disable&password_file=" + m_password_file;
}

std::string PostgresServer::log() const {
  try {
    return tail(read_file(m_log_path));
  } catch (const std::exception&) {
    return "(no log)";
  }
}

void PostgresServer::stop() {
  if (!m_process) {
    return;
  }
  // SIGINT is PostgreSQL's fast shutdown (SIGTERM waits for every client).
  if (m_process->running()) {
    kill(m_process->pid(), SIGINT);
    for (int i = 0; i < 100 && m_process->running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  m_process.reset();
}

}  // namespace stsctl::test
