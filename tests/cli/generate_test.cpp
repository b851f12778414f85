// Man pages, completions and the README's config reference are generated
// from the command tree and the config reference; these tests check that the
// results are well-formed and complete.
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "config/reference.h"
#include "support/support.h"

using namespace stsctl;
using stsctl::test::run_command;
using stsctl::test::run_stsctl;
using stsctl::test::TempDir;

namespace {

std::string generated(const std::vector<std::string>& args) {
  auto result = run_stsctl(args);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.err.empty());
  return result.out;
}

/// roff escapes '-' in option names as "\-".
std::string roff_option(const std::string& name) { return test::replace_all(name, "-", "\\-"); }

/// Every --long option and -s short option that `stsctl ARGS --help` lists.
std::set<std::string> help_options(std::vector<std::string> args) {
  args.push_back("--help");
  auto result = run_stsctl(args);
  REQUIRE(result.exit_code == 0);
  std::set<std::string> names;
  std::regex option(R"((^|[\s,])(--?[a-z][a-z-]*))");
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("  -", 0) != 0) {
      continue;  // option lines start with two spaces and a dash
    }
    std::string head = line.substr(0, line.find("  ", 2));
    for (std::sregex_iterator it(head.begin(), head.end(), option), end; it != end; ++it) {
      names.insert((*it)[2]);
    }
  }
  return names;
}

std::string bash_completions(const std::string& script_path, const std::string& words) {
  // An interactive shell, as a user's: the completion file is sourced and the
  // function run for the words typed so far (the last one being completed).
  std::string script = "source " + script_path + "\n" + "COMP_WORDS=(" + words + ")\n" +
                       "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n" +
                       "_stsctl\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
  std::string build_dir = STSCTL_BINARY;
  build_dir = build_dir.substr(0, build_dir.rfind('/'));
  auto result = run_command({"bash", "--norc", "-i", "-c", script}, "",
                            {{"PATH", build_dir + ":" + std::string(std::getenv("PATH"))}});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return result.out;
}

/// Three domains (one an alias) whose names completion offers.
std::string write_completion_config(TempDir& dir) {
  std::string config = dir.file("stsctl.yaml");
  test::write_file(config,
                   "version: 1\n"
                   "defaults: {policy_host: {ipv4: [192.0.2.1]}}\n"
                   "domains:\n"
                   "  example.net: {mx: [mail.example.net]}\n"
                   "  example.org: {alias_of: example.net}\n"
                   "  other.example: {mx: [mail.example.net]}\n");
  return config;
}

}  // namespace

TEST_CASE("man pages render with groff -ww without a warning") {
  REQUIRE(test::have_program("groff"));
  TempDir dir("man");
  for (const std::string page : {"stsctl", "stsctl.yaml"}) {
    std::string path = dir.file(page + ".man");
    test::write_file(path, generated({"__manpage", page}));
    auto result = run_command({"groff", "-ww", "-man", "-Tutf8", "-z", path});
    INFO(page << ": " << result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.err.empty());
    // man itself, as an operator would read it.
    auto man = run_command({"man", "-l", "-Tutf8", path}, "", {{"MANWIDTH", "80"}});
    CHECK(man.exit_code == 0);
    CHECK(man.err.empty());
    CHECK(man.out.find("YAML") != std::string::npos);
  }
}

TEST_CASE("stsctl(1) documents every command and every option --help shows") {
  std::string page = generated({"__manpage", "stsctl"});
  const std::vector<std::vector<std::string>> commands = {
      {},       {"validate"}, {"render", "zone"}, {"render", "policy"}, {"render", "web"}, {"render", "acme"},
      {"plan"}, {"apply"},    {"promote"},        {"status"},           {"check"},         {"init"}};
  for (const auto& command : commands) {
    std::string name = "stsctl";
    for (const auto& word : command) {
      name += " " + word;
    }
    INFO(name);
    if (!command.empty()) {
      CHECK(page.find(".SS \"" + name) != std::string::npos);
    }
    for (const auto& option : help_options(command)) {
      INFO(option);
      CHECK(page.find("\\fB" + roff_option(option) + "\\fR") != std::string::npos);
    }
  }
  for (const std::string section : {".SH EXIT STATUS", ".SH FILES", ".SH ENVIRONMENT", ".SH EXAMPLES"}) {
    CHECK(page.find(section) != std::string::npos);
  }
}

