// plan, apply and promote: the CLI side of the deploy engine. It builds the
// engine's edges (providers, web root, state), asks for confirmation, prints
// the engine's events and maps the outcome to exit codes.

#include "cli/commands.h"
#include "cli/report_commands.h"
#include "cli/terminal.h"
#include "config/values.h"
#include "deploy/engine.h"
#include "deploy/plan_format.h"
#include "deploy/promotion.h"
#include "util/time.h"

#include <unistd.h>

#include <ctime>
#include <iostream>

namespace stsctl {

namespace {

/// Engine events on stderr (stdout stays for the plan and --json).
class StderrSink : public EventSink {
 public:
  explicit StderrSink(const GlobalOptions& options) : m_quiet(options.quiet), m_progress(options) {}
  void emit(Kind kind, const std::string& text) override {
    switch (kind) {
      case Kind::Info:
        if (!m_quiet) {
          std::cerr << text << "\n";
        }
        break;
      case Kind::Blocked:
        std::cerr << text << "\n";
        break;
      case Kind::Warning:
        std::cerr << "warning: " << text << "\n";
        break;
      case Kind::Error:
        std::cerr << "error: " << text << "\n";
        break;
      case Kind::Progress:
        progress(text);
        return;
    }
  }

 private:
  /// The engine's progress texts end in "done/total": shown with rate and
  /// time left on a terminal after a second (ProgressLine).
  void progress(const std::string& text) {
    auto slash = text.rfind('/');
    auto space = text.rfind(' ', slash);
    if (slash == std::string::npos || space == std::string::npos) {
      return;
    }
    try {
      size_t done = std::stoul(text.substr(space + 1, slash - space - 1));
      size_t total = std::stoul(text.substr(slash + 1));
      std::string label = text.substr(0, space);
      if (!label.empty() && label.back() == ':') {
        label.pop_back();
      }
      m_progress.update(label, done, total);
    } catch (const std::exception&) {
      // Not a count: nothing to show.
    }
  }

  bool m_quiet;
  ProgressLine m_progress;
};

/// Everything one run of the engine needs, made once per run.
struct EngineRun {
  Context& context;
  const Config& config;
  std::unique_ptr<StateStore> state;
  ProviderSet providers;
  WebrootPolicyWeb web;
  StderrSink sink;
  DeployEngine engine;

