#pragma once
// Terminal conventions: colour only on a terminal and never with NO_COLOR set
// (https://no-color.org) or --no-color; -q/--quiet; a progress line on stderr
// (done/total, rate, time left) for runs longer than a second on a terminal.

#include <chrono>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace stsctl {

struct GlobalOptions;

/// Adds --no-color and -q/--quiet to the program's global options.
void add_terminal_options(CLI::App& app, GlobalOptions& options);

/// True when output to `fd` may be coloured: a terminal, NO_COLOR unset or
/// empty, and no --no-color.
bool use_color(const GlobalOptions& options, int fd);

/// "label: 120/1000, 40.0/s, 22s left" (rate and time left once done > 0).
std::string format_progress(const std::string& label, size_t done, size_t total, double elapsed_seconds);

/// A line on stderr rewritten in place. Shown only on a terminal, without
/// --quiet, once a second has passed since construction, at most 10 times a
/// second; cleared by finish() or destruction.
/// `text` on one line: control characters (a newline in a note) become spaces.
std::string single_line(std::string text);

/// A table whose columns are as wide as their widest cell plus two spaces, so
/// no content runs into the next column. A row of two cells is a name and a
/// note spanning the rest of the line. Lines end without trailing spaces.
std::string format_columns(const std::vector<std::vector<std::string>>& rows);

class ProgressLine {
 public:
  explicit ProgressLine(const GlobalOptions& options);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  void update(const std::string& label, size_t done, size_t total);
  void finish();

 private:
  bool m_enabled;
  bool m_shown = false;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last;
};

}  // namespace stsctl