TEST_CASE("stsctl.yaml(5) documents every config key with its default and allowed values") {
  std::string page = generated({"__manpage", "stsctl.yaml"});
  for (const auto& key : config_reference()) {
    INFO(key.path);
    CHECK(page.find("\\fB" + key.path + "\\fR (" + key.type) != std::string::npos);
  }
}

TEST_CASE("the README's config reference is the generated one") {
  std::string readme = test::read_file(test::source_path("README.md"));
  std::string table = generated({"__reference"});
  CHECK(readme.find(table) != std::string::npos);
}

TEST_CASE("bash completion completes commands, options, values and configured domains") {
  REQUIRE(test::have_program("bash"));
  TempDir dir("completion");
  std::string script = dir.file("stsctl.bash");
  test::write_file(script, generated({"__completion", "bash"}));
  std::string config = write_completion_config(dir);

  CHECK(bash_completions(script, "stsctl ''") ==
        "validate\nrender\nplan\napply\npromote\nstatus\ncheck\ninit\nreport\nstate\n");
  CHECK(bash_completions(script, "stsctl re") == "render\nreport\n");
  CHECK(bash_completions(script, "stsctl render ''") == "zone\npolicy\nweb\nacme\n");
  CHECK(bash_completions(script, "stsctl render web --server ''") == "nginx\napache\nopenbsd-httpd\ncaddy\n");
  CHECK(bash_completions(script, "stsctl plan --format m") == "markdown\n");
  CHECK(bash_completions(script, "stsctl plan --det") == "--detailed-exitcode\n");
  CHECK(bash_completions(script, "stsctl check --no") == "--no-smtp\n--now\n--no-color\n");
  CHECK(bash_completions(script, "stsctl -c " + config + " check ''") ==
        "example.net\nexample.org\nother.example\n");
  CHECK(bash_completions(script, "stsctl --config " + config + " check ex") == "example.net\nexample.org\n");
  CHECK(bash_completions(script, "stsctl -c " + config + " promote --domain o") == "other.example\n");
}

TEST_CASE("zsh completion, driven through zsh's line editor, completes commands, values and domains") {
  REQUIRE(test::have_program("zsh"));
  TempDir dir("completion");
  test::write_file(dir.file("_stsctl"), generated({"__completion", "zsh"}));
  std::string config = write_completion_config(dir);
  std::string build_dir = STSCTL_BINARY;
  build_dir = build_dir.substr(0, build_dir.rfind('/'));
  const std::vector<std::string> lines = {"stsctl re", "stsctl render web --server ", "stsctl plan --format ",
                                          "stsctl -c " + config + " check ",
                                          "stsctl -c " + config + " promote --domain o"};
  std::vector<std::string> argv = {"zsh", "-f", test::source_path("tests/cli/zsh_complete.zsh"), dir.path()};
  argv.insert(argv.end(), lines.begin(), lines.end());
  auto result = run_command(argv, "", {{"PATH", build_dir + ":" + std::string(std::getenv("PATH"))}});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out == "== " + lines[0] + "\nrender\nreport\n" + "== " + lines[1] +
                          "\napache\ncaddy\nnginx\nopenbsd-httpd\n" + "== " + lines[2] +
                          "\njson\nmarkdown\ntext\n" + "== " + lines[3] +
                          "\nexample.net\nexample.org\nother.example\n" + "== " + lines[4] +
                          "\nother.example\n");
}

TEST_CASE("zsh and fish completions parse, and fish completes like bash") {
  TempDir dir("completion");
  std::string zsh = dir.file("_stsctl");
  std::string fish = dir.file("stsctl.fish");
  test::write_file(zsh, generated({"__completion", "zsh"}));
  test::write_file(fish, generated({"__completion", "fish"}));
  REQUIRE(test::have_program("zsh"));
  REQUIRE(test::have_program("fish"));
  CHECK(run_command({"zsh", "-n", zsh}).exit_code == 0);
  auto loaded =
      run_command({"zsh", "-c", "autoload -U compinit; compinit -u -D; source " + zsh + "; echo ok"});
  CHECK(loaded.out == "ok\n");
  CHECK(run_command({"fish", "-n", fish}).exit_code == 0);
  auto result =
      run_command({"fish", "-c", "source " + fish + "; complete -C 'stsctl plan --format ' | cut -f1"});
  CHECK(result.out == "json\nmarkdown\ntext\n");
}
