#include "cli/generate.h"

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

struct OptionDoc {
  std::vector<std::string> names;    // "-c", "--config"; empty for a positional
  std::string positional;            // "domains" for a positional
  std::string value;                 // "FILE", "text|json"; empty for a flag
  std::vector<std::string> choices;  // allowed values, when CLI11 checks them
  std::string description;
  bool takes_domain = false;  // completes to configured domain names
};

struct CommandDoc {
  std::string path;  // "render zone"; "" for the program itself
  std::string description;
  std::vector<OptionDoc> options;
  std::vector<std::string> subcommands;
};

std::string upper(std::string text) {
  for (auto& c : text) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return text;
}

std::vector<std::string> split_set(const std::string& text) {
  // CLI11 describes IsMember as "{a,b,c}".
  std::vector<std::string> out;
  auto open = text.find('{');
  auto close = text.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return out;
  }
  std::stringstream items(text.substr(open + 1, close - open - 1));
  std::string item;
  while (std::getline(items, item, ',')) {
    out.push_back(item);
  }
  return out;
}

/// The placeholder for an option's value in the manual and --help alike.
std::string metavar(const std::string& long_name, const std::string& description) {
  static const std::vector<std::pair<std::string, std::string>> k_names = {
      {"config", "FILE"},
      {"state", "FILE"},
      {"templates", "DIR"},
      {"ca-file", "FILE"},
      {"now", "TIME"},
      {"resolver", "IP[:PORT]"},
      {"connect-to", "HOST:PORT:ADDR:PORT"},
      {"domain", "DOMAIN"}};
  for (const auto& [name, value] : k_names) {
    if (name == long_name) {
      return value;
    }
  }
  if (long_name == "output") {
    return description.find("DIR") != std::string::npos ? "DIR" : "FILE";
  }
  return upper(long_name);
}

OptionDoc describe_option(const CLI::Option& option) {
  OptionDoc doc;
  doc.description = option.get_description();
  std::string type = option.get_type_name();
  doc.choices = split_set(type);
  std::string base = type.substr(0, type.find(':'));
  if (option.get_positional()) {
    doc.positional = option.get_name(true);
    doc.value = upper(doc.positional);
    if (doc.positional == "domains") {
      doc.value = "DOMAIN";
      doc.takes_domain = true;
    }
    return doc;
  }
  for (const auto& name : option.get_snames()) {
    doc.names.push_back("-" + name);
  }
  for (const auto& name : option.get_lnames()) {
    doc.names.push_back("--" + name);
  }
  if (option.get_expected_max() == 0) {
    return doc;  // a flag
  }
  std::string long_name = option.get_lnames().empty() ? "value" : option.get_lnames().front();
  if (!doc.choices.empty()) {
    for (size_t i = 0; i < doc.choices.size(); ++i) {
      doc.value += (i == 0 ? "" : "|") + doc.choices[i];
    }
  } else if (base.rfind("INT", 0) == 0 || base.rfind("UINT", 0) == 0 || base.rfind("FLOAT", 0) == 0) {
    doc.value = "N";
  } else {
    doc.value = metavar(long_name, doc.description);
  }
  doc.takes_domain = long_name == "domain";
  return doc;
}

void collect(const CLI::App& app, const std::string& path, std::vector<CommandDoc>& out) {
  CommandDoc doc;
  doc.path = path;
  doc.description = app.get_description();
  for (const auto* option : app.get_options()) {
    bool is_help = !option->get_lnames().empty() && option->get_lnames().front() == "help";
    if (is_help && !path.empty()) {
      continue;  // every command has -h/--help; the manual says so once
    }
    doc.options.push_back(describe_option(*option));
  }
  auto subcommands = app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); });
  for (const auto* sub : subcommands) {
    doc.subcommands.push_back(sub->get_name());
  }
  out.push_back(doc);
  for (const auto* sub : subcommands) {
    collect(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
  }
}

std::vector<CommandDoc> command_tree(const CLI::App& app) {
  std::vector<CommandDoc> out;
  collect(app, "", out);
  return out;
}

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

// ---- completion ----

