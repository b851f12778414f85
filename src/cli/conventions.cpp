#include "cli/conventions.h"

#include "config/edit_distance.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace stsctl {

namespace {

std::vector<const CLI::App*> subcommands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); });
}

const CLI::App* find_subcommand(const CLI::App& app, const std::string& name) {
  for (const auto* sub : subcommands_of(app)) {
    if (sub->get_name() == name) {
      return sub;
    }
  }
  return nullptr;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : subcommands_of(app)) {
    names.push_back(sub->get_name());
  }
  return names;
}

/// The option `name` ("--x" or "-x") of `chain` (innermost last), or nullptr.
const CLI::Option* find_option(const std::vector<const CLI::App*>& chain, const std::string& name) {
  for (const auto* app : chain) {
    for (const auto* option : app->get_options()) {
      for (const auto& lname : option->get_lnames()) {
        if (name == "--" + lname) {
          return option;
        }
      }
      for (const auto& sname : option->get_snames()) {
        if (name == "-" + sname) {
          return option;
        }
      }
    }
  }
  return nullptr;
}

std::vector<std::string> option_names(const std::vector<const CLI::App*>& chain) {
  std::vector<std::string> names;
  for (const auto* app : chain) {
    for (const auto* option : app->get_options()) {
      for (const auto& lname : option->get_lnames()) {
        names.push_back("--" + lname);
      }
    }
  }
  return names;
}

std::string command_path(const std::vector<const CLI::App*>& chain) {
  std::string path;
  for (size_t i = 1; i < chain.size(); ++i) {
    path += (path.empty() ? "" : " ") + chain[i]->get_name();
  }
  return path;
}

bool has_positional(const CLI::App& app) {
  for (const auto* option : app.get_options()) {
    if (option->get_positional()) {
      return true;
    }
  }
  return false;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string suggestion = spellcheck(word, candidates);
  return suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)";
}

/// The first word of argv that names no command or option, as a message; ""
/// when every word is known (the error is of another kind).
std::string explain_unknown_word(const CLI::App& app, int argc, char** argv) {
  std::vector<const CLI::App*> chain{&app};
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--") {
      break;
    }
    if (word.size() > 1 && word[0] == '-') {
      std::string name = word.substr(0, word.find('='));
      if (name.size() > 2 && name[1] != '-') {
        name = name.substr(0, 2);  // -cFILE
      }
      const CLI::Option* option = find_option(chain, name);
      if (option == nullptr) {
        std::string where = command_path(chain);
        return "unknown option '" + name + "'" + (where.empty() ? "" : " for " + where) +
               did_you_mean(name, option_names(chain));
      }
      bool inline_value = word.find('=') != std::string::npos || (name.size() == 2 && word.size() > 2);
      if (option->get_expected_max() != 0 && !inline_value) {
        ++i;  // its value
      }
      continue;
    }
    if (const CLI::App* sub = find_subcommand(*chain.back(), word)) {
      chain.push_back(sub);
      continue;
    }
    if (has_positional(*chain.back())) {
      continue;
    }
    auto names = subcommand_names(*chain.back());
    if (names.empty()) {
      return "unexpected argument '" + word + "' for " + command_path(chain);
    }
    std::string where = command_path(chain);
    return "unknown command '" + (where.empty() ? word : where + " " + word) + "'" +
           did_you_mean(word, names);
  }
  return "";
}

}  // namespace

std::optional<int> run_help_command(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) != "help") {
    return std::nullopt;
  }
  const CLI::App* target = &app;
  std::string path;
  for (int i = 2; i < argc; ++i) {
    const CLI::App* sub = find_subcommand(*target, argv[i]);
    path += (path.empty() ? "" : " ") + std::string(argv[i]);
    if (sub == nullptr) {
      std::cerr << "stsctl: unknown command '" << path << "'"
                << did_you_mean(argv[i], subcommand_names(*target)) << "\n";
      return 1;
    }
    target = sub;
  }
  // Parse "stsctl COMMAND... --help" so the text is --help's, word for word.
  std::vector<std::string> words{argv[0]};
  words.insert(words.end(), argv + 2, argv + argc);
  words.emplace_back("--help");
  std::vector<char*> pointers;
  for (auto& word : words) {
    pointers.push_back(word.data());
  }
  try {
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  return 0;
}

int handle_parse_error(CLI::App& app, const CLI::ParseError& error, int argc, char** argv) {
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(error);  // --help, --version
  }
  std::string unknown = explain_unknown_word(app, argc, argv);
  std::cerr << "stsctl: " << (unknown.empty() ? std::string(error.what()) : unknown) << "\n"
            << "Run 'stsctl help' or 'stsctl COMMAND --help' for more information.\n";
  return 1;
}

}  // namespace stsctl
