// Team state on PostgreSQL through the stsctl binary: two applies from
// separate copies of the config on one state, kill -9 of the lock holder,
// and `state migrate` both ways. Real PowerDNS and PostgreSQL on loopback.

#include "policy/policy.h"
#include "state/sql_db.h"
#include "state/state.h"
#include "support/pdns_server.h"
#include "support/postgres_server.h"
#include "support/support.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

using namespace stsctl;
using namespace stsctl::test;

namespace {

constexpr int k_zones = 20;

std::string make_config(const PdnsServer& pdns, const std::vector<std::string>& zones,
                        const std::string& state) {
  std::string config = "version: 1\nstate: \"" + state + "\"\n" +
                       "defaults:\n  provider: pdns\n  ttl: 300\n  policy_host: {ipv4: [192.0.2.40]}\n"
                       "  tlsrpt: {rua: [\"mailto:tlsrpt@example.net\"]}\n"
                       "providers:\n  pdns: {type: powerdns, url: \"" +
                       pdns.api_url() + "\", api_key_file: \"" + pdns.api_key_file() +
                       "\"}\npublish:\n  propagation: {timeout: 0}\ndomains:\n";
  for (const auto& zone : zones) {
    config += "  " + zone + ": {mx: [mail." + zone + "]}\n";
  }
  return config;
}

std::vector<std::string> make_zones(PdnsServer& pdns) {
  std::vector<std::string> zones;
  for (int i = 0; i < k_zones; ++i) {
    zones.push_back(PdnsServer::unique_zone("st"));
    pdns.create_zone(zones.back(), {{"@", "MX", {"10 mail." + zones.back() + "."}}});
  }
  return zones;
}

// An stsctl process in the background, its output in `log`.
struct Background {
  pid_t pid = -1;
  Background(const std::vector<std::string>& args, const std::string& log) {
    pid = fork();
    if (pid == 0) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv{const_cast<char*>(STSCTL_BINARY)};
      for (const auto& arg : args) {
        argv.push_back(const_cast<char*>(arg.c_str()));
      }
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  /// Exit code, or 1000 + signal.
  int wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
  }
  bool exited() {
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid;
  }
};

// Waits until the holder's lock-info row names `pid`; false when the process
// ended first (it was faster than the poll).
bool wait_for_lock_row(const std::string& url, pid_t pid) {
  auto db = open_sql_db(url, true);
  for (int i = 0; i < 20000; ++i) {
    if (db->has_table("stsctl_lock")) {
      auto q = db->query_once("SELECT pid FROM stsctl_lock WHERE name = 'run'");
      if (q->step() && q->integer(0) == pid) {
        return true;
      }
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// Every domain has exactly one id in the history, equal to its live TXT id.
void check_one_id_each(const PdnsServer& pdns, const std::string& url,
                       const std::vector<std::string>& zones) {
  StateStore store(url);
  for (const auto& zone : zones) {
    INFO(zone);
    const auto history = store.history(zone);
    REQUIRE(history.size() == 1);
    CHECK(store.domain(zone)->policy_id == history[0].id);
    CHECK(sts_id(pdns.query("_mta-sts." + zone, "TXT")) == history[0].id);
  }
  CHECK(store.pending().empty());
}

}  // namespace

TEST_CASE("two applies from separate configs on one PostgreSQL state: one fails naming the other",
          "[integration][state][postgres]") {
  PdnsServer pdns;
  auto& pg = PostgresServer::shared();
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const auto zones = make_zones(pdns);
  TempDir a("team-a");
  TempDir b("team-b");
  std::string url;
  // Retried when the first apply ends before the test sees it hold the lock.
  for (int attempt = 0; attempt < 3; ++attempt) {
    url = pg.create_database();
    write_file(a.file("stsctl.yaml"), make_config(pdns, zones, url));
    write_file(b.file("stsctl.yaml"), make_config(pdns, zones, url));
    // Different clocks: two deciders would mint two different ids.
    Background first({"-c", a.file("stsctl.yaml"), "--now", "2026-03-01T10:00:00Z", "apply", "--yes"},
                     a.file("apply.log"));
    if (!wait_for_lock_row(url, first.pid)) {
      first.wait();
      continue;
    }
    kill(first.pid, SIGSTOP);  // holds the lock as long as the test needs
    auto second =
        run_stsctl({"-c", b.file("stsctl.yaml"), "--now", "2026-03-01T11:00:00Z", "apply", "--yes"});
    INFO(second.out << second.err);
    CHECK(second.exit_code == 1);
    const std::string prefix = "stsctl: state: failed to lock state database '" + url +
                               "' (held by stsctl apply (host " + host + ", pid " +
                               std::to_string(first.pid) + ", since ";
    CHECK(second.err.rfind(prefix, 0) == 0);
    CHECK_THAT(second.err, Catch::Contains("Z); waited 0 s); retry when it has finished, or wait for it with "
                                           "--lock-timeout DURATION"));
    // A third waits for the lock, then finds the first one's work done.
    Background third({"-c", b.file("stsctl.yaml"), "--now", "2026-03-01T12:00:00Z", "apply", "--yes",
                      "--lock-timeout", "60s"},
                     b.file("apply.log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK_FALSE(third.exited());  // still waiting
    kill(first.pid, SIGCONT);
    CHECK(first.wait() == 0);
    CHECK(third.wait() == 0);
    INFO(read_file(b.file("apply.log")));
    check_one_id_each(pdns, url, zones);
    CHECK(StateStore(url).history(zones[0])[0].id == "20260301100000");
    return;
  }
  FAIL("apply always finished before the test saw it hold the lock");
}

TEST_CASE("kill -9 of the lock holder: PostgreSQL frees the lock, the next run converges",
          "[integration][state][postgres]") {
  PdnsServer pdns;
  auto& pg = PostgresServer::shared();
  const auto zones = make_zones(pdns);
  TempDir dir("team-kill");
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string url = pg.create_database();
    write_file(dir.file("stsctl.yaml"), make_config(pdns, zones, url));
    Background holder({"-c", dir.file("stsctl.yaml"), "--now", "2026-03-01T10:00:00Z", "apply", "--yes"},
                      dir.file("apply.log"));
    if (!wait_for_lock_row(url, holder.pid)) {
      holder.wait();
      continue;
    }
    kill(holder.pid, SIGKILL);
    CHECK(holder.wait() == 1000 + SIGKILL);
    auto next =
        run_stsctl({"-c", dir.file("stsctl.yaml"), "--now", "2026-03-01T10:05:00Z", "apply", "--yes"});
    INFO(next.out << next.err);
    REQUIRE(next.exit_code == 0);
    CHECK_THAT(next.err, Catch::Contains("warning: replaced the stale lock info of stsctl apply (host ") &&
                             Catch::Contains(", pid " + std::to_string(holder.pid) + ", since ") &&
                             Catch::Contains("that run ended without releasing it (crashed or killed)"));
    auto plan = run_stsctl(
        {"-c", dir.file("stsctl.yaml"), "--now", "2026-03-01T10:06:00Z", "plan", "--detailed-exitcode"});
    INFO(plan.out << plan.err);
    CHECK(plan.exit_code == 0);
    check_one_id_each(pdns, url, zones);
    return;
  }
  FAIL("apply always finished before the test saw it hold the lock");
}

TEST_CASE("state migrate copies SQLite to PostgreSQL and back, verified", "[integration][state][postgres]") {
  PdnsServer pdns;
  auto& pg = PostgresServer::shared();
  const auto zones = make_zones(pdns);
  TempDir dir("team-migrate");
  const std::string sqlite = dir.file("stsctl.db");
  write_file(dir.file("stsctl.yaml"), make_config(pdns, zones, sqlite));
  const std::vector<std::string> config{"-c", dir.file("stsctl.yaml"), "--now", "2026-03-01T10:00:00Z"};
  auto with = [&](std::vector<std::string> args) {
    std::vector<std::string> all = config;
    all.insert(all.end(), args.begin(), args.end());
    return all;
  };
  REQUIRE(run_stsctl(with({"apply", "--yes"})).exit_code == 0);
  const auto status = run_stsctl(with({"status"}));
  REQUIRE(status.exit_code == 0);

  const std::string url = pg.create_database();
  auto there = run_stsctl(with({"state", "migrate", "--to", url}));
  INFO(there.out << there.err);
  REQUIRE(there.exit_code == 0);
  CHECK_THAT(there.out,
             Catch::StartsWith("state migrate: copied " + sqlite + " to " + url + ": " +
                               std::to_string(k_zones) + " domain(s), " + std::to_string(k_zones) +
                               " history row(s), 0 pending id(s), 0 TLS-RPT report(s); row counts and "
                               "content hash sha256:") &&
                 Catch::EndsWith(" verified\n"));
  // The same state, read from PostgreSQL: nothing to do, the same status.
  CHECK(run_stsctl(with({"--state", url, "plan", "--detailed-exitcode"})).exit_code == 0);
  CHECK(run_stsctl(with({"--state", url, "status"})).out == status.out);

  auto again = run_stsctl(with({"state", "migrate", "--to", url}));
  CHECK(again.exit_code == 1);
  CHECK(again.err ==
        "stsctl: state: failed to migrate state to '" + url +
            "' (it already holds state; pass --force to replace it, or choose an empty database)\n");
  CHECK(run_stsctl(with({"state", "migrate", "--to", url, "--force"})).exit_code == 0);

  // And back into a new SQLite file, which then carries on where it left off.
  const std::string back = dir.file("back.db");
  auto home = run_stsctl(with({"--state", url, "state", "migrate", "--to", back}));
  INFO(home.out << home.err);
  REQUIRE(home.exit_code == 0);
  const std::string hash_there = there.out.substr(there.out.find("sha256:"));
  CHECK(home.out.substr(home.out.find("sha256:")) == hash_there);
  CHECK(run_stsctl(with({"--state", back, "status"})).out == status.out);
  // New history rows continue after the copied ones on both backends.
  for (const std::string& state : {url, back}) {
    INFO(state);
    StateStore store(state);
    int64_t highest = 0;
    for (const auto& [domain, entries] : store.all_history()) {
      highest = std::max(highest, entries.back().seq);
    }
    DomainPolicy extra;
    extra.domain = "new.example";
    extra.policy = make_policy(PolicyMode::Testing, 86400, {"mail.new.example"});
    extra.text = policy_text(extra.policy);
    extra.hash = policy_hash(extra.policy);
    store.resolve_and_record({extra}, {}, 1800000000);
    CHECK(store.history("new.example").at(0).seq > highest);
  }
}
