#include "state/state.h"

#include "policy/policy.h"
#include "state/backends_fixture.h"
#include "support/postgres_server.h"
#include "support/support.h"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

using namespace stsctl;
using stsctl::test::Backend;
using stsctl::test::RawDb;
using stsctl::test::TempDir;

namespace {

constexpr int64_t k_now = 1700000000;  // 2023-11-14T22:13:20Z

// Runs the test case once per backend (Catch's GENERATE), naming it on failure.
#define EACH_BACKEND(backend)                                           \
  const Backend backend = GENERATE(Backend::Sqlite, Backend::Postgres); \
  INFO("backend: " << test::backend_name(backend))

DomainPolicy policy_for(const std::string& domain, PolicyMode mode = PolicyMode::Testing,
                        uint32_t max_age = 86400, std::vector<std::string> mx = {"mx1.example.net"}) {
  DomainPolicy p;
  p.domain = domain;
  p.policy = make_policy(mode, max_age, mx);
  p.text = policy_text(p.policy);
  p.hash = policy_hash(p.policy);
  return p;
}

// Runs `fn` in a forked child; its return value is the exit status. The child
// never returns into Catch: it leaves with _exit so no destructor or test
// runner state of the parent runs twice.
pid_t fork_child(const std::function<int()>& fn) {
  const pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    int rc = 99;
    try {
      rc = fn();
    } catch (...) {
      rc = 98;
    }
    _exit(rc);
  }
  return pid;
}

int wait_child(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    return -1;
  }
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return 1000 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

TEST_CASE("a new state database is created and reopened", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  {
    StateStore store(path);
    CHECK(store.all_domains().empty());
    CHECK(store.history("example.net").empty());
    CHECK_FALSE(store.domain("example.net").has_value());
    store.resolve_and_record({policy_for("example.net")}, {}, k_now);
  }
  if (backend == Backend::Sqlite) {
    CHECK(test::file_exists(path));
  }
  StateStore again(path);
  const auto d = again.domain("example.net");
  REQUIRE(d);
  CHECK(d->policy_id == "20231114221320");
  CHECK(again.all_domains().size() == 1);

  RawDb raw(path);
  CHECK(raw.scalar("SELECT schema_version FROM meta") == "3");
  CHECK(raw.scalar("SELECT count(*) FROM meta") == "1");
  if (backend == Backend::Sqlite) {
    CHECK(raw.scalar("PRAGMA journal_mode") == "wal");
  }
  CHECK(raw.scalar("SELECT mode FROM domains") == "testing");
}

TEST_CASE("a domain's zone and provider are remembered", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  StateStore store(path);
  store.resolve_and_record({policy_for("shop.example.net")}, {}, k_now);
  CHECK(store.domain("shop.example.net")->zone.empty());
  store.set_location("shop.example.net", "example.net", "pdns");
  store.set_location("unknown.example", "example", "pdns");  // no row: nothing happens
  const auto d = store.domain("shop.example.net");
  REQUIRE(d);
  CHECK(d->zone == "example.net");
  CHECK(d->provider == "pdns");
  CHECK(store.all_domains().at("shop.example.net").provider == "pdns");
  CHECK_FALSE(store.domain("unknown.example").has_value());
}

TEST_CASE("state errors name the database path and SQLite's message", "[state]") {
  TempDir dir("state");
  SECTION("unopenable path") {
    const std::string path = dir.file("missing/dir/stsctl.db");
    try {
      StateStore store(path);
      FAIL("expected StateError");
    } catch (const StateError& e) {
      CHECK(std::string(e.what()) ==
            "failed to open state database '" + path + "' (unable to open database file)");
    }
  }
  SECTION("a newer schema is refused") {
    const std::string path = dir.file("stsctl.db");
    { StateStore store(path); }
    {
      RawDb raw(path);
      REQUIRE(raw.exec("UPDATE meta SET schema_version = 7"));
    }
    CHECK_THROWS_WITH(StateStore(path), Catch::Contains(path) && Catch::Contains("schema version 7"));
  }
  SECTION("not a database") {
    const std::string path = dir.file("junk.db");
    test::write_file(path, std::string(4096, 'x'));
    CHECK_THROWS_WITH(StateStore(path), Catch::Contains(path) && Catch::Contains("not a database"));
  }
}

