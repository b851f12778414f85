#include "cli/report_commands.h"

#include "cli/terminal.h"

#include "net/imap_client.h"
#include "report/extract.h"
#include "report/summary.h"
#include "rollout/rollout.h"
#include "state/report_store.h"
#include "state/state.h"
#include "util/fd.h"
#include "util/parallel.h"
#include "util/time.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace stsctl {

namespace fs = std::filesystem;

namespace {

/// One input file, read and taken apart.
struct InputResult {
  std::string path;
  std::vector<ExtractedReport> found;
  std::string error;  // the file could not be read
};

bool read_whole_file(const std::string& path, std::string* out, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  struct stat info {};
  size_t expected = fstat(fd, &info) == 0 && info.st_size > 0 ? static_cast<size_t>(info.st_size) : 0;
  // One read of the size fstat gave is the whole of a regular file; read on
  // only when it is not (a pipe, a file that grew meanwhile).
  out->resize(expected > 0 ? expected : 65536);
  size_t have = 0;
  while (true) {
    ssize_t got = ::read(fd, &(*out)[have], out->size() - have);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      *error = std::strerror(errno);
      ::close(fd);
      return false;
    }
    have += static_cast<size_t>(got);
    if (got == 0 || (expected > 0 && have == expected)) {
      break;
    }
    if (have == out->size()) {
      out->resize(out->size() * 2);
    }
  }
  out->resize(have);
  ::close(fd);
  return true;
}

/// One file to ingest: `name` inside the open directory `dir`, or `path`
/// itself when dir < 0 (a file named on the command line).
struct InputFile {
  std::string path;  // for messages
  int dir = -1;
  std::string name;
  bool regular = false;  // known from the directory listing
};

/// A read buffer per worker thread, only ever grown: no allocation, zeroing
/// or page faults per file.
struct ReadBuffer {
  std::unique_ptr<char[]> data;
  size_t capacity = 0;
  void grow(size_t keep, size_t at_least) {
    size_t size = std::max(at_least, capacity * 2);
    std::unique_ptr<char[]> bigger(new char[size]);
    std::copy(data.get(), data.get() + keep, bigger.get());
    data = std::move(bigger);
    capacity = size;
  }
};

/// The bytes of `file`, in the thread's buffer. Relative to its directory's
/// descriptor (no path walk per file) and without fstat: a short read of a
/// regular file is its end (POSIX read()).
bool read_input_file(const InputFile& file, std::string_view* bytes, std::string* error) {
  thread_local ReadBuffer buffer;
  if (buffer.capacity == 0) {
    buffer.grow(0, 256 << 10);
  }
  Fd fd(file.dir >= 0 ? ::openat(file.dir, file.name.c_str(), O_RDONLY | O_CLOEXEC)
                      : ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    *error = std::strerror(errno);
    return false;
  }
  size_t have = 0;
  while (true) {
    if (have == buffer.capacity) {
      buffer.grow(have, 0);
    }
    const size_t wanted = buffer.capacity - have;
    ssize_t got = ::read(fd.get(), buffer.data.get() + have, wanted);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      *error = std::strerror(errno);
      return false;
    }
    have += static_cast<size_t>(got);
    if (got == 0 || (file.regular && static_cast<size_t>(got) < wanted)) {
      break;
    }
  }
  *bytes = std::string_view(buffer.data.get(), have);
  return true;
}