std::string words_of(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) {
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

std::string quoted_single(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

struct Completion {
  const CommandDoc* command;
  std::vector<const OptionDoc*> options;  // its own and the global ones
  bool positional_domains = false;
};

std::vector<Completion> completions(const std::vector<CommandDoc>& tree) {
  std::vector<Completion> out;
  for (const auto& command : tree) {
    Completion item{&command, {}, false};
    for (const auto* source : {&command, &tree.front()}) {
      for (const auto& option : source->options) {
        if (!option.positional.empty()) {
          item.positional_domains = item.positional_domains || option.takes_domain;
        } else if (source == &command || !command.path.empty()) {
          item.options.push_back(&option);
        }
      }
      if (command.path.empty()) {
        break;
      }
    }
    out.push_back(item);
  }
  return out;
}

std::string option_words(const Completion& item) {
  std::vector<std::string> words;
  for (const auto* option : item.options) {
    words.insert(words.end(), option->names.begin(), option->names.end());
  }
  return words_of(words);
}

/// Value-taking options other than those with choices or domains: files.
void bash_script(const std::vector<CommandDoc>& tree, std::ostream& out) {
  auto items = completions(tree);
  out << "# bash completion for stsctl (generated by stsctl __completion bash)\n"
      << "_stsctl_domains() {\n"
      << "  local config=stsctl.yaml i\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    case ${COMP_WORDS[i]} in\n"
      << "      -c | --config) config=${COMP_WORDS[i + 1]} ;;\n"
      << "      --config=*) config=${COMP_WORDS[i]#--config=} ;;\n"
      << "    esac\n"
      << "  done\n"
      << "  \"${COMP_WORDS[0]}\" __domains \"$config\" 2>/dev/null\n"
      << "}\n\n"
      << "_stsctl() {\n"
      << "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} path='' i word\n"
      << "  COMPREPLY=()\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    word=${COMP_WORDS[i]}\n"
      << "    case \"$path/$word\" in\n";
  for (const auto& command : tree) {
    for (const auto& sub : command.subcommands) {
      std::string next = command.path.empty() ? sub : command.path + " " + sub;
      out << "      " << quoted_single(command.path + "/" + sub) << ") path=" << quoted_single(next)
          << " ;;\n";
    }
  }
  out << "    esac\n  done\n";
  out << "  case \"$prev\" in\n";
  // Values: choices, domains, or files.
  std::vector<std::string> seen;
  for (const auto& item : items) {
    for (const auto* option : item.options) {
      if (option->value.empty() || option->names.empty()) {
        continue;
      }
      std::string key = words_of(option->names) + "=" + option->value;
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        continue;
      }
      seen.push_back(key);
      std::string pattern;
      for (const auto& name : option->names) {
        pattern += (pattern.empty() ? "" : " | ") + name;
      }
      out << "    " << pattern << ")\n      case \"$path\" in\n        " << quoted_single(item.command->path)
          << ")\n";
      if (!option->choices.empty()) {
        out << "          mapfile -t COMPREPLY < <(compgen -W " << quoted_single(words_of(option->choices))
            << " -- \"$cur\")\n";
      } else if (option->takes_domain) {
        out << "          mapfile -t COMPREPLY < <(compgen -W \"$(_stsctl_domains)\" -- \"$cur\")\n";
      } else if (option->value == "N") {
        out << "          :\n";
      } else {
        out << "          mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n";
      }
      out << "          return ;;\n      esac ;;\n";
    }
  }
  out << "  esac\n";
  out << "  case \"$path\" in\n";
  for (const auto& item : items) {
    out << "    " << quoted_single(item.command->path) << ")\n";
    out << "      if [[ $cur == -* ]]; then\n        mapfile -t COMPREPLY < <(compgen -W "
        << quoted_single(option_words(item)) << " -- \"$cur\")\n";
    if (!item.command->subcommands.empty()) {
      out << "      else\n        mapfile -t COMPREPLY < <(compgen -W "
          << quoted_single(words_of(item.command->subcommands)) << " -- \"$cur\")\n";
    } else if (item.positional_domains) {
      out << "      else\n        mapfile -t COMPREPLY < <(compgen -W \"$(_stsctl_domains)\" -- \"$cur\")\n";
    }
    out << "      fi ;;\n";
  }
  out << "  esac\n}\ncomplete -o default -F _stsctl stsctl\n";
}

void zsh_script(const std::vector<CommandDoc>& tree, std::ostream& out) {
  auto items = completions(tree);
  out << "#compdef stsctl\n# zsh completion for stsctl (generated by stsctl __completion zsh)\n"
      << "_stsctl_domains() {\n"
      << "  local config=stsctl.yaml i\n"
      << "  for ((i = 2; i < CURRENT; i++)); do\n"
      << "    case ${words[i]} in\n"
      << "      -c | --config) config=${words[i + 1]} ;;\n"
      << "      --config=*) config=${words[i]#--config=} ;;\n"
      << "    esac\n"
      << "  done\n"
      << "  local -a domains\n"
      << "  domains=(${(f)\"$(${words[1]} __domains $config 2>/dev/null)\"})\n"
      << "  compadd -a domains\n"
      << "}\n\n"
      << "_stsctl() {\n"
      << "  local cur=${words[CURRENT]} prev=${words[CURRENT - 1]} path='' i word\n"
      << "  for ((i = 2; i < CURRENT; i++)); do\n"
      << "    word=${words[i]}\n"
      << "    case \"$path/$word\" in\n";
  for (const auto& command : tree) {
    for (const auto& sub : command.subcommands) {
      std::string next = command.path.empty() ? sub : command.path + " " + sub;
      out << "      " << quoted_single(command.path + "/" + sub) << ") path=" << quoted_single(next)
          << " ;;\n";
    }
  }
  out << "    esac\n  done\n  case \"$path/$prev\" in\n";
  for (const auto& item : items) {
    for (const auto* option : item.options) {
      if (option->value.empty() || option->names.empty()) {
        continue;
      }
      std::string pattern;
      for (const auto& name : option->names) {
        pattern += (pattern.empty() ? "" : " | ") + quoted_single(item.command->path + "/" + name);
      }
      out << "    " << pattern << ")\n";
      if (!option->choices.empty()) {
        out << "      compadd -- " << words_of(option->choices) << "\n";
      } else if (option->takes_domain) {
        out << "      _stsctl_domains\n";
      } else if (option->value != "N") {
        out << "      _files\n";
      }
      out << "      return ;;\n";
    }
  }
  out << "  esac\n  case \"$path\" in\n";
  for (const auto& item : items) {
    out << "    " << quoted_single(item.command->path) << ")\n";
    out << "      if [[ $cur == -* ]]; then\n        compadd -- " << option_words(item) << "\n";
    if (!item.command->subcommands.empty()) {
      out << "      else\n        compadd -- " << words_of(item.command->subcommands) << "\n";
    } else if (item.positional_domains) {
      out << "      else\n        _stsctl_domains\n";
    }
    out << "      fi ;;\n";
  }
  out << "  esac\n}\n\nif [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n  _stsctl \"$@\"\nelse\n"
      << "  compdef _stsctl stsctl\nfi\n";
}

void fish_script(const std::vector<CommandDoc>& tree, std::ostream& out) {
  auto items = completions(tree);
  out << "# fish completion for stsctl (generated by stsctl __completion fish)\n"
      << "function __stsctl_path\n"
      << "    set -l words (commandline -opc)\n"
      << "    set -l path ''\n"
      << "    for word in $words[2..-1]\n"
      << "        switch \"$path/$word\"\n";
  for (const auto& command : tree) {
    for (const auto& sub : command.subcommands) {
      std::string next = command.path.empty() ? sub : command.path + " " + sub;
      out << "            case " << quoted_single(command.path + "/" + sub) << "\n                set path "
          << quoted_single(next) << "\n";
    }
  }
  out << "        end\n    end\n    echo $path\nend\n\n"
      << "function __stsctl_at\n    test (__stsctl_path) = \"$argv[1]\"\nend\n\n"
      << "function __stsctl_domains\n"
      << "    set -l words (commandline -opc)\n"
      << "    set -l config stsctl.yaml\n"
      << "    for i in (seq 2 (count $words))\n"
      << "        if contains -- $words[$i] -c --config; and test $i -lt (count $words)\n"
      << "            set config $words[(math $i + 1)]\n"
      << "        end\n"
      << "    end\n"
      << "    $words[1] __domains $config 2>/dev/null\n"
      << "end\n\n"
      << "complete -c stsctl -f\n";
  for (const auto& item : items) {
    std::string condition = "-n " + quoted_single("__stsctl_at " + quoted_single(item.command->path));
    for (const auto& sub : item.command->subcommands) {
      std::string description;
      for (const auto& other : tree) {
        if (other.path == (item.command->path.empty() ? sub : item.command->path + " " + sub)) {
          description = other.description;
        }
      }
      out << "complete -c stsctl " << condition << " -a " << sub << " -d " << quoted_single(description)
          << "\n";
    }
    if (item.positional_domains) {
      out << "complete -c stsctl " << condition << " -a '(__stsctl_domains)'\n";
    }
    for (const auto* option : item.options) {
      out << "complete -c stsctl " << condition;
      for (const auto& name : option->names) {
        out << (name.rfind("--", 0) == 0 ? " -l " + name.substr(2) : " -s " + name.substr(1));
      }
      if (!option->choices.empty()) {
        out << " -x -a " << quoted_single(words_of(option->choices));
      } else if (option->takes_domain) {
        out << " -x -a '(__stsctl_domains)'";
      } else if (option->value == "N") {
        out << " -x";
      } else if (!option->value.empty()) {
        out << " -r -F";
      }
      out << " -d " << quoted_single(option->description) << "\n";
    }
  }
}

// ---- JSON Schema ----

/// What the words of the reference say, for a validator: enums and ranges.
nlohmann::json schema_constraints(const std::string& path) {
  using nlohmann::json;
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
  if (path == "providers.P.type") {
    return {{"enum", {"powerdns", "rfc2136"}}};
  }
  if (path == "providers.P.transport") {
    return {{"enum", {"tcp", "udp"}}};
  }
  if (path == "providers.P.tsig.algorithm") {
    return {{"enum", {"hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5"}}};
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
    json constraints = schema_constraints(key.path);
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