TEST_CASE("PostgreSQL state errors name the URL and say what to do", "[state][postgres]") {
  TempDir dir("state");
  auto& server = test::PostgresServer::shared();
  const std::string base = "postgresql://postgres@127.0.0.1:" + std::to_string(server.port()) + "/";
  SECTION("a newer schema is refused") {
    const std::string url = server.create_database();
    { StateStore store(url); }
    REQUIRE(RawDb(url).exec("UPDATE meta SET schema_version = 7"));
    CHECK_THROWS_WITH(StateStore(url), "failed to open state database '" + url +
                                           "' (schema version 7 is newer than this stsctl supports, 3)");
  }
  SECTION("a password in the URL is refused, and never shown") {
    const std::string url = "postgresql://postgres:hunter22@127.0.0.1:5432/db";
    CHECK_THROWS_WITH(StateStore(url),
                      "failed to connect to state database 'postgresql://postgres:***@127.0.0.1:5432/db' (a "
                      "password in the "
                      "URL is not allowed; give it in password_file=/absolute/path, in a ~/.pgpass or "
                      "PGPASSFILE file, or in "
                      "PGPASSWORD)");
    CHECK_THROWS_WITH(
        StateStore(base + "db?sslmode=disable&Password=hunter22"),
        "failed to connect to state database '" + base +
            "db?sslmode=disable&Password=***' (a password in the URL is not allowed; give it in "
            "password_file=/absolute/path, in a ~/.pgpass or PGPASSFILE file, or in PGPASSWORD)");
  }
  SECTION("password_file must be an absolute path that can be read") {
    CHECK_THROWS_WITH(StateStore(base + "db?password_file=pw.txt"),
                      Catch::EndsWith("(password_file must be an absolute path, got 'pw.txt')"));
    const std::string missing = dir.file("missing.pw");
    CHECK_THROWS_WITH(StateStore(base + "db?password_file=" + missing),
                      "failed to read the password of state database '" + base + "db?password_file=" +
                          missing + "' (cannot read file '" + missing + "' (No such file or directory))");
  }
  SECTION("a wrong password names the server's reason, not the password") {
    const std::string wrong = dir.file("wrong.pw");
    test::write_file(wrong, "not-the-password-123\n");
    const std::string url = base + "postgres?sslmode=disable&password_file=" + wrong;
    try {
      StateStore store(url);
      FAIL("expected StateError");
    } catch (const StateError& e) {
      const std::string what = e.what();
      CHECK(what.rfind("failed to connect to state database '" + url + "' (", 0) == 0);
      CHECK_THAT(what, Catch::Contains("password authentication failed for user \"postgres\""));
      CHECK_THAT(what, !Catch::Contains("not-the-password-123"));
    }
  }
  SECTION("no server") {
    const int port = test::free_port();
    const std::string url = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/db?sslmode=disable";
    CHECK_THROWS_WITH(StateStore(url),
                      Catch::StartsWith("failed to connect to state database '" + url + "' (") &&
                          Catch::Contains("Connection refused"));
  }
  SECTION("reading a database without stsctl's tables creates nothing") {
    const std::string url = server.create_database();
    auto store = StateStore::open_for_reading(url);
    CHECK(store->all_domains().empty());
    CHECK_FALSE(RawDb(url).db().has_table("meta"));
  }
}

