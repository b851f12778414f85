// The binary against hostile input and failing servers: generated hostile
// configs through validate and render zone under time and memory limits;
// render zone records nothing unless its files were written, and waits for
// the state lock; --now checked by every command; no secret in any output.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "state/state.h"
#include "support/fault_server.h"
#include "support/hostile_configs.h"
#include "support/pdns_server.h"
#include "support/support.h"

using namespace stsctl;
using namespace stsctl::test;

namespace {

// 1 s and 100 MB for the shipped build. With AddressSanitizer the process
// starts at about 85 MB resident and runs the loader about 15 times slower, and
// `ulimit -v` cannot be used (ASan reserves terabytes of address space), so
// there the limits apply to the growth over a trivial config's run.
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
constexpr bool k_sanitized = true;
constexpr double k_time_limit = 15.0;
#else
constexpr bool k_sanitized = false;
constexpr double k_time_limit = 1.0;
#endif
constexpr long k_memory_limit_kb = 100 * 1024;

struct Measured {
  int exit_code = -1;
  std::string err;
  double seconds = 0;
  long max_rss_kb = 0;
};

// Runs stsctl with `args`; without sanitizers under `ulimit -v` (1 GB: the
// address space, not the memory used, which max_rss_kb measures).
Measured run_measured(const std::vector<std::string>& args, const std::string& err_path) {
  auto started = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!k_sanitized) {
      rlimit limit{1024L * 1024 * 1024, 1024L * 1024 * 1024};
      ::setrlimit(RLIMIT_AS, &limit);
    } else {
      // ASan keeps up to 256 MB of freed memory in quarantine: that is the
      // sanitizer's memory, not stsctl's (the -O2 loader takes 31 MB for the
      // largest config here).
      const char* options = std::getenv("ASAN_OPTIONS");
      std::string asan = std::string(options != nullptr ? options : "") + ":quarantine_size_mb=8";
      ::setenv("ASAN_OPTIONS", asan.c_str(), 1);
    }
    int null = ::open("/dev/null", O_RDWR);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    std::string binary = STSCTL_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (auto& arg : copy) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  Measured out;
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  out.max_rss_kb = usage.ru_maxrss;
  out.err = read_file(err_path);
  return out;
}

const char* const k_simple =
    "version: 1\n"
    "defaults:\n"
    "  policy_host: {ipv4: [192.0.2.40]}\n"
    "domains:\n"
    "  example.net: {mx: [mail.example.net]}\n";

}  // namespace

TEST_CASE("hostile configs: validate and render zone exit 0 or 1, placed errors, bounded time and memory",
          "[hostile][cli]") {
  TempDir dir("hostile");
  write_file(dir.file("base.yaml"), k_simple);
  Measured base = run_measured({"-c", dir.file("base.yaml"), "--state", dir.file("base.db"), "validate"},
                               dir.file("err"));
  REQUIRE(base.exit_code == 0);
  const std::regex placed("^" + dir.file("hostile.yaml") + ":[0-9]+:[0-9]+: ");
  size_t configs = 0;
  for (const auto& config : hostile_configs()) {
    write_file(dir.file("hostile.yaml"), config.text);
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"validate"}, std::vector<std::string>{"render", "zone"}}) {
      std::vector<std::string> args{"-c", dir.file("hostile.yaml"), "--state", dir.file("hostile.db")};
      args.insert(args.end(), command.begin(), command.end());
      Measured run = run_measured(args, dir.file("err"));
      INFO(config.name << " " << command.front() << ": exit " << run.exit_code << ", " << run.seconds
                       << " s, " << run.max_rss_kb << " KB\n"
                       << run.err.substr(0, 2000));
      CHECK((run.exit_code == 0 || run.exit_code == 1));
      CHECK(run.exit_code == (config.valid ? 0 : 1));
      if (run.exit_code == 1) {
        CHECK(std::regex_search(run.err, placed));
      }
      for (unsigned char c : run.err) {
        CHECK((c == '\n' || (c >= 0x20 && c != 0x7f)));
      }
      CHECK(run.seconds - (k_sanitized ? base.seconds : 0) < k_time_limit);
      CHECK(run.max_rss_kb - (k_sanitized ? base.max_rss_kb : 0) < k_memory_limit_kb);
    }
    std::filesystem::remove(dir.file("hostile.db"));
    ++configs;
  }
  CHECK(configs >= 30);
}