/// Files to read for one PATH argument: the file itself; for a Maildir the
/// messages in cur/ and new/; for another directory its regular files. Sorted.
/// Directories stay open in `dirs` while their files are read.
void expand_path(const std::string& path, std::vector<std::unique_ptr<Fd>>* dirs,
                 std::vector<InputFile>* files, std::vector<InputResult>* failed) {
  std::error_code error;
  auto status = fs::status(path, error);
  if (error || !fs::exists(status)) {
    failed->push_back({path, {}, "no such file or directory"});
    return;
  }
  if (!fs::is_directory(status)) {
    files->push_back({path, -1, "", fs::is_regular_file(status)});
    return;
  }
  std::vector<std::string> folders;
  bool maildir = fs::is_directory(path + "/cur", error) || fs::is_directory(path + "/new", error);
  if (maildir) {
    for (const char* sub : {"/cur", "/new"}) {
      if (fs::is_directory(path + sub, error)) {
        folders.push_back(path + sub);
      }
    }
  } else {
    folders.push_back(path);
  }
  for (const auto& dir : folders) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      std::string name = entry.path().filename().string();
      // Maildir writers keep partial messages in tmp/ and never start a name with '.'.
      if (!name.empty() && name[0] != '.' && entry.is_regular_file(error)) {
        found.push_back(std::move(name));
      }
    }
    if (error) {
      failed->push_back({dir, {}, error.message()});
      continue;
    }
    auto fd = std::make_unique<Fd>(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::sort(found.begin(), found.end());
    const std::string prefix = dir + (dir.back() == '/' ? "" : "/");
    for (auto& name : found) {
      // Without a descriptor (a race with rmdir) the full path is read, and fails.
      files->push_back({prefix + name, fd->get(), fd->get() >= 0 ? std::move(name) : "", true});
    }
    dirs->push_back(std::move(fd));
  }
}

/// `domain` first, then every configured alias domain of it (alias_of).
std::vector<std::string> domain_and_aliases(const Config& config, const std::string& domain) {
  std::vector<std::string> out{domain};
  for (const auto& other : config.domains) {
    if (other.alias_of == domain) {
      out.push_back(other.name);
    }
  }
  return out;
}

/// The policy domain whose policy `domain` publishes: itself or its alias_of.
std::string primary_domain(const Config& config, const std::string& domain) {
  for (const auto& other : config.domains) {
    if (other.name == domain && other.is_alias()) {
      return other.alias_of;
    }
  }
  return domain;
}

std::string describe(const std::string& input, const ExtractedReport& found) {
  return input + (found.where.empty() ? "" : ", " + found.where);
}

struct IngestOutcome {
  size_t inputs = 0;
  size_t failed_inputs = 0;
  size_t reports = 0;
  size_t added = 0;
  size_t duplicates = 0;
  nlohmann::json errors = nlohmann::json::array();
};

/// Stores every report of `results`, adding to `outcome`; prints one line
/// per failure on stderr.
void store_results(Context& context, ReportStore& store, const std::vector<InputResult>& results,
                   const std::string& command, IngestOutcome& outcome) {
  std::vector<const TlsReport*> reports;
  std::vector<std::string> sources;
  for (const auto& input : results) {
    ++outcome.inputs;
    bool failed = !input.error.empty();
    if (failed) {
      // Errors quote the input (a date, a subject): no control character of a
      // hostile report reaches the terminal.
      std::cerr << "stsctl: " << command << ": " << single_line(input.path + ": " + input.error) << "\n";
      outcome.errors.push_back({{"input", input.path}, {"error", input.error}});
    }
    for (const auto& found : input.found) {
      if (found.report) {
        reports.push_back(&*found.report);
        sources.push_back(describe(input.path, found));
      } else {
        failed = true;
        std::cerr << "stsctl: " << command << ": "
                  << single_line(describe(input.path, found) + ": " + found.error) << "\n";
        outcome.errors.push_back({{"input", input.path}, {"part", found.where}, {"error", found.error}});
      }
    }
    outcome.failed_inputs += failed ? 1 : 0;
  }
  std::vector<bool> added = store.add(reports, sources, context.now());
  for (size_t i = 0; i < added.size(); ++i) {
    ++outcome.reports;
    (added[i] ? outcome.added : outcome.duplicates) += 1;
    if (!context.verbose()) {
      continue;  // no line built per report unless it is shown
    }
    context.log(std::string(added[i] ? "stored " : "already stored ") + reports[i]->organization_name + " " +
                reports[i]->report_id + " from " + sources[i]);
  }
}