TEST_CASE("resolve_and_record bumps once per hash", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  StateStore store(path);
  const auto testing = policy_for("example.net");

  auto first = store.resolve_and_record({testing}, {}, k_now);
  REQUIRE(first.count("example.net") == 1);
  CHECK(first["example.net"].bumped);
  CHECK(first["example.net"].id == "20231114221320");

  auto d = store.domain("example.net");
  REQUIRE(d);
  CHECK(d->policy_hash == testing.hash);
  CHECK(d->policy_id == "20231114221320");
  CHECK(d->mode == PolicyMode::Testing);
  CHECK(d->max_age == 86400);
  CHECK(d->stage == 0);
  CHECK(d->stage_since == k_now);
  CHECK(d->updated_at == k_now);
  CHECK_FALSE(d->retiring_until.has_value());
  CHECK(d->gate_status.empty());
  CHECK(d->last_check == 0);

  // Same hash later: same id, nothing written.
  for (int i = 1; i <= 3; ++i) {
    auto again = store.resolve_and_record({testing}, {}, k_now + 3600 * i);
    CHECK_FALSE(again["example.net"].bumped);
    CHECK(again["example.net"].id == "20231114221320");
  }
  CHECK(store.history("example.net").size() == 1);
  CHECK(store.domain("example.net")->updated_at == k_now);

  // A new hash bumps; the stage is not reset.
  store.set_stage("example.net", 1, k_now + 10);
  const auto enforce = policy_for("example.net", PolicyMode::Enforce, 604800);
  auto bumped = store.resolve_and_record({enforce}, {}, k_now + 7200);
  CHECK(bumped["example.net"].bumped);
  CHECK(bumped["example.net"].id == "20231115001320");
  d = store.domain("example.net");
  CHECK(d->policy_id == "20231115001320");
  CHECK(d->policy_hash == enforce.hash);
  CHECK(d->mode == PolicyMode::Enforce);
  CHECK(d->max_age == 604800);
  CHECK(d->stage == 1);
  CHECK(d->stage_since == k_now + 10);
  CHECK(d->updated_at == k_now + 7200);

  const auto history = store.history("example.net");
  REQUIRE(history.size() == 2);
  CHECK(history[0].seq < history[1].seq);
  CHECK(history[0].id == "20231114221320");
  CHECK(history[0].hash == testing.hash);
  CHECK(history[0].policy_text == testing.text);
  CHECK(history[0].mode == PolicyMode::Testing);
  CHECK(history[0].published_at == k_now);
  CHECK(history[0].domain == "example.net");
  CHECK(history[1].id == "20231115001320");
  CHECK(history[1].mode == PolicyMode::Enforce);
  CHECK(history[1].max_age == 604800);
  CHECK(history[1].policy_text == enforce.text);

  // Going back to the old policy is a new hash relative to the current one.
  auto back = store.resolve_and_record({testing}, {}, k_now + 7200);
  CHECK(back["example.net"].bumped);
  CHECK(back["example.net"].id == "20231115001321");  // sorts after the previous id
  CHECK(store.history("example.net").size() == 3);
}

TEST_CASE("resolve_and_record handles many domains and id formats", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  StateStore store(path);
  const std::map<std::string, IdFormat> formats = {{"b.example", IdFormat::Serial},
                                                   {"c.example", IdFormat::Hash}};
  const auto a = policy_for("a.example");
  const auto b = policy_for("b.example");
  const auto c = policy_for("c.example");
  auto ids = store.resolve_and_record({a, b, c}, formats, k_now);
  CHECK(ids["a.example"].id == "20231114221320");
  CHECK(ids["b.example"].id == "2023111400");
  CHECK(ids["c.example"].id == c.hash.substr(0, 32));
  CHECK(store.all_domains().size() == 3);
  CHECK(store.all_domains().begin()->first == "a.example");

  // Only the changed one bumps.
  const auto b2 = policy_for("b.example", PolicyMode::Enforce);
  ids = store.resolve_and_record({a, b2, c}, formats, k_now + 60);
  CHECK_FALSE(ids["a.example"].bumped);
  CHECK(ids["b.example"].bumped);
  CHECK(ids["b.example"].id == "2023111401");
  CHECK_FALSE(ids["c.example"].bumped);
  CHECK(store.history("a.example").size() == 1);
  CHECK(store.history("b.example").size() == 2);
  CHECK(store.history("c.example").size() == 1);
}

