#include "publish/webroot.h"

#include "dns/name.h"

namespace stsctl {

std::string policy_path(const std::string& webroot, const std::string& domain) {
  std::string root = webroot;
  while (root.size() > 1 && root.back() == '/') {
    root.pop_back();
  }
  return root + "/" + policy_relative_path(domain);
}

std::string policy_relative_path(const std::string& domain) {
  return "mta-sts." + normalize_name(domain) + "/.well-known/mta-sts.txt";
}

std::string read_policy_file(const std::string& webroot, const std::string& domain) {
  std::string text;
  read_file_if_exists(policy_path(webroot, domain), text);
  return text;
}

bool write_policy_file(const std::string& webroot, const std::string& domain, const std::string& text,
                       Durability durability) {
  return FileTree(webroot).write(policy_relative_path(domain), text, durability, Directories::Create);
}

}  // namespace stsctl
