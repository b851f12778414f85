#include "publish/webroot.h"
#include "util/fd.h"

#include "dns/name.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace stsctl {

namespace {

std::string system_error(const std::string& verb, const std::string& path, int error) {
  return "failed to " + verb + " '" + path + "' (" + std::strerror(error) + ")";
}


// mkdir -p with mode 0755 for every directory it creates (chmod so a strict
// umask does not leave the web server unable to read them).
void make_directories(const std::string& path) {
  std::string current;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) {
      slash = path.size();
    }
    current = path.substr(0, slash);
    pos = slash + 1;
    if (current.empty() || current == ".") {
      continue;
    }
    if (::mkdir(current.c_str(), 0755) == 0) {
      ::chmod(current.c_str(), 0755);
    } else if (errno != EEXIST) {
      throw std::runtime_error(system_error("create directory", current, errno));
    } else {
      struct stat info {};
      if (::stat(current.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
        throw std::runtime_error(system_error("create directory", current, ENOTDIR));
      }
    }
  }
}

bool read_whole(const std::string& path, std::string& out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return false;
    }
    throw std::runtime_error(system_error("read", path, errno));
  }
  out.clear();
  char buffer[16384];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::runtime_error(system_error("read", path, errno));
    }
    if (n == 0) {
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string policy_path(const std::string& webroot, const std::string& domain) {
  std::string root = webroot;
  while (root.size() > 1 && root.back() == '/') {
    root.pop_back();
  }
  return root + "/mta-sts." + normalize_name(domain) + "/.well-known/mta-sts.txt";
}

std::string read_policy_file(const std::string& webroot, const std::string& domain) {
  std::string text;
  read_whole(policy_path(webroot, domain), text);
  return text;
}

bool write_policy_file(const std::string& webroot, const std::string& domain, const std::string& text,
                       Durability durability) {
  std::string path = policy_path(webroot, domain);
  std::string existing;
  if (read_whole(path, existing) && existing == text) {
    return false;
  }
  std::string directory = path.substr(0, path.rfind('/'));
  make_directories(directory);

  // Readers (the web server) see either the old or the new file, never half.
  std::string temp_pattern = directory + "/.mta-sts.txt.XXXXXX";
  std::vector<char> temp_name(temp_pattern.begin(), temp_pattern.end());
  temp_name.push_back('\0');
  Fd fd(::mkstemp(temp_name.data()));
  if (fd.get() < 0) {
    throw std::runtime_error(system_error("create a temporary file in", directory, errno));
  }
  std::string temp_path = temp_name.data();
  auto fail = [&](const std::string& verb, const std::string& target, int error) {
    ::unlink(temp_path.c_str());
    throw std::runtime_error(system_error(verb, target, error));
  };
  if (::fchmod(fd.get(), 0644) != 0) {
    fail("set permissions on", temp_path, errno);
  }
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("write", temp_path, errno);
    }
    written += static_cast<size_t>(n);
  }
  if (durability == Durability::Sync && ::fsync(fd.get()) != 0) {
    fail("sync", temp_path, errno);
  }
  if (::close(fd.release()) != 0) {
    fail("close", temp_path, errno);
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    fail("rename '" + temp_path + "' to", path, errno);
  }
  // Make the rename itself durable.
  if (durability == Durability::Sync) {
    Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() >= 0) {
      ::fsync(dir.get());
    }
  }
  return true;
}

void sync_filesystem(const std::string& webroot) {
  Fd dir(::open(webroot.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::syncfs(dir.get()) != 0) {
    throw std::runtime_error(system_error("sync the file system of", webroot, errno));
  }
}

}  // namespace stsctl