TEST_CASE("render zone -o records nothing when a zone file cannot be written", "[hostile][cli][render]") {
  TempDir dir("render-fail");
  write_file(dir.file("stsctl.yaml"), k_simple);
  std::filesystem::create_directories(dir.file("zones/example.net.zone"));  // a directory where the file goes
  auto result = run_stsctl({"-c", dir.file("stsctl.yaml"), "--state", dir.file("s.db"), "render", "zone",
                            "-o", dir.file("zones")});
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.err, Catch::Contains("render zone: ") && Catch::Contains("example.net.zone"));
  StateStore state(dir.file("s.db"));
  CHECK(state.all_domains().empty());
}

TEST_CASE("render zone takes the state lock before deciding ids", "[hostile][cli][render]") {
  TempDir dir("render-lock");
  write_file(dir.file("stsctl.yaml"), k_simple);
  const std::string db = dir.file("s.db");
  CommandResult result;
  {
    StateLock lock(db);
    std::thread render([&] {
      result = run_stsctl({"-c", dir.file("stsctl.yaml"), "--state", db, "render", "zone"});
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    {
      auto state = StateStore::open_for_reading(db);
      CHECK(state->all_domains().empty());  // still waiting for the lock
    }
    render.detach();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int i = 0; i < 300 && result.exit_code == -1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(result.exit_code == 0);
  StateStore state(db);
  CHECK(state.all_domains().size() == 1);
}

TEST_CASE("--now and --deadline are checked for every command", "[hostile][cli]") {
  TempDir dir("now");
  write_file(dir.file("stsctl.yaml"), k_simple);
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"validate"}, std::vector<std::string>{"status"},
        std::vector<std::string>{"render", "zone"}, std::vector<std::string>{"render", "policy"},
        std::vector<std::string>{"plan"}}) {
    std::vector<std::string> args{"-c",     dir.file("stsctl.yaml"), "--state", dir.file("s.db"), "--now",
                                  "garbage"};
    args.insert(args.end(), command.begin(), command.end());
    auto result = run_stsctl(args);
    INFO(command.front());
    CHECK(result.exit_code == 1);
    CHECK(result.err == "stsctl: --now: 'garbage' is not an RFC 3339 time (like 2026-11-22T15:00:00Z)\n");
  }
  auto result = run_stsctl({"-c", dir.file("stsctl.yaml"), "--deadline", "soon", "validate"});
  CHECK(result.exit_code == 1);
  CHECK(result.err ==
        "stsctl: --deadline: 'soon' is not a duration (a positive whole number and a unit s, m or h, like "
        "90s or "
        "5m)\n");
}

TEST_CASE("validate decodes a TSIG secret file", "[hostile][cli]") {
  TempDir dir("tsig");
  write_file(dir.file("tsig.secret"), "this is not base64!\n");
  write_file(dir.file("stsctl.yaml"),
             "version: 1\ndefaults:\n  policy_host: {ipv4: [192.0.2.40]}\n  provider: bind\nproviders:\n"
             "  bind: {type: rfc2136, server: 127.0.0.1:53, tsig: {name: k, secret_file: tsig.secret}}\n"
             "domains:\n  example.net: {mx: [mail.example.net]}\n");
  auto result = run_stsctl({"-c", dir.file("stsctl.yaml"), "validate"});
  CHECK(result.exit_code == 1);
  CHECK(result.err ==
        dir.file("stsctl.yaml") + ":6:76: providers.bind.tsig.secret_file: the TSIG secret in '" +
            dir.file("tsig.secret") +
            "' is not base64 (it should hold the secret line of tsig-keygen's output)\n1 error in " +
            dir.file("stsctl.yaml") + "; nothing was changed\n");
  CHECK(result.err.find("this is not") == std::string::npos);
  write_file(dir.file("tsig.secret"), "c2VjcmV0LXRzaWcta2V5LTEyMw==\n");
  CHECK(run_stsctl({"-c", dir.file("stsctl.yaml"), "validate"}).exit_code == 0);
}

