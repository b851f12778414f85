#include "cli/generate.h"

#include "cli/command_docs.h"
#include "cli/completion_scripts.h"

#include "config/load.h"
#include "config/reference.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace stsctl {

namespace {

// ---- roff ----

/// Escapes text for roff: backslashes, and a leading control character.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) {
    out = "\\&" + out;
  }
  return out;
}

/// Option names and command lines: '-' is a minus sign there.
std::string roff_literal(const std::string& text) {
  std::string out;
  for (char c : roff(text)) {
    out += c == '-' ? std::string("\\-") : std::string(1, c);
  }
  return out;
}

std::string option_heading(const OptionDoc& option) {
  std::string out;
  if (!option.positional.empty()) {
    return "\\fI" + roff_literal(option.value) + "\\fR\\&...";
  }
  for (size_t i = 0; i < option.names.size(); ++i) {
    out += (i == 0 ? "" : ", ") + std::string("\\fB") + roff_literal(option.names[i]) + "\\fR";
  }
  if (!option.value.empty()) {
    out += " \\fI" + roff_literal(option.value) + "\\fR";
  }
  return out;
}

void roff_options(std::ostream& out, const std::vector<OptionDoc>& options) {
  for (const auto& option : options) {
    out << ".TP\n" << option_heading(option) << "\n" << roff(option.description) << "\n";
  }
}

const char* const k_version = "stsctl 0.1.0";

void manpage_stsctl(const CLI::App& app, std::ostream& out) {
  auto tree = command_tree(app);
  out << ".TH STSCTL 1 2026-11-27 \"" << k_version << "\" \"User Commands\"\n";
  out << ".SH NAME\nstsctl \\- publish MTA\\-STS and TLS\\-RPT records and policies, and roll domains to "
         "enforce\n";
  out << ".SH SYNOPSIS\n.B stsctl\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n";
  out << ".br\n.B stsctl\n\\fICOMMAND\\fR \\fB\\-\\-help\\fR\n";
  out << ".SH DESCRIPTION\n"
      << roff(app.get_description()) << ".\n.PP\n"
      << "From one declarative YAML file (see \\fBstsctl.yaml\\fR(5)) stsctl renders or pushes, for every\n"
      << "mail domain D, the TXT records \\fB_mta\\-sts.D\\fR and \\fB_smtp._tls.D\\fR, the addresses (or a "
         "CNAME)\n"
      << "and CAA records of \\fBmta\\-sts.D\\fR, and the policy file served at\n"
      << "\\fBhttps://mta\\-sts.D/.well\\-known/mta\\-sts.txt\\fR.\n"
      << "The policy id changes if and only if the policy changes, and new policy files are live\n"
      << "before their id is published.\n";
  out << ".SH GLOBAL OPTIONS\nAccepted before or after the command.\n";
  roff_options(out, tree.front().options);
  out << ".SH COMMANDS\nEvery command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR.\n";
  for (size_t i = 1; i < tree.size(); ++i) {
    const auto& command = tree[i];
    std::string synopsis = "stsctl " + command.path;
    if (!command.subcommands.empty()) {
      synopsis += " ";
      for (size_t j = 0; j < command.subcommands.size(); ++j) {
        synopsis += (j == 0 ? "" : "|") + command.subcommands[j];
      }
    }
    out << ".SS \"" << roff_literal(synopsis) << "\"\n" << roff(command.description) << ".\n";
    roff_options(out, command.options);
  }
  out << ".SH EXIT STATUS\n"
      << ".TP\n.B 0\nSuccess: no changes, or all checks pass.\n"
      << ".TP\n.B 1\nError: bad config, unreachable provider, refused update, mistyped command or option;\n"
      << "nothing is half\\-recorded.\n"
      << ".TP\n.B 2\n\\fBplan \\-\\-detailed\\-exitcode\\fR found changes, or a \\fBcheck\\fR failed.\n"
      << ".TP\n.B 3\nA safety guard blocked a change; the output names the guard and what would make it "
         "pass.\n";
  out << ".SH FILES\n"
      << ".TP\n.I ./stsctl.yaml\nThe config file unless \\fB\\-c\\fR says otherwise; see "
         "\\fBstsctl.yaml\\fR(5).\n"
      << ".TP\n.I stsctl.db\nThe state database (SQLite), beside the config file unless the config's\n"
      << "\\fBstate\\fR or \\fB\\-\\-state\\fR names another; \\fIstsctl.db.lock\\fR serialises\n"
      << "\\fBapply\\fR and \\fBpromote\\fR.\n"
      << ".TP\n.I /usr/share/stsctl/templates\nThe templates of \\fBrender web\\fR.\n"
      << ".TP\n.I /usr/share/doc/stsctl/examples\nExample configs, systemd units and a crontab line.\n";
  out << ".SH ENVIRONMENT\n"
      << ".TP\n.B STSCTL_TEMPLATES_DIR\nDirectory of the \\fBrender web\\fR templates.\n"
      << ".TP\n.B NO_COLOR\nWhen set (to anything), output has no colour.\n"
      << ".PP\nAPI keys and TSIG secrets may come from the variables the config names in\n"
      << "\\fBapi_key_env\\fR and \\fBsecret_env\\fR.\n";
  out << ".SH EXAMPLES\n"
      << "Check the config, then see and push what would change:\n.PP\n.nf\n.RS\n"
      << "stsctl \\-c /etc/stsctl/stsctl.yaml validate\nstsctl plan\nstsctl apply \\-\\-yes\n.RE\n.fi\n.PP\n"
      << "Paste the records into a zone by hand, and configure nginx:\n.PP\n.nf\n.RS\n"
      << "stsctl render zone\nstsctl render policy \\-o /var/www/mta\\-sts\n"
      << "stsctl render web \\-\\-server nginx \\-o /etc/nginx/conf.d/mta\\-sts.conf\n.RE\n.fi\n.PP\n"
      << "What a promotion run on Christmas Eve would do:\n.PP\n.nf\n.RS\n"
      << "stsctl promote \\-\\-dry\\-run \\-\\-now 2026\\-12\\-24T00:00:00Z\n.RE\n.fi\n"
      << ".PP\nAdopt an MTA\\-STS setup made by hand (writes new.yaml from live DNS and "
         "HTTPS):\n.PP\n.nf\n.RS\n"
      << "stsctl \\-c new.yaml init \\-\\-from\\-dns example.net example.org \\-\\-provider pdns\n.RE\n.fi\n";
  out << ".SH SEE ALSO\n\\fBstsctl.yaml\\fR(5)\n";
}

