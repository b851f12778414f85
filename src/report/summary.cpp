#include "report/summary.h"

#include "report/report.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace stsctl {

namespace {

std::string trimmed_number(double value, const char* format) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  std::string text = buffer;
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') {
      text.pop_back();
    }
    if (text.back() == '.') {
      text.pop_back();
    }
  }
  return text;
}

/// A configured threshold keeps its precision: 0.0025 is "0.25%".
std::string format_threshold(double rate) { return trimmed_number(rate * 100, "%.4f") + "%"; }

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) {
    out += (out.empty() ? "" : separator) + item;
  }
  return out;
}

std::string failures_text(const std::map<std::string, uint64_t>& failures) {
  std::vector<std::string> parts;
  for (const auto& [type, count] : failures) {
    parts.push_back(type + " " + std::to_string(count));
  }
  return parts.empty() ? "-" : join(parts, ", ");
}

/// Daily stacked bars: successful (green) below failed (red), both to scale;
/// a day with failures always shows at least a sliver of red.
std::string chart_svg(const ReportSummary& summary) {
  const int width = 760;
  const int height = 220;
  const int left = 60;
  const int bottom = 40;
  const int top = 20;
  const int plot_height = height - bottom - top;
  uint64_t peak = 1;
  for (const auto& day : summary.days) {
    peak = std::max(peak, day.successful_sessions + day.failed_sessions);
  }
  size_t count = std::max<size_t>(summary.days.size(), 1);
  double slot = static_cast<double>(width - left - 10) / static_cast<double>(count);
  double bar = std::min(40.0, std::max(2.0, slot * 0.7));
  std::ostringstream svg;
  svg << std::fixed << std::setprecision(1);
  svg << "<svg id=\"chart-" << html_escape(summary.domain)
      << "\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\""
      << " width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " " << height
      << "\" role=\"img\" aria-label=\"Daily TLS sessions for " << html_escape(summary.domain) << "\">\n";
  svg << "<title>Daily successful and failed TLS sessions for " << html_escape(summary.domain)
      << "</title>\n";
  svg << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << height - bottom
      << "\" stroke=\"#555\"/>\n";
  svg << "<line x1=\"" << left << "\" y1=\"" << height - bottom << "\" x2=\"" << width - 5 << "\" y2=\""
      << height - bottom << "\" stroke=\"#555\"/>\n";
  svg << "<text x=\"" << left - 6 << "\" y=\"" << top + 4 << "\" text-anchor=\"end\" font-size=\"11\">"
      << peak << "</text>\n";
  svg << "<text x=\"" << left - 6 << "\" y=\"" << height - bottom
      << "\" text-anchor=\"end\" font-size=\"11\">0</text>\n";
  size_t label_every = std::max<size_t>(1, summary.days.size() / 10);
  for (size_t i = 0; i < summary.days.size(); ++i) {
    const DaySummary& day = summary.days[i];
    double x = left + 5 + slot * static_cast<double>(i);
    double ok_h = plot_height * static_cast<double>(day.successful_sessions) / static_cast<double>(peak);
    double fail_h = plot_height * static_cast<double>(day.failed_sessions) / static_cast<double>(peak);
    if (day.failed_sessions > 0) {
      fail_h = std::max(fail_h, 2.0);
    }
    double base = height - bottom;
    svg << "<rect class=\"ok\" x=\"" << x << "\" y=\"" << base - ok_h << "\" width=\"" << bar
        << "\" height=\"" << ok_h << "\" fill=\"#2e7d32\"><title>" << day.date << ": "
        << day.successful_sessions << " successful</title></rect>\n";
    svg << "<rect class=\"failed\" x=\"" << x << "\" y=\"" << base - ok_h - fail_h << "\" width=\"" << bar
        << "\" height=\"" << fail_h << "\" fill=\"#c62828\"><title>" << day.date << ": "
        << day.failed_sessions << " failed</title></rect>\n";
    if (i % label_every == 0) {
      svg << "<text x=\"" << x + bar / 2 << "\" y=\"" << height - bottom + 14
          << "\" text-anchor=\"middle\" font-size=\"10\">" << day.date.substr(5) << "</text>\n";
    }
  }
  if (summary.days.empty()) {
    svg << "<text x=\"" << width / 2 << "\" y=\"" << height / 2
        << "\" text-anchor=\"middle\">no reports</text>\n";
  }
  svg << "<rect x=\"" << left + 10 << "\" y=\"" << height - 16
      << "\" width=\"10\" height=\"10\" fill=\"#2e7d32\"/>"
      << "<text x=\"" << left + 24 << "\" y=\"" << height - 7 << "\" font-size=\"11\">successful</text>"
      << "<rect x=\"" << left + 110 << "\" y=\"" << height - 16
      << "\" width=\"10\" height=\"10\" fill=\"#c62828\"/>"
      << "<text x=\"" << left + 124 << "\" y=\"" << height - 7 << "\" font-size=\"11\">failed</text>\n";
  svg << "</svg>";
  return svg.str();
}

}  // namespace