TEST_CASE("preview_ids writes nothing", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  StateStore store(path);
  const auto p = policy_for("example.net");
  auto preview = store.preview_ids({p}, {}, k_now);
  CHECK(preview["example.net"].bumped);
  CHECK(preview["example.net"].id == "20231114221320");
  CHECK_FALSE(store.domain("example.net").has_value());
  CHECK(store.history("example.net").empty());

  store.resolve_and_record({p}, {}, k_now);
  preview = store.preview_ids({p}, {}, k_now + 100);
  CHECK_FALSE(preview["example.net"].bumped);
  CHECK(preview["example.net"].id == "20231114221320");

  preview = store.preview_ids({policy_for("example.net", PolicyMode::Enforce)}, {}, k_now + 100);
  CHECK(preview["example.net"].bumped);
  CHECK(preview["example.net"].id == "20231114221500");
  CHECK(store.domain("example.net")->policy_hash == p.hash);
  CHECK(store.history("example.net").size() == 1);
}

TEST_CASE("record_published records pushed policies", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  StateStore store(path);
  const auto p = policy_for("example.net");
  const PublishedPolicyRecord rec{"example.net", "20240101000000", p.hash, p.policy, p.text};
  store.record_published({rec}, k_now);
  auto d = store.domain("example.net");
  REQUIRE(d);
  CHECK(d->policy_id == "20240101000000");
  CHECK(d->policy_hash == p.hash);
  CHECK(d->stage == 0);
  CHECK(d->stage_since == k_now);
  REQUIRE(store.history("example.net").size() == 1);

  // Same hash: a no-op, even with another id.
  auto same = rec;
  same.id = "20250101000000";
  store.record_published({same}, k_now + 50);
  CHECK(store.domain("example.net")->policy_id == "20240101000000");
  CHECK(store.domain("example.net")->updated_at == k_now);
  CHECK(store.history("example.net").size() == 1);

  const auto e = policy_for("example.net", PolicyMode::Enforce, 604800);
  store.set_stage("example.net", 2, k_now + 5);
  store.record_published({{"example.net", "20240202000000", e.hash, e.policy, e.text}}, k_now + 100);
  d = store.domain("example.net");
  CHECK(d->policy_id == "20240202000000");
  CHECK(d->mode == PolicyMode::Enforce);
  CHECK(d->max_age == 604800);
  CHECK(d->stage == 2);
  CHECK(d->updated_at == k_now + 100);
  const auto history = store.history("example.net");
  REQUIRE(history.size() == 2);
  CHECK(history[1].id == "20240202000000");
  CHECK(history[1].published_at == k_now + 100);
  CHECK(history[1].policy_text == e.text);

  // And resolve_and_record agrees with what was published.
  auto ids = store.resolve_and_record({e}, {}, k_now + 200);
  CHECK_FALSE(ids["example.net"].bumped);
  CHECK(ids["example.net"].id == "20240202000000");
}

