#pragma once
// report ingest | fetch | show: TLS-RPT reports (RFC 8460) into the state
// database, and their summaries (text, JSON, HTML).

#include "cli/context.h"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace stsctl {

struct ReportIngestOptions {
  std::vector<std::string> paths;  // files, Maildir folders, mbox files, directories
};
/// Exit 1 when any input failed; the others are stored all the same.
int run_report_ingest(Context& context, const ReportIngestOptions& options);

struct ReportFetchOptions {
  std::string url;  // imaps://USER@HOST[:PORT]/MAILBOX
  std::string password_file;
  std::string password_env = "STSCTL_IMAP_PASSWORD";
  std::string move_to;  // empty: mark seen and leave in place
  std::string ca_file;
  std::vector<std::string> connect_to;
  double timeout_seconds = 30;
};
int run_report_fetch(Context& context, const ReportFetchOptions& options);

struct ReportShowOptions {
  std::string domain;
  std::string since;  // RFC 3339 or a date
  std::string until;  // RFC 3339 or a date (then the whole day)
  std::string by;     // "" or "day"
  std::string html_file;
};
int run_report_show(Context& context, const ReportShowOptions& options);

/// The `report` subcommands, registered on the app, and their options.
struct ReportCommands {
  CLI::App* report = nullptr;
  CLI::App* ingest = nullptr;
  CLI::App* fetch = nullptr;
  CLI::App* show = nullptr;
  ReportIngestOptions ingest_options;
  ReportFetchOptions fetch_options;
  ReportShowOptions show_options;
  /// The exit code of the parsed report command; nullopt when none was given.
  std::optional<int> run(Context& context);
};
/// Registers `report ingest|fetch|show` on `app`, binding the options of
/// `commands` by address: keep it in place until after run().
void add_report_commands(CLI::App& app, ReportCommands& commands);

/// The state database path: --state, else the config's (loading the config).
std::string report_state_path(Context& context);

}  // namespace stsctl