std::string default_text(const ConfigKey& key) {
  return key.default_value.empty() ? "none" : key.default_value;
}

void manpage_yaml(std::ostream& out) {
  out << ".TH STSCTL.YAML 5 2026-11-27 \"" << k_version << "\" \"File Formats\"\n";
  out << ".SH NAME\nstsctl.yaml \\- configuration of stsctl\n";
  out << ".SH DESCRIPTION\n"
      << "One YAML file declares every mail domain, its MTA\\-STS policy, TLS\\-RPT addresses, policy host,\n"
      << "DNS provider and rollout. \\fBstsctl validate\\fR reports every error at once as\n"
      << "\\fIfile\\fR:\\fIline\\fR:\\fIcolumn\\fR: \\fIkey.path\\fR: \\fImessage\\fR; unknown keys are "
         "errors.\n"
      << "Relative paths are relative to the config file. Secrets come from files or environment\n"
      << "variables, never from the YAML itself.\n"
      << ".PP\nIn the key paths below, \\fID\\fR stands for a domain name, \\fIP\\fR for a provider name "
         "and\n"
      << "\\fB[]\\fR for an item of a list.\n";
  out << ".SH KEYS\n";
  for (const auto& key : config_reference()) {
    out << ".TP\n\\fB" << roff(key.path) << "\\fR (" << key.type;
    if (!key.only_for.empty()) {
      out << ", type " << key.only_for;
    }
    out << ")\n"
        << roff(key.description) << "\n.br\nDefault: " << roff(default_text(key))
        << ". Allowed: " << roff(key.allowed) << ".\n";
  }
  out << ".SH EXAMPLE\n.nf\n.RS\n"
      << "# yaml\\-language\\-server: $schema=/usr/share/stsctl/stsctl.schema.json\n"
      << "version: 1\ndefaults:\n  provider: pdns\n  policy_host: {ipv4: [192.0.2.40]}\n"
      << "  tlsrpt: {rua: [\"mailto:tlsrpt@example.net\"]}\n"
      << "domains:\n  example.net: {mx: [mail.example.net]}\n  example.org: {alias_of: example.net}\n"
      << "rollout:\n  stages:\n    \\- {mode: testing, max_age: 86400, hold: 7d}\n"
      << "    \\- {mode: enforce, max_age: 604800}\n"
      << "providers:\n  pdns: {type: powerdns, url: \"http://127.0.0.1:8081\", api_key_file: pdns.key}\n"
      << ".RE\n.fi\n";
  out << ".SH SEE ALSO\n\\fBstsctl\\fR(1)\n";
}

