#pragma once
// Test helpers: temporary directories, files, free loopback ports, child
// processes (stopped by PID), and running the stsctl binary.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace stsctl::test {

/// A fresh directory under the build tree's tests/tmp, removed on destruction
/// unless STSCTL_KEEP_TMP is set.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "t");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return m_path; }
  std::string file(const std::string& relative) const { return m_path + "/" + relative; }

 private:
  std::string m_path;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
/// How many entries a directory holds (without "." and "..").
size_t entries_in(const std::string& dir);

/// The non-empty lines of `text` (a command's output), in order.
std::vector<std::string> non_empty_lines(const std::string& text);

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
/// Also free for UDP when `also_udp`.
int free_port(bool also_udp = false);

/// Waits until a TCP connect to 127.0.0.1:port succeeds; false on timeout.
bool wait_for_port(int port, double timeout_seconds = 20);

/// A child process started with execvp; stdout/stderr go to `log_path`.
/// Stopped (SIGTERM, then SIGKILL after 5 s) by PID on destruction.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::map<std::string, std::string>& extra_env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  pid_t pid() const { return m_pid; }
  bool running();
  void stop();

 private:
  pid_t m_pid = -1;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs a command, feeding `stdin_text` (stdin is a pipe, never a terminal).
CommandResult run_command(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                          const std::map<std::string, std::string>& extra_env = {});

/// Runs the built stsctl binary with `args`.
CommandResult run_stsctl(const std::vector<std::string>& args, const std::string& stdin_text = "",
                         const std::map<std::string, std::string>& extra_env = {});

/// Path of a file in the source tree, e.g. source_path("examples/quickstart/stsctl.yaml").
std::string source_path(const std::string& relative);

/// `text` with every `from` replaced by `to` (config templates in tests).
std::string replace_all(std::string text, const std::string& from, const std::string& to);

/// The id of the first "v=STSv1; id=..." among TXT answers; "" when none.
std::string sts_id(const std::vector<std::string>& txt_answers);

/// True when an executable is on PATH (or at an absolute path).
bool have_program(const std::string& name);

}  // namespace stsctl::test
