#pragma once
// report ingest | fetch | show: TLS-RPT reports (RFC 8460) into the state
// database, and their summaries (text, JSON, HTML).

#include "cli/context.h"
#include "report/summary.h"
#include "state/report_store.h"
#include "state/state.h"

#include <CLI/CLI.hpp>

#include <map>
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

/// rollout.gates.tlsrpt for a published domain at `now`: the reports whose
/// date range lies within its current stage, against the policy it
/// publishes now (the last history row). Reports of its alias domains
/// (alias_of) count too: they serve the same policy. "" when the gate
/// passes or is off. `reports` is the run's one report store (opened on
/// config.state_path for reading), shared by every domain of a promote.
std::string tlsrpt_gate(const Config& config, const ReportStore& reports, const StateStore& state,
                        const DomainState& known, int64_t now);

/// Per policy domain, the reports of the 7 days before `now` (status); an
/// alias domain's reports are counted under the domain it is an alias of.
std::map<std::string, ReportSummary> recent_report_summaries(const Config& config, int64_t now);

/// The state database path: --state, else the config's (loading the config).
std::string report_state_path(Context& context);

}  // namespace stsctl
