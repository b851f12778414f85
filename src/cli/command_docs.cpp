#include "cli/command_docs.h"

#include <CLI/CLI.hpp>

#include <sstream>

namespace stsctl {

std::string upper(std::string text) {
  for (auto& c : text) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return text;
}

namespace {

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

}  // namespace

std::vector<CommandDoc> command_tree(const CLI::App& app) {
  std::vector<CommandDoc> out;
  collect(app, "", out);
  return out;
}

}  // namespace stsctl