double ReportSummary::failure_rate() const {
  uint64_t all = sessions();
  return all == 0 ? 0.0 : static_cast<double>(failed_sessions) / static_cast<double>(all);
}

ReportSummary merge_summaries(const std::string& domain, const std::vector<ReportSummary>& parts) {
  ReportSummary out;
  out.domain = domain;
  std::map<std::string, DaySummary> days;
  for (const auto& part : parts) {
    out.reports += part.reports;
    out.successful_sessions += part.successful_sessions;
    out.failed_sessions += part.failed_sessions;
    for (const auto& [type, sessions] : part.failures) {
      out.failures[type] += sessions;
    }
    out.senders.insert(out.senders.end(), part.senders.begin(), part.senders.end());
    out.policy_strings.insert(out.policy_strings.end(), part.policy_strings.begin(),
                              part.policy_strings.end());
    for (const auto& day : part.days) {
      DaySummary& merged = days[day.date];
      merged.date = day.date;
      merged.reports += day.reports;
      merged.successful_sessions += day.successful_sessions;
      merged.failed_sessions += day.failed_sessions;
      for (const auto& [type, sessions] : day.failures) {
        merged.failures[type] += sessions;
      }
    }
  }
  for (auto* list : {&out.senders, &out.policy_strings}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  for (auto& [date, day] : days) {
    out.days.push_back(std::move(day));
  }
  return out;
}

std::string format_percent(double rate) { return trimmed_number(rate * 100, "%.1f") + "%"; }

std::optional<std::string> tlsrpt_gate_failure(const ReportSummary& summary, const TlsrptGate& gate,
                                               const std::string& published_policy_text) {
  uint64_t sessions = summary.sessions();
  if (sessions < gate.min_sessions) {
    return "TLS-RPT reports cover " + std::to_string(sessions) + " session" + (sessions == 1 ? "" : "s") +
           " in this stage (" + std::to_string(summary.reports) + " report" +
           (summary.reports == 1 ? "" : "s") + "), fewer than the " + std::to_string(gate.min_sessions) +
           " required; ingest more reports (report ingest, report fetch) or wait";
  }
  // Compared without rounding: failed / sessions > max_failure_rate.
  if (static_cast<double>(summary.failed_sessions) > gate.max_failure_rate * static_cast<double>(sessions)) {
    return "TLS-RPT failure rate " + format_percent(summary.failure_rate()) + " (" +
           std::to_string(summary.failed_sessions) + " of " + std::to_string(sessions) +
           " sessions) is above " + format_threshold(gate.max_failure_rate);
  }
  if (!summary.policy_strings.empty()) {
    std::string published = normalise_policy_text(published_policy_text);
    if (std::find(summary.policy_strings.begin(), summary.policy_strings.end(), published) ==
        summary.policy_strings.end()) {
      return "TLS-RPT reports in this stage show " + std::to_string(summary.policy_strings.size()) +
             " policy-string" + (summary.policy_strings.size() == 1 ? "" : "s") +
             " and none is the policy published now; senders have not seen it yet";
    }
  }
  return std::nullopt;
}

std::string dump_spaced(const nlohmann::ordered_json& value) {
  if (value.is_object()) {
    std::string out = "{";
    bool first = true;
    for (auto it = value.begin(); it != value.end(); ++it) {
      out += (first ? "" : ", ") + nlohmann::ordered_json(it.key()).dump() + ": " + dump_spaced(it.value());
      first = false;
    }
    return out + "}";
  }
  if (value.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < value.size(); ++i) {
      out += (i == 0 ? "" : ", ") + dump_spaced(value[i]);
    }
    return out + "]";
  }
  return value.dump();
}

nlohmann::ordered_json summary_to_json(const ReportSummary& summary, bool with_days) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["domain"] = summary.domain;
  out["reports"] = summary.reports;
  out["successful_sessions"] = summary.successful_sessions;
  out["failed_sessions"] = summary.failed_sessions;
  out["failures"] = nlohmann::ordered_json(summary.failures);
  out["senders"] = summary.senders;
  if (with_days) {
    nlohmann::ordered_json days = nlohmann::ordered_json::array();
    for (const auto& day : summary.days) {
      nlohmann::ordered_json row = nlohmann::ordered_json::object();
      row["date"] = day.date;
      row["reports"] = day.reports;
      row["successful_sessions"] = day.successful_sessions;
      row["failed_sessions"] = day.failed_sessions;
      row["failures"] = nlohmann::ordered_json(day.failures);
      days.push_back(row);
    }
    out["days"] = days;
  }
  return out;
}

