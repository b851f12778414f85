#include "cli/app.h"

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/conventions.h"
#include "cli/generate.h"
#include "cli/init_from_dns.h"
#include "cli/report_commands.h"
#include "cli/terminal.h"
#include "provider.h"
#include "state/state.h"
#include "util/escape.h"
#include "util/secrets.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include <iostream>

namespace stsctl {

namespace {

// A network step's time limit: a positive number of seconds (0 would end
// every step at once).
const CLI::Validator k_positive_seconds(
    [](std::string& text) -> std::string {
      char* end = nullptr;
      double value = std::strtod(text.c_str(), &end);
      if (text.empty() || end == nullptr || *end != '\0' || !(value > 0) || value > 86400) {
        return "'" + text + "' is not a positive number of seconds up to 86400 (like 10 or 2.5)";
      }
      return "";
    },
    "SECONDS");

/// Global options are accepted before or after the subcommand.
void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.add_option("-c,--config", options.config_path, "Config file")->capture_default_str();
  app.add_option("--state", options.state_path,
                 "State database (default: from the config, stsctl.db beside it)");
  app.add_flag("--json", options.json, "Machine-readable output on stdout");
  app.add_option("--now", options.now_text,
                 "Evaluate as if the time were this (RFC 3339), e.g. 2026-12-01T00:00:00Z");
  app.add_flag("-v,--verbose", options.verbosity, "More output on stderr (repeatable)");
  app.add_option("--deadline", options.deadline_text,
                 "plan/apply/promote: give up on zones not reached within this time (default 5m), e.g. 90s");
}

/// Prints a fatal error (JSON on stdout with --json) and gives exit 1.
int report_error(const GlobalOptions& options, const std::string& raw_message) {
  // Whatever its source, an error may quote a server's answer: no secret, no control characters.
  std::string message = scrub(raw_message);
  if (options.json) {
    std::cout << nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                         nlohmann::json::error_handler_t::replace)
              << "\n";
  }
  std::cerr << "stsctl: " << escape_control(message) << "\n";
  return k_exit_error;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"stsctl: publish MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) for your mail domains, safely"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stsctl 0.1.0");
  GlobalOptions global;
  add_global_options(app, global);
  add_terminal_options(app, global);

  auto* validate = app.add_subcommand("validate", "Parse and check the config (no network)");

  auto* render = app.add_subcommand("render", "Render zone fragments, policy files or web-server config");
  render->require_subcommand(1);
  std::string zone_dir, policy_dir, web_server, templates_dir, web_output;
  auto* render_zone =
      render->add_subcommand("zone", "BIND zone-file fragments, one per zone (stdout without -o)");
  render_zone->add_option("-o,--output", zone_dir, "Write DIR/<zone>.zone");
  auto* render_policy = render->add_subcommand("policy", "Policy files (stdout without -o)");
  render_policy->add_option("-o,--output", policy_dir, "Write DIR/mta-sts.D/.well-known/mta-sts.txt");
  auto* render_web = render->add_subcommand("web", "Web-server config serving every mta-sts host");
  render_web->add_option("--server", web_server, "nginx | apache | openbsd-httpd | caddy")
      ->required()
      ->check(CLI::IsMember({"nginx", "apache", "openbsd-httpd", "caddy"}));
  render_web->add_option("--templates", templates_dir, "Directory with your own *.mustache templates");
  render_web->add_option("-o,--output", web_output, "Write to this file instead of stdout");
  WebOptions web_options;
  render_web->add_flag("--http-only", web_options.http_only,
                       "Only port 80 (ACME challenges): the config to get the first certificates with");
  render_web
      ->add_option("--acme-root", web_options.acme_root,
                   "Web root of ACME http-01 challenges (certbot --webroot -w)")
      ->capture_default_str();

  std::string acme_client;
  auto* render_acme =
      render->add_subcommand("acme", "The mta-sts names each certificate needs, for an ACME client");
  render_acme->add_option("--client", acme_client, "certbot | dehydrated | acme-client | lego | mailcow")
      ->required()
      ->check(CLI::IsMember({"certbot", "dehydrated", "acme-client", "lego", "mailcow"}));

  auto* plan = app.add_subcommand("plan", "Show what apply would change, per zone");
  std::string plan_format = "text";
  bool detailed_exitcode = false;
  plan->add_option("--format", plan_format, "text | json | markdown")
      ->check(CLI::IsMember({"text", "json", "markdown"}));
  plan->add_flag("--detailed-exitcode", detailed_exitcode, "Exit 2 when there are changes, 0 when none");

  auto* apply = app.add_subcommand("apply", "Publish policies, then push DNS per zone, then record state");
  ApplyOptions apply_options;
  apply->add_flag("-y,--yes", apply_options.yes,
                  "Do not ask for confirmation (required when not on a terminal)");
  apply->add_flag("--force", apply_options.force, "Push even when the MX-coverage guard objects");
  apply
      ->add_option("--lock-timeout", apply_options.lock_timeout,
                   "Wait this long (30s, 5m) for another run's state lock; 0: fail at once")
      ->capture_default_str();