TEST_CASE("rollout fields are set per domain", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  StateStore store(path);
  store.resolve_and_record({policy_for("example.net"), policy_for("example.org")}, {}, k_now);

  store.set_stage("example.net", 3, k_now + 1);
  store.set_gate_status("example.net", "blocked: 2 failures in TLS-RPT");
  store.set_retiring_until("example.net", k_now + 86400);
  store.set_last_check("example.net", k_now + 2);
  auto d = store.domain("example.net");
  CHECK(d->stage == 3);
  CHECK(d->stage_since == k_now + 1);
  CHECK(d->gate_status == "blocked: 2 failures in TLS-RPT");
  REQUIRE(d->retiring_until);
  CHECK(*d->retiring_until == k_now + 86400);
  CHECK(d->last_check == k_now + 2);

  store.set_retiring_until("example.net", std::nullopt);
  CHECK_FALSE(store.domain("example.net")->retiring_until.has_value());

  // The other domain is untouched.
  auto o = store.domain("example.org");
  CHECK(o->stage == 0);
  CHECK(o->gate_status.empty());
  CHECK(o->last_check == 0);

  SECTION("unknown domains") {
    CHECK_THROWS_WITH(store.set_stage("nope.example", 1, k_now),
                      "failed to set the rollout stage in state database '" + path +
                          "' (no state for domain 'nope.example')");
    CHECK_THROWS_AS(store.set_gate_status("nope.example", "x"), StateError);
    CHECK_THROWS_AS(store.set_retiring_until("nope.example", k_now), StateError);
    CHECK_NOTHROW(store.set_last_check("nope.example", k_now));
    CHECK_FALSE(store.domain("nope.example").has_value());
    CHECK_NOTHROW(store.forget_domain("nope.example"));
  }
  SECTION("forget_domain keeps history") {
    store.forget_domain("example.net");
    CHECK_FALSE(store.domain("example.net").has_value());
    CHECK(store.all_domains().size() == 1);
    CHECK(store.history("example.net").size() == 1);
    // Coming back is a fresh row at stage 0 with a new history entry.
    auto ids = store.resolve_and_record({policy_for("example.net")}, {}, k_now + 500);
    CHECK(ids["example.net"].bumped);
    CHECK(store.domain("example.net")->stage == 0);
    CHECK(store.history("example.net").size() == 2);
  }
}

TEST_CASE("history is append-only in the database itself", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  {
    StateStore store(path);
    store.resolve_and_record({policy_for("example.net")}, {}, k_now);
  }
  RawDb raw(path);
  CHECK_FALSE(raw.exec("UPDATE history SET id = 'x'"));
  CHECK_FALSE(raw.exec("DELETE FROM history"));
  if (backend == Backend::Postgres) {
    CHECK_FALSE(raw.exec("TRUNCATE history"));
  }
  CHECK(raw.scalar("SELECT id FROM history") == "20231114221320");
}

TEST_CASE("a process dying inside a write transaction leaves the old state", "[state][crash]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  const auto p = policy_for("example.net");
  {
    StateStore store(path);
    store.resolve_and_record({p}, {}, k_now);
  }

  int ready[2];
  REQUIRE(pipe(ready) == 0);
  // The child writes enough inside one transaction to spill pages into the
  // WAL, tells the parent it is mid-transaction, then dies without COMMIT.
  const pid_t child = fork_child([&]() {
    close(ready[0]);
    RawDb raw(path);
    // Enough rows inside one transaction to spill pages (SQLite: into the WAL).
    const std::string spill =
        backend == Backend::Sqlite
            ? "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
              "INSERT INTO history (domain, published_at, id, hash, mode, max_age, policy_text) "
              "SELECT 'example.net', i, 'torn', 'torn', 'testing', 1, zeroblob(2000) FROM n"
            : "INSERT INTO history (domain, published_at, id, hash, mode, max_age, policy_text) "
              "SELECT 'example.net', i, 'torn', 'torn', 'testing', 1, repeat('x', 2000) "
              "FROM generate_series(1, 5000) AS i";
    if (!raw.exec(backend == Backend::Sqlite ? "BEGIN IMMEDIATE" : "BEGIN") ||
        !raw.exec("UPDATE domains SET policy_id = 'torn', policy_hash = 'torn'") || !raw.exec(spill)) {
      return 3;
    }
    const char byte = 'x';
    if (write(ready[1], &byte, 1) != 1) {
      return 4;
    }
    _exit(0);  // no COMMIT, no close
  });
  close(ready[1]);
  char byte = 0;
  CHECK(read(ready[0], &byte, 1) == 1);
  close(ready[0]);
  CHECK(wait_child(child) == 0);

  StateStore store(path);
  const auto d = store.domain("example.net");
  REQUIRE(d);
  CHECK(d->policy_id == "20231114221320");
  CHECK(d->policy_hash == p.hash);
  CHECK(store.history("example.net").size() == 1);
  // And the database is writable again (the dead writer's lock is gone).
  auto ids = store.resolve_and_record({policy_for("example.net", PolicyMode::Enforce)}, {}, k_now + 1);
  CHECK(ids["example.net"].bumped);
  CHECK(store.history("example.net").size() == 2);
  if (backend == Backend::Sqlite) {
    RawDb raw(path);
    CHECK(raw.scalar("PRAGMA integrity_check") == "ok");
  }
}

