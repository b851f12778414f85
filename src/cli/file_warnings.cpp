#include "cli/file_warnings.h"

#include "config/yaml_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace stsctl {

namespace {

enum class Want { File, Directory };

/// Why `path` cannot be used, or "" when it can.
std::string problem(const std::string& path, Want want) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return errno == ENOENT ? "does not exist" : "cannot be read (" + std::string(std::strerror(errno)) + ")";
  }
  if (want == Want::Directory) {
    return S_ISDIR(info.st_mode) ? "" : "is not a directory";
  }
  if (S_ISDIR(info.st_mode)) {
    return "is a directory, not a file";
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return "cannot be read (" + std::string(std::strerror(errno)) + ")";
  }
  ::close(fd);
  return "";
}

struct Walker {
  const Config& config;
  std::vector<Diagnostic> out;

  void check(const yaml::Node& value, const std::string& path, Want want) {
    if (!value.IsScalar() || value.Scalar().empty()) {
      return;
    }
    std::filesystem::path target = value.Scalar();
    if (target.is_relative()) {
      target = std::filesystem::path(config.base_dir) / target;
    }
    std::string why = problem(target.string(), want);
    if (why.empty()) {
      return;
    }
    Diagnostic warning;
    warning.file = config.file;
    warning.line = value.Mark().line + 1;
    warning.column = value.Mark().column + 1;
    warning.key_path = path;
    warning.message = "warning: '" + value.Scalar() + "' " + why +
                      (value.Scalar() == target.string() ? "" : " (" + target.string() + ")");
    out.push_back(warning);
  }

  /// Calls `fn(key, value)` for each pair of a map node.
  template <typename Fn>
  void each(const yaml::Node& map, Fn fn) {
    if (!map.IsMap()) {
      return;
    }
    for (const auto& pair : map) {
      if (pair.first.IsScalar()) {
        fn(pair.first.Scalar(), pair.second);
      }
    }
  }
};

}  // namespace

std::vector<Diagnostic> referenced_file_warnings(const Config& config) {
  std::ifstream in(config.file, std::ios::binary);
  if (!in) {
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  yaml::Node root;
  try {
    root = yaml::load(text.str());
  } catch (const yaml::ParseError&) {
    return {};
  }
  Walker walker{config, {}};
  walker.each(root, [&](const std::string& section, const yaml::Node& body) {
    if (section == "providers") {
      // A backend's block names its files in *_file keys (at any depth).
      std::function<void(const std::string&, const yaml::Node&)> files = [&](const std::string& path,
                                                                             const yaml::Node& block) {
        walker.each(block, [&](const std::string& key, const yaml::Node& value) {
          const std::string suffix = "_file";
          bool names_file = key.size() > suffix.size() &&
                            key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
          if (names_file) {
            walker.check(value, path + "." + key, Want::File);
          } else {
            files(path + "." + key, value);
          }
        });
      };
      walker.each(body, [&](const std::string& name, const yaml::Node& provider) {
        files("providers." + name, provider);
      });
    } else if (section == "publish") {
      walker.each(body, [&](const std::string& key, const yaml::Node& value) {
        if (key == "ca_file") {
          walker.check(value, "publish.ca_file", Want::File);
        } else if (key == "webroot") {
          walker.check(value, "publish.webroot", Want::Directory);
        }
      });
    } else if (section == "rollout") {
      walker.each(body, [&](const std::string& key, const yaml::Node& gates) {
        if (key == "gates") {
          walker.each(gates, [&](const std::string& gate_key, const yaml::Node& value) {
            if (gate_key == "ca_file") {
              walker.check(value, "rollout.gates.ca_file", Want::File);
            }
          });
        }
      });
    }
  });
  return walker.out;
}

}  // namespace stsctl