void print_outcome(Context& context, const IngestOutcome& outcome, const std::string& command) {
  if (context.json()) {
    std::cout << nlohmann::json{{"inputs", outcome.inputs},         {"failed_inputs", outcome.failed_inputs},
                                {"reports", outcome.reports},       {"new", outcome.added},
                                {"duplicates", outcome.duplicates}, {"errors", outcome.errors}}
                     .dump()
              << "\n";
    return;
  }
  std::cout << command << ": " << outcome.reports << " report" << (outcome.reports == 1 ? "" : "s")
            << " from " << outcome.inputs << " input" << (outcome.inputs == 1 ? "" : "s") << ": "
            << outcome.added << " new, " << outcome.duplicates << " already stored";
  if (outcome.failed_inputs > 0) {
    std::cout << "; " << outcome.failed_inputs << " input" << (outcome.failed_inputs == 1 ? "" : "s")
              << " failed";
  }
  std::cout << "\n";
}

std::string read_password(const ReportFetchOptions& options) {
  if (!options.password_file.empty()) {
    std::string text;
    std::string error;
    if (!read_whole_file(options.password_file, &text, &error)) {
      throw CliError("report fetch: failed to read password file '" + options.password_file + "' (" + error +
                     ")");
    }
    size_t end = text.find_first_of("\r\n");
    text = text.substr(0, end);
    if (text.empty()) {
      throw CliError("report fetch: password file '" + options.password_file + "' is empty");
    }
    return text;
  }
  const char* value = std::getenv(options.password_env.c_str());
  if (value == nullptr || *value == '\0') {
    throw CliError("report fetch: no password: give --password-file FILE or set " + options.password_env);
  }
  return value;
}

int64_t parse_bound(const std::string& option, const std::string& text, bool end_of_day) {
  auto parsed = parse_rfc3339(text);
  if (!parsed) {
    throw CliError("report show: " + option + ": '" + text +
                   "' is not a date (like 2026-11-20) or an RFC 3339 time (like 2026-11-20T00:00:00Z)");
  }
  // A plain date as --until means up to the end of that day.
  return *parsed + (end_of_day && text.size() == 10 ? 86400 : 0);
}

}  // namespace

void add_report_commands(CLI::App& app, ReportCommands& commands) {
  commands.report = app.add_subcommand("report", "TLS-RPT reports: ingest, fetch over IMAP, summarise");
  commands.report->require_subcommand(1);
  commands.ingest = commands.report->add_subcommand(
      "ingest", "Store reports from .json/.gz files, mails (.eml), Maildir folders and mbox files");
  commands.ingest->add_option("paths", commands.ingest_options.paths, "Files or folders")->required();
  commands.fetch = commands.report->add_subcommand(
      "fetch", "Fetch unseen report mails over IMAP (TLS), store them, mark them seen");
  ReportFetchOptions& fetch = commands.fetch_options;
  commands.fetch->add_option("url", fetch.url, "imaps://USER@HOST[:PORT]/MAILBOX")->required();
  commands.fetch->add_option("--password-file", fetch.password_file, "Read the IMAP password from this file");
  commands.fetch
      ->add_option("--password-env", fetch.password_env, "Environment variable with the IMAP password")
      ->capture_default_str();
  commands.fetch->add_option("--move-to", fetch.move_to, "Move processed mails to this mailbox");
  commands.fetch->add_option("--ca-file", fetch.ca_file, "Trust this CA (PEM) for the IMAP server");
  commands.fetch->add_option("--connect-to", fetch.connect_to, "HOST:PORT:ADDR:PORT, like curl --connect-to")
      ->allow_extra_args(false);
  commands.fetch->add_option("--timeout", fetch.timeout_seconds, "Seconds to connect")->capture_default_str();
  commands.show = commands.report->add_subcommand("show", "Per policy domain: sessions, failures, senders");
  ReportShowOptions& show = commands.show_options;
  commands.show->add_option("--domain", show.domain, "Only this policy domain");
  commands.show->add_option("--since", show.since,
                            "Reports starting at or after this date (or RFC 3339 time)");
  commands.show->add_option("--until", show.until, "Reports ending by this date (inclusive) or time");
  commands.show->add_option("--by", show.by, "day: a row per day")->check(CLI::IsMember({"day"}));
  commands.show->add_option("--html", show.html_file, "Write a self-contained HTML page with charts");
  for (auto* sub : {commands.report, commands.ingest, commands.fetch, commands.show}) {
    sub->fallthrough();
  }
}