std::string format_summary_text(const std::vector<ReportSummary>& summaries, bool with_days) {
  if (summaries.empty()) {
    return "no TLS-RPT reports stored (for this selection)\n";
  }
  std::ostringstream out;
  out << std::left << std::setw(28) << "DOMAIN" << std::setw(9) << "REPORTS" << std::setw(12) << "SUCCESSFUL"
      << std::setw(8) << "FAILED" << std::setw(8) << "RATE"
      << "FAILURES\n";
  for (const auto& summary : summaries) {
    out << std::setw(28) << (summary.domain.empty() ? "(no policy domain)" : summary.domain) << std::setw(9)
        << summary.reports << std::setw(12) << summary.successful_sessions << std::setw(8)
        << summary.failed_sessions << std::setw(8) << format_percent(summary.failure_rate())
        << failures_text(summary.failures) << "\n";
    out << "  senders: " << join(summary.senders, ", ") << "\n";
    if (with_days) {
      for (const auto& day : summary.days) {
        out << "  " << std::setw(26) << day.date << std::setw(9) << day.reports << std::setw(12)
            << day.successful_sessions << std::setw(8) << day.failed_sessions << std::setw(8)
            << format_percent(day.successful_sessions + day.failed_sessions == 0
                                  ? 0.0
                                  : static_cast<double>(day.failed_sessions) /
                                        static_cast<double>(day.successful_sessions + day.failed_sessions))
            << failures_text(day.failures) << "\n";
      }
    }
  }
  return out.str();
}

std::string render_report_html(const std::vector<ReportSummary>& summaries,
                               const std::map<std::string, DomainRollout>& rollout,
                               const std::string& generated_at) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<title>TLS-RPT reports</title>\n<style>\n"
       << "body{font-family:sans-serif;margin:2em;color:#222;background:#fff}\n"
       << "section{border-top:1px solid #ccc;padding:1em 0}\n"
       << "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left}\n"
       << ".rate-bad{color:#c62828;font-weight:bold}\n"
       << "</style>\n</head>\n<body>\n<h1>TLS-RPT reports</h1>\n<p>Generated " << html_escape(generated_at)
       << " by stsctl.</p>\n";
  if (summaries.empty()) {
    html << "<p>No reports stored.</p>\n";
  }
  for (const auto& summary : summaries) {
    std::string name = summary.domain.empty() ? "(no policy domain)" : summary.domain;
    html << "<section class=\"domain\" id=\"domain-" << html_escape(summary.domain) << "\">\n<h2>"
         << html_escape(name) << "</h2>\n<table>\n";
    auto it = rollout.find(summary.domain);
    html << "<tr><th>Rollout stage</th><td class=\"stage\">"
         << html_escape(it == rollout.end() || it->second.stage.empty() ? "-" : it->second.stage)
         << "</td></tr>\n";
    html << "<tr><th>Next promotion</th><td class=\"next-promotion\">"
         << html_escape(it == rollout.end() || it->second.next_promotion.empty() ? "-"
                                                                                 : it->second.next_promotion)
         << "</td></tr>\n";
    html << "<tr><th>Reports</th><td>" << summary.reports << "</td></tr>\n"
         << "<tr><th>Successful sessions</th><td>" << summary.successful_sessions << "</td></tr>\n"
         << "<tr><th>Failed sessions</th><td>" << summary.failed_sessions << "</td></tr>\n"
         << "<tr><th>Failure rate</th><td" << (summary.failed_sessions > 0 ? " class=\"rate-bad\"" : "")
         << ">" << format_percent(summary.failure_rate()) << "</td></tr>\n"
         << "<tr><th>Senders</th><td>" << html_escape(join(summary.senders, ", "))
         << "</td></tr>\n</table>\n";
    html << chart_svg(summary) << "\n";
    html << "<h3>Failures by type</h3>\n";
    if (summary.failures.empty()) {
      html << "<p>None.</p>\n";
    } else {
      html << "<table class=\"failures\">\n<tr><th>result-type</th><th>failed sessions</th></tr>\n";
      for (const auto& [type, count] : summary.failures) {
        html << "<tr><td>" << html_escape(type) << "</td><td>" << count << "</td></tr>\n";
      }
      html << "</table>\n";
    }
    html << "</section>\n";
  }
  html << "</body>\n</html>\n";
  return html.str();
}

}  // namespace stsctl