  EngineRun(Context& run_context, std::unique_ptr<StateStore> store)
      : context(run_context),
        config(run_context.config()),
        state(std::move(store)),
        providers(config,
                  [verbose = run_context.verbose(),
                   limits = run_context.call_limits()](const ProviderConfig& provider) {
                    auto made = make_provider(provider, [verbose](const std::string& line) {
                      if (verbose || line.rfind("warning:", 0) == 0) {
                        std::cerr << line << "\n";
                      }
                    });
                    made->set_limits(limits);
                    return made;
                  }),
        web(config),
        sink(run_context.options()),
        engine(config, DeployEnvironment{*state, providers, web, sink, run_context.now(),
                                         static_cast<int64_t>(std::time(nullptr))}) {}
};

void print_plan(const Context& context, const Deployment& deployment, const std::string& format = "text") {
  if (context.json() || format == "json") {
    std::cout << format_plan_json(deployment);
  } else if (format == "markdown") {
    std::cout << format_plan_markdown(deployment);
  } else {
    std::cout << format_plan_text(deployment);
  }
}

/// Confirms and applies a planned deployment; returns the exit code.
int confirm_and_apply(EngineRun& run, Deployment& deployment, const DeployRequest& request, bool yes,
                      const std::string& command) {
  if (!deployment.errors.empty()) {
    print_plan(run.context, deployment);
    std::cerr << command << ": nothing was changed because of the errors above\n";
    return k_exit_error;
  }
  const bool idle = !deployment.has_pending_work();
  // promote's own lines say why nothing moves; apply shows its plan always.
  if (!run.context.json() && !(idle && command == "promote" && deployment.blocked.empty() &&
                               deployment.warnings.empty() && deployment.notices.empty())) {
    std::cout << format_plan_text(deployment);
  }
  if (idle) {
    if (run.context.json()) {
      std::cout << format_plan_json(deployment);
    }
    return deployment.blocked.empty() ? k_exit_ok : k_exit_guard;
  }
  if (!yes && !confirm("Apply these changes?")) {
    std::cerr << command << ": cancelled; nothing was changed\n";
    return k_exit_error;
  }
  ApplyResult result = run.engine.apply(deployment, request);
  if (run.context.json()) {
    std::cout << format_plan_json(deployment);
  }
  if (result.errors) {
    std::cerr << command << ": " << result.failed_zones.size()
              << " zone(s) failed; their state was not recorded. Fix the cause and run " << command
              << " again: it converges.\n";
    return k_exit_error;
  }
  std::cerr << command << ": done (" << deployment.change_count() << " change(s), " << result.recorded_ids
            << " policy id(s) recorded)\n";
  return deployment.blocked.empty() ? k_exit_ok : k_exit_guard;
}

// The run lock of apply/promote; `timeout` is --lock-timeout.
std::unique_ptr<StateLock> take_run_lock(const Config& config, const std::string& command,
                                         const std::string& timeout) {
  std::optional<int64_t> seconds = timeout == "0" ? std::optional<int64_t>(0) : parse_duration(timeout);
  if (!seconds) {
    throw CliError(command +
                   ": --lock-timeout expects 0 (fail at once) or a duration like 30s, 5m or 1h, got '" +
                   timeout + "'");
  }
  auto lock =
      std::make_unique<StateLock>(config.state_path, static_cast<double>(*seconds), "stsctl " + command);
  if (const auto& stale = lock->stale_holder()) {
    std::cerr << "warning: replaced the stale lock info of " << describe_holder(*stale)
              << ": that run ended without releasing it (crashed or killed)\n";
  }
  return lock;
}

DeployRequest request_for(const Config& config, bool force) {
  DeployRequest request;
  request.force = force;
  request.waits_for_propagation = config.publish.propagation_timeout_seconds > 0;
  return request;
}

}  // namespace

int run_plan(Context& context, const std::string& format, bool detailed_exitcode) {
  const Config& config = context.config();
  // plan never writes the state, nor creates it.
  EngineRun run(context, StateStore::open_for_reading(config.state_path));
  DeployRequest request = request_for(config, false);
  request.waits_for_propagation = false;
  Deployment deployment = run.engine.plan(request);
  print_plan(context, deployment, format);
  if (!deployment.errors.empty()) {
    return k_exit_error;
  }
  if (!detailed_exitcode) {
    return k_exit_ok;
  }
  if (!deployment.blocked.empty()) {
    return k_exit_guard;
  }
  return deployment.has_pending_work() ? k_exit_changes : k_exit_ok;
}

int run_apply(Context& context, const ApplyOptions& options) {
  if (!options.yes && !interactive_terminal()) {
    throw CliError("apply: refusing to change DNS without --yes when stdin is not a terminal");
  }
  const Config& config = context.config();
  auto lock = take_run_lock(config, "apply", options.lock_timeout);
  EngineRun run(context, std::make_unique<StateStore>(config.state_path));
  DeployRequest request = request_for(config, options.force);
  Deployment deployment = run.engine.plan(request);
  return confirm_and_apply(run, deployment, request, options.yes, "apply");
}

int run_promote(Context& context, const PromoteOptions& options) {
  const Config& config = context.config();
  if (!options.domain.empty() && config.find_domain(options.domain) == nullptr) {
    throw CliError("promote: " + options.domain + " is not a configured domain");
  }
  if (!options.dry_run && !options.yes && !interactive_terminal()) {
    throw CliError("promote: refusing to change DNS without --yes when stdin is not a terminal");
  }
  // Gates, stage moves, publishing and retirements under one lock.
  std::unique_ptr<StateLock> lock;
  if (!options.dry_run) {
    lock = take_run_lock(config, "promote", options.lock_timeout);
  }
  EngineRun run(context, options.dry_run ? StateStore::open_for_reading(config.state_path)
                                         : std::make_unique<StateStore>(config.state_path));
  const int64_t now = context.now();
  PromotionScan scan = due_promotions(config, snapshot_of(*run.state), now, options.domain);
  for (const auto& line : scan.lines) {
    std::cout << line << "\n";
  }

  DeployRequest request = request_for(config, options.force);
  LiveGates gates;
  std::unique_ptr<ReportStore> reports;  // rollout.gates.tlsrpt: one connection for the whole run
  std::vector<Blocked> gate_failures;
  for (const auto& candidate : scan.due) {
    const RolloutStage& stage = config.stages[static_cast<size_t>(candidate.to_stage)];
    std::string step = "stage " + std::to_string(candidate.from_stage + 1) + " -> " +
                       std::to_string(candidate.to_stage + 1) + " (mode " + to_string(stage.mode) +
                       ", max_age " + std::to_string(stage.max_age) + ")";
    if (stage.mode == PolicyMode::Enforce) {
      const DomainState known = *run.state->domain(candidate.domain);
      std::string failure = gates.check(config, known);
      if (failure.empty() && config.gates.tlsrpt) {
        if (!reports) {
          reports = std::make_unique<ReportStore>(config.state_path, false);
        }
        failure = tlsrpt_gate(config, *reports, *run.state, known, now);
      }
      if (!failure.empty()) {
        std::cout << candidate.domain << ": stays (gate: " << failure << ")\n";
        gate_failures.push_back({candidate.domain, "gate", step, failure});
        continue;
      }
    }
    std::cout << candidate.domain << ": " << step << (options.dry_run ? " [dry run]" : "") << "\n";
    request.stage_overrides[candidate.domain] = candidate.to_stage;
  }
  if (request.stage_overrides.empty()) {
    std::cout << "promote: nothing to promote\n";
  }

  Deployment deployment = run.engine.plan(request);
  const int gate_code = gate_failures.empty() ? k_exit_ok : k_exit_guard;
  if (options.dry_run) {
    print_plan(context, deployment);
    return !deployment.errors.empty() ? k_exit_error : deployment.blocked.empty() ? gate_code : k_exit_guard;
  }
  int code = confirm_and_apply(run, deployment, request, options.yes, "promote");

  // The gates' verdicts, in the state under the same lock.
  StateStore::Batch batch(*run.state);
  for (const auto& failure : gate_failures) {
    run.state->set_gate_status(failure.domain, failure.message);
  }
  for (const auto& blocked : deployment.blocked) {
    if (run.state->domain(blocked.domain)) {
      run.state->set_gate_status(blocked.domain, blocked.guard + ": " + blocked.message);
    }
  }
  for (const auto& [domain, stage] : request.stage_overrides) {
    auto known = run.state->domain(domain);
    if (known && known->stage == stage) {
      run.state->set_gate_status(domain, "passed " + format_rfc3339(now));
    }
  }
  batch.commit();
  return code == k_exit_ok ? gate_code : code;
}

}  // namespace stsctl