// ---- Markdown ----

std::string md_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
  }
  return out;
}

void reference_markdown(std::ostream& out) {
  out << "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
  for (const auto& key : config_reference()) {
    std::string type = key.type + (key.only_for.empty() ? "" : " (" + key.only_for + ")");
    out << "| `" << key.path << "` | " << type << " | " << md_cell(default_text(key)) << " | "
        << md_cell(key.allowed) << " | " << md_cell(key.description) << " |\n";
  }
}

// ---- JSON Schema ----

/// What the words of the reference say, for a validator: enums and ranges.
nlohmann::json schema_constraints(const ConfigKey& key) {
  using nlohmann::json;
  const std::string& path = key.path;
  if (!key.choices.empty()) {
    return {{"enum", key.choices}};
  }
  auto tail = [&](const std::string& suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (path == "version") {
    return {{"const", 1}};
  }
  if (tail(".ttl")) {
    return {{"minimum", 60}, {"maximum", 604800}};
  }
  if (tail(".max_age")) {
    return {{"minimum", 86400}, {"maximum", 31557600}};
  }
  if (tail(".mode")) {
    return {{"enum", {"testing", "enforce", "none"}}};
  }
  if (tail(".id_format")) {
    return {{"enum", {"timestamp", "serial", "hash"}}};
  }
  if (tail("caa[].tag")) {
    return {{"enum", {"issue", "issuewild", "iodef"}}};
  }
  if (tail("caa[].flags")) {
    return {{"enum", {0, 128}}};
  }
  if (path == "rollout.gates.smtp_port") {
    return {{"minimum", 1}, {"maximum", 65535}};
  }
  if (path == "rollout.stages[].hold") {
    return {{"pattern", "^[0-9]+[mhdw]$"}};
  }
  if (tail(".timeout") && path != "publish.propagation.timeout") {
    return {{"exclusiveMinimum", 0}, {"maximum", 3600}};
  }
  if (path == "publish.propagation.timeout") {
    return {{"minimum", 0}, {"maximum", 3600}};
  }
  return json::object();
}

nlohmann::json schema_type(const std::string& type) {
  using nlohmann::json;
  if (type == "map") {
    return {{"type", "object"}};
  }
  if (type == "list") {
    return {{"type", "array"}};
  }
  if (type == "string list") {
    return {{"type", "array"}, {"items", {{"type", "string"}}}};
  }
  return {{"type", type}};
}

void json_schema(std::ostream& out) {
  using nlohmann::json;
  json root = {
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"$id", "https://stsctl.invalid/stsctl.schema.json"},
      {"title", "stsctl.yaml"},
      {"description", "Configuration of stsctl (generated by stsctl __schema from src/config/reference.cpp)"},
      {"type", "object"},
      {"additionalProperties", false},
      {"required", {"version", "domains"}},
      {"properties", json::object()}};
  // Walks "a.b[].c" / "domains.D.x" / "providers.P.x" down from the root,
  // making objects on the way, and returns the node for the last part.
  auto node_for = [&](const std::string& path) -> json& {
    json* node = &root;
    std::stringstream parts(path);
    std::string part;
    std::vector<std::string> names;
    while (std::getline(parts, part, '.')) {
      names.push_back(part);
    }
    for (size_t i = 0; i < names.size(); ++i) {
      std::string name = names[i];
      bool item = name.size() > 2 && name.compare(name.size() - 2, 2, "[]") == 0;
      if (item) {
        name.resize(name.size() - 2);
      }
      if (name == "D" || name == "P") {
        json& child = (*node)["additionalProperties"];
        if (!child.is_object()) {
          child = {{"type", "object"}, {"additionalProperties", false}, {"properties", json::object()}};
        }
        node = &child;
      } else {
        json& child = (*node)["properties"][name];
        if (child.is_null()) {
          child = json::object();
        }
        node = &child;
      }
      if (item) {
        json& items = (*node)["items"];
        if (items.is_null()) {
          items = {{"type", "object"}, {"additionalProperties", false}, {"properties", json::object()}};
        }
        node = &items;
      }
      if (i + 1 < names.size() && !item && names[i + 1] != "D" && names[i + 1] != "P" &&
          !node->contains("additionalProperties")) {
        (*node)["additionalProperties"] = false;
      }
    }
    return *node;
  };
  for (const auto& key : config_reference()) {
    json& node = node_for(key.path);
    json type = schema_type(key.type);
    for (auto& [name, value] : type.items()) {
      if (!node.contains(name)) {
        node[name] = value;
      }
    }
    node["description"] = key.description + " Allowed: " + key.allowed + "." +
                          (key.default_value.empty() ? "" : " Default: " + key.default_value + ".");
    json constraints = schema_constraints(key);
    for (auto& [name, value] : constraints.items()) {
      node[name] = value;
    }
  }
  // A domain's policy, tlsrpt, policy_host and caa take what the defaults take.
  for (const auto& key : config_reference()) {
    if (key.path.rfind("domains.D.", 0) == 0 && (key.type == "map" || key.type == "list")) {
      json& node = node_for(key.path);
      std::string description = node["description"];
      node = node_for("defaults." + key.path.substr(10));
      node["description"] = description;
    }
  }
  node_for("rollout.stages[]")["required"] = {"mode", "max_age"};
  node_for("domains")["minProperties"] = 1;
  node_for("rollout.stages")["minItems"] = 1;
  node_for("providers.P")["required"] = {"type"};
  out << root.dump(2) << "\n";
}