TEST_CASE("a writer killed at random moments never leaves a half-recorded bump", "[state][crash]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  { StateStore store(path); }
  const std::vector<DomainPolicy> variants = {
      policy_for("a.example"), policy_for("a.example", PolicyMode::Enforce), policy_for("b.example"),
      policy_for("b.example", PolicyMode::Enforce)};
  for (int round = 0; round < 5; ++round) {
    const pid_t child = fork_child([&]() {
      StateStore store(path);
      for (int64_t i = 0;; ++i) {
        const auto& a = variants[static_cast<size_t>(i % 2)];
        const auto& b = variants[static_cast<size_t>(2 + (i / 3) % 2)];
        store.resolve_and_record({a, b}, {}, k_now + i);
      }
      return 0;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 37 * round));
    kill(child, SIGKILL);
    CHECK(wait_child(child) == 1000 + SIGKILL);

    StateStore store(path);
    for (const std::string domain : {"a.example", "b.example"}) {
      const auto d = store.domain(domain);
      const auto history = store.history(domain);
      if (!d) {
        CHECK(history.empty());
        continue;
      }
      // The row and the newest history entry always agree.
      REQUIRE_FALSE(history.empty());
      CHECK(history.back().id == d->policy_id);
      CHECK(history.back().hash == d->policy_hash);
      for (size_t i = 1; i < history.size(); ++i) {
        CHECK(history[i - 1].seq < history[i].seq);
        CHECK(history[i - 1].id < history[i].id);
        CHECK(history[i - 1].hash != history[i].hash);
      }
    }
  }
  if (backend == Backend::Sqlite) {
    RawDb raw(path);
    CHECK(raw.scalar("PRAGMA integrity_check") == "ok");
  }
}

TEST_CASE("concurrent processes recording the same policy end with one id", "[state][concurrency]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);  // created by the racing children themselves
  constexpr int k_children = 4;
  constexpr int k_rounds = 40;
  std::vector<DomainPolicy> policies;
  for (int i = 0; i < 8; ++i) {
    policies.push_back(policy_for("d" + std::to_string(i) + ".example"));
  }

  int barrier[2];
  REQUIRE(pipe(barrier) == 0);
  std::vector<pid_t> children;
  for (int c = 0; c < k_children; ++c) {
    children.push_back(fork_child([&, c]() {
      close(barrier[1]);
      char byte = 0;
      if (read(barrier[0], &byte, 1) != 0) {  // EOF when the parent lets go
        return 5;
      }
      std::ofstream out(dir.file("child" + std::to_string(c) + ".txt"));
      StateStore store(path);
      for (int r = 0; r < k_rounds; ++r) {
        // A different clock per child: two bumps would give different ids.
        const auto ids = store.resolve_and_record(policies, {}, k_now + c * 1000 + r);
        for (const auto& [domain, decision] : ids) {
          out << domain << ' ' << decision.id << ' ' << (decision.bumped ? 1 : 0) << '\n';
        }
      }
      out.close();
      return out ? 0 : 6;
    }));
  }
  close(barrier[0]);
  close(barrier[1]);  // start them all at once
  for (const pid_t child : children) {
    CHECK(wait_child(child) == 0);
  }

  std::map<std::string, std::set<std::string>> ids_seen;
  std::map<std::string, int> bumps;
  int lines = 0;
  for (int c = 0; c < k_children; ++c) {
    std::istringstream in(test::read_file(dir.file("child" + std::to_string(c) + ".txt")));
    std::string domain, id;
    int bumped = 0;
    while (in >> domain >> id >> bumped) {
      ids_seen[domain].insert(id);
      bumps[domain] += bumped;
      ++lines;
    }
  }
  CHECK(lines == k_children * k_rounds * static_cast<int>(policies.size()));
  StateStore store(path);
  for (const auto& p : policies) {
    INFO(p.domain);
    CHECK(ids_seen[p.domain].size() == 1);  // every process got the same id
    CHECK(bumps[p.domain] == 1);            // exactly one process bumped
    const auto history = store.history(p.domain);
    REQUIRE(history.size() == 1);  // exactly one id exists for this hash
    CHECK(history[0].hash == p.hash);
    CHECK(history[0].id == *ids_seen[p.domain].begin());
    CHECK(store.domain(p.domain)->policy_id == history[0].id);
  }
}