  auto* promote =
      app.add_subcommand("promote", "Advance domains whose stage hold has passed and gates are green");
  PromoteOptions promote_options;
  promote->add_option("--domain", promote_options.domain, "Only this domain");
  promote->add_flag("--dry-run", promote_options.dry_run, "Show what would happen; change nothing");
  promote->add_flag("-y,--yes", promote_options.yes, "Do not ask for confirmation");
  promote->add_flag("--force", promote_options.force, "Push even when the MX-coverage guard objects");
  promote
      ->add_option("--lock-timeout", promote_options.lock_timeout,
                   "Wait this long (30s, 5m) for another run's state lock; 0: fail at once")
      ->capture_default_str();

  auto* status = app.add_subcommand("status", "Per domain: mode, max_age, id, stage, since, next promotion");

  auto* check = app.add_subcommand("check", "Live checks over DNS, HTTPS and SMTP STARTTLS");
  CheckCommandOptions check_options;
  check->add_option("domains", check_options.domains, "Domains to check (default: every configured domain)");
  check->add_option("--resolver", check_options.resolver,
                    "DNS server IP[:port] (default: the system resolver)");
  check->add_option("--ca-file", check_options.ca_file, "Trust this CA (PEM) for HTTPS and SMTP");
  check
      ->add_option("--connect-to", check_options.connect_to,
                   "HOST:PORT:ADDR:PORT, like curl --connect-to (repeatable)")
      ->allow_extra_args(false);
  check->add_option("--smtp-port", check_options.smtp_port, "SMTP port of the MX hosts")
      ->capture_default_str();
  check->add_option("--timeout", check_options.timeout_seconds, "Seconds per network step")
      ->check(k_positive_seconds)
      ->capture_default_str();
  check->add_option("--parallel", check_options.parallel, "Domains checked at once")->capture_default_str();
  check->add_flag("--no-smtp", check_options.no_smtp, "Skip the SMTP STARTTLS checks");

  auto* init = app.add_subcommand("init", "Write a config (the -c file, which must not exist) from live DNS");
  InitOptions init_options;
  init->add_option("--from-dns", init_options.domains,
                   "Domains set up by hand: their MX, _mta-sts, _smtp._tls, mta-sts records and policy")
      ->required()
      ->expected(1, -1);
  init->add_option("--provider", init_options.provider, "defaults.provider of the written config");
  init->add_option("--resolver", init_options.resolver,
                   "DNS server IP[:port] (default: the system resolver)");
  init->add_option("--ca-file", init_options.ca_file, "Trust this CA (PEM) for the policy fetch");
  init->add_option("--timeout", init_options.timeout_seconds, "Seconds per network step")
      ->check(k_positive_seconds)
      ->capture_default_str();

  ReportCommands report;
  add_report_commands(app, report);

  auto* state = app.add_subcommand("state", "Work on the state database itself");
  state->require_subcommand(1);
  auto* state_migrate = state->add_subcommand(
      "migrate", "Copy the state to another database (SQLite file or postgresql:// URL)");
  StateMigrateOptions migrate_options;
  state_migrate->add_option("--to", migrate_options.to, "Target: a SQLite file path or a postgresql:// URL")
      ->required();
  state_migrate->add_flag("--force", migrate_options.force, "Replace a target that already holds state");

  for (auto* sub : {validate, render, plan, apply, promote, status, check, init, state, state_migrate}) {
    sub->fallthrough();
  }
  for (auto* sub : {render_zone, render_policy, render_web, render_acme}) {
    sub->fallthrough();
  }

  if (auto code = run_generator(app, argc, argv)) {
    return *code;
  }
  if (auto code = run_help_command(app, argc, argv)) {
    return *code;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return handle_parse_error(app, error, argc, argv);
  }

  Context context(global);
  try {
    context.check_options();
    if (validate->parsed()) {
      return run_validate(context);
    }
    if (render_zone->parsed()) {
      return run_render_zone(context, zone_dir);
    }
    if (render_policy->parsed()) {
      return run_render_policy(context, policy_dir);
    }
    if (render_web->parsed()) {
      return run_render_web(context, web_server, templates_dir, web_output, web_options);
    }
    if (render_acme->parsed()) {
      return run_render_acme(context, acme_client);
    }
    if (plan->parsed()) {
      return run_plan(context, plan_format, detailed_exitcode);
    }
    if (apply->parsed()) {
      return run_apply(context, apply_options);
    }
    if (promote->parsed()) {
      return run_promote(context, promote_options);
    }
    if (status->parsed()) {
      return run_status(context);
    }
    if (check->parsed()) {
      return run_check(context, check_options);
    }
    if (init->parsed()) {
      return run_init(context, init_options);
    }
    if (state_migrate->parsed()) {
      return run_state_migrate(context, migrate_options);
    }
    if (auto code = report.run(context)) {
      return *code;
    }
  } catch (const ConfigInvalid&) {
    return k_exit_error;
  } catch (const StateError& error) {
    return report_error(global, std::string("state: ") + error.what());
  } catch (const std::exception& error) {
    // CliError, ProviderError and the rest: one line, exit 1.
    return report_error(global, error.what());
  }
  return k_exit_error;
}

}  // namespace stsctl