std::optional<int> ReportCommands::run(Context& context) {
  if (ingest->parsed()) {
    return run_report_ingest(context, ingest_options);
  }
  if (fetch->parsed()) {
    return run_report_fetch(context, fetch_options);
  }
  if (show->parsed()) {
    return run_report_show(context, show_options);
  }
  return std::nullopt;
}

std::string tlsrpt_gate(const Config& config, const ReportStore& reports, const StateStore& state,
                        const DomainState& known, int64_t now) {
  if (!config.gates.tlsrpt) {
    return "";
  }
  std::vector<ReportSummary> parts;
  for (const auto& name : domain_and_aliases(config, known.domain)) {
    ReportQuery query;
    query.domain = name;
    query.from = known.stage_since;
    query.to = now;
    std::vector<ReportSummary> found = reports.summarise(query);
    parts.insert(parts.end(), found.begin(), found.end());
  }
  ReportSummary summary = merge_summaries(known.domain, parts);
  std::vector<HistoryEntry> history = state.history(known.domain);
  std::string published = history.empty() ? "" : history.back().policy_text;
  return tlsrpt_gate_failure(summary, *config.gates.tlsrpt, published).value_or("");
}

std::map<std::string, ReportSummary> recent_report_summaries(const Config& config, int64_t now) {
  ReportStore store(config.state_path, false);
  ReportQuery query;
  query.from = now - 7 * 86400;
  query.to = now;
  std::map<std::string, ReportSummary> by_domain;
  for (auto& summary : store.summarise(query)) {
    by_domain[summary.domain] = std::move(summary);
  }
  // An alias domain's reports count toward its policy domain, as in the gate.
  std::map<std::string, std::vector<ReportSummary>> grouped;
  for (auto& [name, summary] : by_domain) {
    grouped[primary_domain(config, name)].push_back(std::move(summary));
  }
  std::map<std::string, ReportSummary> out;
  for (auto& [name, parts] : grouped) {
    out[name] = merge_summaries(name, parts);
  }
  return out;
}

std::string report_state_path(Context& context) {
  const std::string& given = context.options().state_path;
  if (!given.empty()) {
    return is_database_url(given) ? given : fs::absolute(given).lexically_normal().string();
  }
  return context.config().state_path;
}

int run_report_ingest(Context& context, const ReportIngestOptions& options) {
  std::string state_path = report_state_path(context);
  std::vector<std::unique_ptr<Fd>> dirs;
  std::vector<InputFile> files;
  std::vector<InputResult> results;
  for (const auto& path : options.paths) {
    expand_path(path, &dirs, &files, &results);
  }
  // Files are read and parsed on the workers while this thread stores the
  // earlier ones, all in one transaction.
  const size_t batch_size = 64;
  std::function<std::vector<InputResult>(size_t)> work = [&](size_t batch) {
    std::vector<InputResult> out;
    for (size_t i = batch * batch_size; i < std::min(files.size(), (batch + 1) * batch_size); ++i) {
      InputResult result;
      result.path = files[i].path;
      std::string_view bytes;
      if (!read_input_file(files[i], &bytes, &result.error)) {
        result.error = "failed to read (" + result.error + ")";
      } else {
        result.found = extract_reports(bytes);
      }
      out.push_back(std::move(result));
    }
    return out;
  };
  ReportStore store(state_path, true);
  ReportStore::Batch batch(store);
  IngestOutcome outcome;
  store_results(context, store, results, "report ingest", outcome);  // paths that do not exist
  std::function<void(size_t, std::vector<InputResult>&)> deliver = [&](size_t,
                                                                       std::vector<InputResult>& done) {
    store_results(context, store, done, "report ingest", outcome);
  };
  run_ordered((files.size() + batch_size - 1) / batch_size, default_worker_count(), work, deliver);
  batch.commit();
  print_outcome(context, outcome, "report ingest");
  return outcome.failed_inputs > 0 ? k_exit_error : k_exit_ok;
}