TEST_CASE("StateLock excludes other processes and names the holder", "[state][lock]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string what =
      backend == Backend::Sqlite ? "'" + path + ".lock'" : "state database '" + path + "'";
  auto held_by = [&](pid_t pid, const std::string& command) {
    return "failed to lock " + what + " (held by " + command + " (host " + host + ", pid " +
           std::to_string(pid) + ", since ";
  };
  const std::string k_next = "; retry when it has finished, or wait for it with --lock-timeout DURATION";

  SECTION("a second process cannot take a held lock") {
    auto lock = std::make_unique<StateLock>(path, 1, "stsctl apply");
    CHECK_FALSE(lock->stale_holder());
    if (backend == Backend::Sqlite) {
      CHECK(test::file_exists(path + ".lock"));
    }
    const std::string expected = held_by(getpid(), "stsctl apply");
    const pid_t blocked = fork_child([&]() {
      try {
        StateLock other(path, 0.3);
        return 1;  // took a lock that is held
      } catch (const StateError& e) {
        const std::string message = e.what();
        const std::string tail = "Z); waited 0.3 s)" + k_next;
        return message.rfind(expected, 0) == 0 && message.size() > tail.size() &&
                       message.compare(message.size() - tail.size(), tail.size(), tail) == 0
                   ? 0
                   : 2;
      }
    });
    CHECK(wait_child(blocked) == 0);
    lock.reset();
    const pid_t free = fork_child([&]() {
      StateLock other(path, 5);
      return other.stale_holder() ? 7 : 0;  // released cleanly: no stale info
    });
    CHECK(wait_child(free) == 0);
  }

  SECTION("a waiting process gets the lock when the holder exits") {
    int ready[2];
    int go[2];
    REQUIRE(pipe(ready) == 0);
    REQUIRE(pipe(go) == 0);
    const pid_t holder = fork_child([&]() {
      close(ready[0]);
      close(go[1]);
      StateLock lock(path, 5, "stsctl promote");
      const char byte = 'x';
      if (write(ready[1], &byte, 1) != 1) {
        return 3;
      }
      char ignored = 0;
      if (read(go[0], &ignored, 1) != 0) {  // EOF: the parent lets go
        return 4;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return 0;  // the lock is released as the process exits
    });
    close(ready[1]);
    close(go[0]);
    char byte = 0;
    REQUIRE(read(ready[0], &byte, 1) == 1);
    close(ready[0]);
    CHECK_THROWS_WITH(StateLock(path, 0), Catch::StartsWith(held_by(holder, "stsctl promote")) &&
                                              Catch::EndsWith("Z); waited 0 s)" + k_next));
    const auto start = std::chrono::steady_clock::now();
    close(go[1]);
    StateLock lock(path, 10);
    CHECK(std::chrono::steady_clock::now() - start > std::chrono::milliseconds(100));
    CHECK(wait_child(holder) == 0);
  }

  SECTION("a holder killed with SIGKILL: the lock is free, its info reported as stale and replaced") {
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t holder = fork_child([&]() {
      close(ready[0]);
      StateLock lock(path, 5, "stsctl apply");
      const char byte = 'x';
      if (write(ready[1], &byte, 1) != 1) {
        return 3;
      }
      for (;;) {
        pause();
      }
    });
    close(ready[1]);
    char byte = 0;
    REQUIRE(read(ready[0], &byte, 1) == 1);
    close(ready[0]);
    kill(holder, SIGKILL);
    CHECK(wait_child(holder) == 1000 + SIGKILL);
    StateLock lock(path, 10, "stsctl promote");
    REQUIRE(lock.stale_holder());
    CHECK(lock.stale_holder()->pid == holder);
    CHECK(lock.stale_holder()->command == "stsctl apply");
    CHECK(lock.stale_holder()->host == host);
    // Others now see the new holder.
    const std::string expected = held_by(getpid(), "stsctl promote");
    const pid_t blocked = fork_child([&]() {
      try {
        StateLock other(path, 0);
        return 1;
      } catch (const StateError& e) {
        return std::string(e.what()).rfind(expected, 0) == 0 ? 0 : 2;
      }
    });
    CHECK(wait_child(blocked) == 0);
  }

  if (backend == Backend::Sqlite) {
    SECTION("an unusable lock path is an error") {
      CHECK_THROWS_WITH(StateLock(dir.file("no/such/dir/stsctl.db"), 1),
                        Catch::Contains("failed to open lock file"));
    }
  }
}

TEST_CASE("resolve_and_record runs work beside the writes and commits only when both succeed", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  StateStore store(path);
  std::vector<DomainPolicy> policies;
  for (int i = 0; i < 200; ++i) {
    policies.push_back(policy_for("d" + std::to_string(i) + ".example"));
  }

  // The work fails: nothing is recorded, its error comes through.
  auto failing = [](const std::map<std::string, IdDecision>&) { throw std::runtime_error("render failed"); };
  CHECK_THROWS_WITH(store.resolve_and_record(policies, {}, k_now, failing), "render failed");
  CHECK(store.all_domains().empty());

  // The work sees every decision before the commit; afterwards the state has them.
  std::map<std::string, IdDecision> seen;
  auto decisions =
      store.resolve_and_record(policies, {}, k_now, [&](const auto& decided) { seen = decided; });
  CHECK(seen.size() == 200);
  CHECK(decisions.size() == 200);
  CHECK(seen.at("d7.example").id == decisions.at("d7.example").id);
  CHECK(seen.at("d7.example").bumped);
  CHECK(store.all_domains().size() == 200);
  CHECK(store.history("d199.example").size() == 1);

  // Unchanged: same ids, nothing bumped, nothing written.
  auto again = store.resolve_and_record(policies, {}, k_now + 60, [](const auto&) {});
  CHECK_FALSE(again.at("d7.example").bumped);
  CHECK(store.history("d199.example").size() == 1);
}

TEST_CASE("stages lists every domain's rollout stage", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  StateStore store(path);
  CHECK(store.stages().empty());
  store.resolve_and_record({policy_for("b.example"), policy_for("a.example")}, {}, k_now);
  store.set_stage("b.example", 2, k_now + 60);
  CHECK(store.stages() == std::map<std::string, int>{{"a.example", 0}, {"b.example", 2}});
}

TEST_CASE("a Batch groups setters into one transaction, kept only on commit", "[state]") {
  EACH_BACKEND(backend);
  TempDir dir("state");
  const std::string path = test::fresh_state(backend, dir);
  StateStore store(path);
  store.resolve_and_record({policy_for("a.example"), policy_for("b.example")}, {}, k_now);
  {
    StateStore::Batch batch(store);
    store.set_location("a.example", "example", "pdns");
    store.set_stage("b.example", 1, k_now + 60);
    CHECK(store.domain("a.example")->zone == "example");  // reads inside see the batch
    CHECK(store.all_domains().at("b.example").stage == 1);
    // no commit: rolled back
  }
  CHECK(store.domain("a.example")->zone.empty());
  CHECK(store.domain("b.example")->stage == 0);
  {
    StateStore::Batch batch(store);
    store.set_location("a.example", "example", "pdns");
    store.set_stage("b.example", 1, k_now + 60);
    batch.commit();
  }
  CHECK(store.domain("a.example")->provider == "pdns");
  CHECK(store.domain("b.example")->stage == 1);
  // Another process sees the committed batch.
  StateStore other(path);
  CHECK(other.domain("b.example")->stage_since == k_now + 60);
}
