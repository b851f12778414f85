// Output of `check`: the human table, JSON and the exit code.
#include "check/checker.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ostream>
#include <sstream>

namespace stsctl {

CheckStatus DomainReport::worst() const {
  CheckStatus worst = CheckStatus::Pass;
  for (const auto& f : findings) {
    if (f.status == CheckStatus::Fail) {
      return CheckStatus::Fail;
    }
    if (f.status == CheckStatus::Warn) {
      worst = CheckStatus::Warn;
    }
  }
  return worst;
}

int check_exit_code(const CheckReport& report) {
  for (const auto& d : report.domains) {
    if (d.worst() == CheckStatus::Fail) {
      return 2;
    }
  }
  return 0;
}

std::string format_check_table(const CheckReport& report, bool color) {
  auto paint = [color](CheckStatus s, const std::string& text) {
    if (!color) {
      return text;
    }
    const char* code = s == CheckStatus::Pass ? "\033[32m" : s == CheckStatus::Warn ? "\033[33m" : "\033[31m";
    return std::string(code) + text + "\033[0m";
  };
  auto label = [](CheckStatus s) {
    return s == CheckStatus::Pass ? std::string("PASS") : s == CheckStatus::Warn ? "WARN" : "FAIL";
  };
  size_t width = 0;
  for (const auto& d : report.domains) {
    for (const auto& f : d.findings) {
      width = std::max(width, f.check_name.size());
    }
  }
  std::ostringstream out;
  int counts[3] = {0, 0, 0};
  for (const auto& d : report.domains) {
    CheckStatus worst = d.worst();
    ++counts[static_cast<int>(worst)];
    out << (color ? "\033[1m" : "") << d.domain << (color ? "\033[0m" : "") << "  "
        << paint(worst, label(worst)) << "\n";
    for (const auto& f : d.findings) {
      out << "  " << paint(f.status, label(f.status)) << "  " << f.check_name
          << std::string(width - f.check_name.size() + 2, ' ') << f.message << "\n";
      if (!f.fix_hint.empty()) {
        out << "        " << std::string(width + 2, ' ') << "fix: " << f.fix_hint << "\n";
      }
    }
    out << "\n";
  }
  out << report.domains.size() << " domain(s): " << counts[0] << " pass, " << counts[1] << " warn, "
      << counts[2] << " fail\n";
  return out.str();
}

void write_check_report_json(const CheckReport& report, std::ostream& out) {
  // Written a domain at a time, as nlohmann's dump(2) of the whole document
  // would print it: a tree of 10,000 domains' findings held at once (and
  // copied into its parent) cost hundreds of megabytes.
  int counts[3] = {0, 0, 0};
  out << "{\n  \"domains\": [";
  for (size_t i = 0; i < report.domains.size(); ++i) {
    const DomainReport& d = report.domains[i];
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : d.findings) {
      findings.push_back({{"check", f.check_name},
                          {"status", to_string(f.status)},
                          {"message", f.message},
                          {"fix", f.fix_hint}});
    }
    CheckStatus worst = d.worst();
    ++counts[static_cast<int>(worst)];
    nlohmann::json domain = {
        {"domain", d.domain}, {"status", to_string(worst)}, {"findings", std::move(findings)}};
    std::string text = domain.dump(2);
    out << (i == 0 ? "\n    " : ",\n    ");
    size_t from = 0;
    for (size_t newline = text.find('\n'); newline != std::string::npos; newline = text.find('\n', from)) {
      out.write(text.data() + from, static_cast<std::streamsize>(newline + 1 - from));
      out << "    ";
      from = newline + 1;
    }
    out.write(text.data() + from, static_cast<std::streamsize>(text.size() - from));
  }
  out << (report.domains.empty() ? "],\n" : "\n  ],\n");
  out << "  \"exit_code\": " << check_exit_code(report)
      << ",\n  \"summary\": {\n    \"domains\": " << report.domains.size() << ",\n    \"fail\": " << counts[2]
      << ",\n    \"pass\": " << counts[0] << ",\n    \"warn\": " << counts[1] << "\n  }\n}\n";
}

std::string check_report_json(const CheckReport& report) {
  std::ostringstream out;
  write_check_report_json(report, out);
  return out.str();
}

}  // namespace stsctl