TEST_CASE("no command prints a secret, even when servers echo the request", "[hostile][cli][secrets]") {
  const std::string secret = "c3RzY3RsLXRlc3Qtc2VjcmV0LWtleS0wMDE";
  TempDir dir("secrets");
  FaultServer echo500(FaultServer::Mode::Echo, 500);
  FaultServer echo401(FaultServer::Mode::Echo, 401);
  FaultServer echo400(FaultServer::Mode::Echo, 400);
  PdnsServer pdns;
  std::string zone = PdnsServer::unique_zone("sec");
  pdns.create_zone(zone, {{"@", "MX", {"10 mail." + zone + "."}}});
  write_file(dir.file("key"), secret + "\n");
  size_t runs = 0;
  auto config_for = [&](const std::string& url, const std::string& key_line) {
    return "version: 1\ndefaults:\n  policy_host: {ipv4: [192.0.2.40]}\n  provider: p\nproviders:\n"
           "  p: {type: powerdns, url: \"" +
           url + "\", " + key_line + ", timeout: 2}\ndomains:\n  " + zone + ": {mx: [mail." + zone + "]}\n";
  };
  std::vector<std::pair<std::string, std::string>> setups = {
      {"echo 500, key file", config_for(echo500.url(), "api_key_file: key")},
      {"echo 401, key env", config_for(echo401.url(), "api_key_env: STSCTL_SECRET_TEST")},
      {"echo 400, key file", config_for(echo400.url(), "api_key_file: key")},
      {"refused", config_for("http://127.0.0.1:1", "api_key_file: key")},
      {"real PowerDNS, wrong key", config_for(pdns.api_url(), "api_key_file: key")},
  };
  const std::vector<std::vector<std::string>> commands = {
      {"validate"}, {"status"},         {"render", "zone"},      {"render", "policy"},
      {"plan"},     {"apply", "--yes"}, {"promote", "--dry-run"}};
  for (const auto& [name, config] : setups) {
    write_file(dir.file("stsctl.yaml"), config);
    for (const auto& command : commands) {
      for (const std::vector<std::string>& flags :
           {std::vector<std::string>{}, std::vector<std::string>{"-v"}, std::vector<std::string>{"-v", "-v"},
            std::vector<std::string>{"--json", "-v", "-v"}}) {
        std::vector<std::string> args{"-c", dir.file("stsctl.yaml"), "--state", dir.file("s.db")};
        args.insert(args.end(), flags.begin(), flags.end());
        args.insert(args.end(), command.begin(), command.end());
        auto result = run_stsctl(args, "", {{"STSCTL_SECRET_TEST", secret}});
        INFO(name << ": " << command.front() << " " << flags.size() << " flags, exit " << result.exit_code
                  << "\n"
                  << result.out.substr(0, 1000) << result.err.substr(0, 2000));
        CHECK(result.out.find(secret) == std::string::npos);
        CHECK(result.err.find(secret) == std::string::npos);
        ++runs;
      }
    }
  }
  // The success path: the real server with the right key.
  write_file(dir.file("pdns.key"), pdns.api_key() + "\n");
  write_file(dir.file("stsctl.yaml"), config_for(pdns.api_url(), "api_key_file: pdns.key"));
  for (const auto& command : commands) {
    for (const std::vector<std::string>& flags :
         {std::vector<std::string>{"-v", "-v"}, std::vector<std::string>{"--json", "-v"}}) {
      std::vector<std::string> args{"-c", dir.file("stsctl.yaml"), "--state", dir.file("ok.db")};
      args.insert(args.end(), flags.begin(), flags.end());
      args.insert(args.end(), command.begin(), command.end());
      auto result = run_stsctl(args);
      INFO(command.front() << "\n" << result.err.substr(0, 2000));
      CHECK(result.out.find(pdns.api_key()) == std::string::npos);
      CHECK(result.err.find(pdns.api_key()) == std::string::npos);
      ++runs;
    }
  }
  CHECK(runs >= 140);
}

TEST_CASE("a refused provider gives one grouped error line, not one per zone", "[hostile][cli]") {
  TempDir dir("grouped");
  std::string config =
      "version: 1\ndefaults:\n  policy_host: {ipv4: [192.0.2.40]}\n  provider: p\nproviders:\n"
      "  p: {type: powerdns, url: \"http://127.0.0.1:1\", api_key_env: STSCTL_GROUP_KEY}\ndomains:\n";
  for (int i = 0; i < 40; ++i) {
    config += "  d" + std::to_string(i) + ".example: {mx: [mail.example.net]}\n";
  }
  write_file(dir.file("stsctl.yaml"), config);
  auto result = run_stsctl({"-c", dir.file("stsctl.yaml"), "--state", dir.file("s.db"), "plan"}, "",
                           {{"STSCTL_GROUP_KEY", "group-test-key"}});
  std::string all = result.out + result.err;
  INFO(all);
  CHECK(result.exit_code == 1);
  size_t lines = 0;
  for (size_t at = all.find("error: "); at != std::string::npos; at = all.find("error: ", at + 1)) {
    ++lines;
  }
  CHECK(lines == 1);
  CHECK_THAT(all, Catch::Contains("(the same for 39 more zones: "));
}
