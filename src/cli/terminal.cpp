#include "cli/terminal.h"

#include "cli/context.h"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace stsctl {

void add_terminal_options(CLI::App& app, GlobalOptions& options) {
  app.add_flag("--no-color", options.no_color, "No colour in output (also when NO_COLOR is set)");
  app.add_flag("-q,--quiet", options.quiet, "Only errors and warnings on stderr; no progress line");
}

bool use_color(const GlobalOptions& options, int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  return isatty(fd) != 0 && !options.no_color && (no_color == nullptr || *no_color == '\0');
}

std::string format_progress(const std::string& label, size_t done, size_t total, double elapsed_seconds) {
  std::string out = label + ": " + std::to_string(done) + "/" + std::to_string(total);
  if (done > 0 && elapsed_seconds > 0) {
    double rate = static_cast<double>(done) / elapsed_seconds;
    char text[64];
    std::snprintf(text, sizeof text, ", %.1f/s", rate);
    out += text;
    if (done < total) {
      long long left = std::llround(static_cast<double>(total - done) / rate);
      out += ", " + std::to_string(left) + "s left";
    }
  }
  return out;
}

ProgressLine::ProgressLine(const GlobalOptions& options)
    : m_enabled(!options.quiet && isatty(STDERR_FILENO) != 0),
      m_start(std::chrono::steady_clock::now()),
      m_last(m_start) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(const std::string& label, size_t done, size_t total) {
  if (!m_enabled) {
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (now - m_start < std::chrono::seconds(1) || (m_shown && now - m_last < std::chrono::milliseconds(100))) {
    return;
  }
  m_last = now;
  double elapsed = std::chrono::duration<double>(now - m_start).count();
  std::cerr << "\r\033[K" << format_progress(label, done, total, elapsed) << std::flush;
  m_shown = true;
}

void ProgressLine::finish() {
  if (m_shown) {
    std::cerr << "\r\033[K" << std::flush;
    m_shown = false;
  }
}

/// A cell on one line: control characters (a newline in a gate note) become spaces.
std::string single_line(std::string text) {
  for (auto& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  return text;
}

/// Columns as wide as their widest cell plus two spaces, so no content runs
/// into the next column. A row with two cells is a name and a note that
/// spans the rest of the line (and does not widen the columns).
std::string format_columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (row.size() <= 2 && &row != &rows.front()) {
      widths.resize(std::max<size_t>(widths.size(), 1));
      widths[0] = std::max(widths[0], row[0].size());
      continue;
    }
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace stsctl