int usage(const std::string& message) {
  std::cerr << "stsctl: " << message << "\n";
  return 1;
}

}  // namespace

std::optional<int> run_generator(const CLI::App& app, int argc, char** argv) {
  if (argc < 2) {
    return std::nullopt;
  }
  std::string command = argv[1];
  std::string arg = argc > 2 ? argv[2] : "";
  if (command == "__manpage") {
    if (arg == "stsctl") {
      manpage_stsctl(app, std::cout);
    } else if (arg == "stsctl.yaml") {
      manpage_yaml(std::cout);
    } else {
      return usage("__manpage: expected stsctl or stsctl.yaml");
    }
    return 0;
  }
  if (command == "__completion") {
    auto tree = command_tree(app);
    if (arg == "bash") {
      bash_script(tree, std::cout);
    } else if (arg == "zsh") {
      zsh_script(tree, std::cout);
    } else if (arg == "fish") {
      fish_script(tree, std::cout);
    } else {
      return usage("__completion: expected bash, zsh or fish");
    }
    return 0;
  }
  if (command == "__schema") {
    json_schema(std::cout);
    return 0;
  }
  if (command == "__reference") {
    reference_markdown(std::cout);
    return 0;
  }
  if (command == "__domains") {
    // Completion calls this on every tab: print what loads, say nothing else.
    LoadResult result = load_config(arg.empty() ? "stsctl.yaml" : arg);
    if (result.ok()) {
      for (const auto& domain : result.config.domains) {
        std::cout << domain.name << "\n";
      }
    }
    return 0;
  }
  return std::nullopt;
}

}  // namespace stsctl
