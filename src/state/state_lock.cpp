#include "state/postgres_db.h"
#include "state/state.h"
#include "util/time.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

namespace stsctl {

namespace {

constexpr auto k_poll = std::chrono::milliseconds(100);

std::string this_host() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? name : "unknown";
}

LockHolder me(const std::string& command) {
  return LockHolder{this_host(), static_cast<int64_t>(::getpid()), command,
                    static_cast<int64_t>(std::time(nullptr))};
}

// The lock file holds "host\npid\ncommand\nsince\n" while the lock is held.
std::string holder_text(const LockHolder& h) {
  return h.host + "\n" + std::to_string(h.pid) + "\n" + h.command + "\n" + std::to_string(h.since) + "\n";
}

std::optional<LockHolder> parse_holder(const std::string& text) {
  std::istringstream in(text);
  LockHolder h;
  std::string pid, since;
  if (!std::getline(in, h.host) || !std::getline(in, pid) || !std::getline(in, h.command) ||
      !std::getline(in, since)) {
    return std::nullopt;
  }
  h.pid = std::strtoll(pid.c_str(), nullptr, 10);
  h.since = std::strtoll(since.c_str(), nullptr, 10);
  return h;
}

std::string seconds_text(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

std::string held_message(const std::string& what, const std::optional<LockHolder>& holder, double waited) {
  return "failed to lock " + what + " (held by " +
         (holder ? describe_holder(*holder) : std::string("another stsctl process")) + "; waited " +
         seconds_text(waited) +
         " s); retry when it has finished, or wait for it with --lock-timeout DURATION";
}

}  // namespace

std::string describe_holder(const LockHolder& h) {
  return h.command + " (host " + h.host + ", pid " + std::to_string(h.pid) + ", since " +
         format_rfc3339(h.since) + ")";
}

struct StateLock::Backend {
  virtual ~Backend() = default;
};

namespace {

class FileLock final : public StateLock::Backend {
 public:
  FileLock(const std::string& state_path, double timeout, const std::string& command,
           std::optional<LockHolder>* stale) {
    const std::string lock_path = state_path + ".lock";
    m_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m_fd < 0) {
      throw StateError("failed to open lock file '" + lock_path + "' (" + std::strerror(errno) + ")");
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EINTR) {
        continue;
      }
      if (err != EWOULDBLOCK) {
        ::close(m_fd);
        throw StateError("failed to lock '" + lock_path + "' (" + std::strerror(err) + ")");
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        const auto holder = parse_holder(contents());
        ::close(m_fd);
        throw StateError(held_message("'" + lock_path + "'", holder, timeout));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    *stale = parse_holder(contents());  // left by a holder that died
    const std::string text = holder_text(me(command));
    if (::ftruncate(m_fd, 0) != 0 || ::pwrite(m_fd, text.data(), text.size(), 0) < 0) {
      // The lock holds without the note; others then see no holder.
    }
  }
  ~FileLock() override {
    if (::ftruncate(m_fd, 0) != 0) {
      // An old note reads as a stale holder next time; harmless.
    }
    ::flock(m_fd, LOCK_UN);
    ::close(m_fd);
  }

 private:
  std::string contents() const {
    char buffer[1024];
    const ssize_t n = ::pread(m_fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
  }
  int m_fd = -1;
};

// The lock is transaction-level (pg_try_advisory_xact_lock) in a transaction
// left open for the run: a transaction-pooling proxy (PgBouncer) keeps one
// server connection for an open transaction, where a session-level lock
// would be taken on one server connection and released on another.
class PostgresLock final : public StateLock::Backend {
 public:
  PostgresLock(const std::string& url, double timeout, const std::string& command,
               std::optional<LockHolder>* stale)
      : m_lock(open_postgres(url)), m_info(open_postgres(url)) {
    m_lock->exec("BEGIN", "begin a transaction on");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    while (!try_lock()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw StateError(held_message("state database '" + url + "'", read_holder(), timeout));
      }
      std::this_thread::sleep_for(k_poll);
    }
    m_info->exec(
        "CREATE TABLE IF NOT EXISTS stsctl_lock (name TEXT PRIMARY KEY, host TEXT NOT NULL, pid BIGINT NOT "
        "NULL, "
        "command TEXT NOT NULL, since BIGINT NOT NULL)",
        "create the lock table of");
    *stale = read_holder();  // its session ended, else we would not hold the lock
    const LockHolder self = me(command);
    auto q = m_info->query(
        "INSERT INTO stsctl_lock (name, host, pid, command, since) VALUES ('run', ?1, ?2, ?3, ?4) "
        "ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, command = "
        "excluded.command, "
        "since = excluded.since");
    q->bind(1, self.host).bind(2, self.pid).bind(3, self.command).bind(4, self.since);
    q->step();
  }
  ~PostgresLock() override {
    try {
      m_info->exec("DELETE FROM stsctl_lock WHERE name = 'run'", "unlock");
    } catch (const StateError&) {
      // The row then reads as stale to the next holder, which replaces it.
    }
    m_lock->rollback();  // releases the lock
  }

 private:
  bool try_lock() {
    auto q = m_lock->query("SELECT pg_try_advisory_xact_lock(1398035267, 1)");
    return q->step() && q->text(0) == "t";
  }
  std::optional<LockHolder> read_holder() {
    if (!m_info->has_table("stsctl_lock")) {
      return std::nullopt;
    }
    auto q = m_info->query("SELECT host, pid, command, since FROM stsctl_lock WHERE name = 'run'");
    if (!q->step()) {
      return std::nullopt;
    }
    return LockHolder{q->text(0), q->integer(1), q->text(2), q->integer(3)};
  }
  std::unique_ptr<SqlDb> m_lock;
  std::unique_ptr<SqlDb> m_info;
};

}  // namespace

StateLock::StateLock(const std::string& state_location, double timeout_seconds, const std::string& command) {
  if (is_postgres_url(state_location)) {
    m_backend = std::make_unique<PostgresLock>(state_location, timeout_seconds, command, &m_stale);
  } else {
    m_backend = std::make_unique<FileLock>(state_location, timeout_seconds, command, &m_stale);
  }
}

StateLock::~StateLock() = default;

}  // namespace stsctl