int run_report_fetch(Context& context, const ReportFetchOptions& options) {
  std::string state_path = report_state_path(context);
  ImapUrl url;
  try {
    url = parse_imap_url(options.url);
  } catch (const ImapError& error) {
    throw CliError(std::string("report fetch: ") + error.what());
  }
  ImapOptions imap_options;
  imap_options.ca_file = options.ca_file;
  imap_options.connect_to = options.connect_to;
  imap_options.timeout_seconds = options.timeout_seconds;
  std::string password = read_password(options);
  ImapClient client(url, password, imap_options);
  std::fill(password.begin(), password.end(), '\0');
  ReportStore store(state_path, true);
  try {
    std::vector<uint64_t> uids = client.unseen();
    context.log("report fetch: " + std::to_string(uids.size()) + " unseen messages in " + url.display());
    std::vector<InputResult> results;
    for (uint64_t uid : uids) {
      InputResult result;
      result.path = url.display() + ";UID=" + std::to_string(uid);
      result.found = extract_reports(client.fetch(uid));
      results.push_back(std::move(result));
    }
    IngestOutcome outcome;
    store_results(context, store, results, "report fetch", outcome);
    // Stored first, then flagged or moved: a crash in between fetches the
    // message again next time, and the duplicate is recognised.
    for (size_t i = 0; i < uids.size(); ++i) {
      bool ok = std::all_of(results[i].found.begin(), results[i].found.end(),
                            [](const ExtractedReport& found) { return found.report.has_value(); });
      if (!ok) {
        client.set_seen(uids[i], false);  // left for a person (or a fixed stsctl) to look at
      } else if (!options.move_to.empty()) {
        client.move(uids[i], options.move_to);
      } else {
        client.set_seen(uids[i], true);
      }
    }
    print_outcome(context, outcome, "report fetch");
    return outcome.failed_inputs > 0 ? k_exit_error : k_exit_ok;
  } catch (const ImapError& error) {
    throw CliError(std::string("report fetch: ") + error.what());
  }
}

int run_report_show(Context& context, const ReportShowOptions& options) {
  ReportQuery query;
  query.domain = options.domain;
  if (!options.since.empty()) {
    query.from = parse_bound("--since", options.since, false);
  }
  if (!options.until.empty()) {
    query.to = parse_bound("--until", options.until, true);
  }
  query.by_day = options.by == "day" || !options.html_file.empty();
  ReportStore store(report_state_path(context), false);
  std::vector<ReportSummary> summaries = store.summarise(query);
  if (!options.html_file.empty()) {
    // Stage and next promotion come from the config and state when there are any.
    std::map<std::string, DomainRollout> rollout;
    if (fs::exists(context.options().config_path)) {
      const Config& config = context.config();
      auto state = StateStore::open_for_reading(config.state_path);
      for (const auto& domain : config.domains) {
        auto known = state->domain(domain.name);
        if (domain.is_alias() || !known) {
          continue;
        }
        DomainRollout row;
        row.stage = follows_rollout(config, domain)
                        ? std::to_string(known->stage + 1) + "/" + std::to_string(config.stages.size()) +
                              " " + to_string(known->mode)
                        : std::string(domain.retire ? "retiring" : "pinned") + " " + to_string(known->mode);
        auto next = next_promotion_at(config, domain, known->stage, known->stage_since);
        row.next_promotion = next ? format_rfc3339(*next) : "";
        rollout[domain.name] = row;
      }
    }
    std::string page = render_report_html(summaries, rollout, format_rfc3339(context.now()));
    std::ofstream out(options.html_file, std::ios::binary | std::ios::trunc);
    if (!(out << page) || !out.flush()) {
      throw CliError("report show: failed to write '" + options.html_file + "' (" + std::strerror(errno) +
                     ")");
    }
    std::cout << "report show: wrote " << options.html_file << " (" << summaries.size() << " domain"
              << (summaries.size() == 1 ? "" : "s") << ")\n";
    return k_exit_ok;
  }
  if (context.json()) {
    nlohmann::ordered_json domains = nlohmann::ordered_json::array();
    for (const auto& summary : summaries) {
      domains.push_back(summary_to_json(summary, options.by == "day"));
    }
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    out["domains"] = domains;
    std::cout << dump_spaced(out) << "\n";
  } else {
    std::cout << format_summary_text(summaries, options.by == "day");
  }
  return k_exit_ok;
}

}  // namespace stsctl
