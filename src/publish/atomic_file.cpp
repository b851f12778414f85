#include "publish/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace stsctl {

namespace {

constexpr mode_t k_file_mode = 0644;
constexpr mode_t k_directory_mode = 0755;

std::string system_error(const std::string& verb, const std::string& path, int error) {
  return "failed to " + verb + " '" + path + "' (" + std::strerror(error) + ")";
}

/// umask(2) can only be read by setting it; done before any worker starts.
mode_t current_umask() {
  mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

/// Reads everything from `fd` into `out`; returns 0 or the errno.
int read_all(int fd, std::string& out) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return errno;
  }
  out.clear();
  // One read answers for a small file: a short read of a regular file is its end.
  size_t wanted = static_cast<size_t>(info.st_size) + 1;
  std::vector<char> buffer(std::max<size_t>(wanted, 4096));
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    out.append(buffer.data(), static_cast<size_t>(n));
    if (n == 0 || (S_ISREG(info.st_mode) && static_cast<size_t>(n) < buffer.size())) {
      return 0;
    }
  }
}

/// Writes all of `content`; returns 0 or the errno.
int write_all(int fd, const std::string& content) {
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    written += static_cast<size_t>(n);
  }
  return 0;
}

/// "a/b/c" -> "a/b"; "c" -> "".
std::string parent_of(const std::string& relative) {
  size_t slash = relative.rfind('/');
  return slash == std::string::npos ? std::string() : relative.substr(0, slash);
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// A directory to pass to *at() calls: "" means the tree's root itself.
const char* at_path(const std::string& relative) { return relative.empty() ? "." : relative.c_str(); }

void sync_directory(int root, const std::string& relative) {
  Fd dir(::openat(root, at_path(relative), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) {
    ::fsync(dir.get());
  }
}

}  // namespace

FileTree::FileTree(const std::string& root, NewRoot new_root) : m_root(root) {
  while (m_root.size() > 1 && m_root.back() == '/') {
    m_root.pop_back();
  }
  m_fd.reset(::open(m_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (m_fd.get() < 0 && errno == ENOENT) {
    std::string parent = directory_of(m_root);
    stsctl::make_directories(parent);
    if (new_root == NewRoot::Stage) {
      std::string pattern = parent + "/." + m_root.substr(m_root.rfind('/') + 1) + ".stsctl-XXXXXX";
      std::vector<char> name(pattern.begin(), pattern.end());
      name.push_back('\0');
      if (::mkdtemp(name.data()) == nullptr) {
        throw std::runtime_error(system_error("create a directory in", parent, errno));
      }
      m_staging = name.data();
      ::chmod(m_staging.c_str(), k_directory_mode);  // mkdtemp makes it 0700
      m_fd.reset(::open(m_staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    } else {
      stsctl::make_directories(m_root);
      m_fd.reset(::open(m_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
    m_fresh = true;
  }
  if (m_fd.get() < 0) {
    throw std::runtime_error(system_error("open directory", m_staging.empty() ? m_root : m_staging, errno));
  }
  mode_t mask = current_umask();
  m_umask_cuts_modes = (k_file_mode & mask) != 0 || (k_directory_mode & mask) != 0;
}

FileTree::~FileTree() {
  if (!m_staging.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(m_staging, ignored);
  }
}

void FileTree::publish() {
  if (m_staging.empty()) {
    return;
  }
  // RENAME_NOREPLACE: a root someone created meanwhile is not replaced.
  int moved = ::renameat2(AT_FDCWD, m_staging.c_str(), AT_FDCWD, m_root.c_str(), RENAME_NOREPLACE);
  if (moved != 0 && errno == EINVAL) {  // a file system without RENAME_NOREPLACE
    moved = ::rename(m_staging.c_str(), m_root.c_str());
  }
  if (moved != 0) {
    int error = errno;
    std::string staged = m_staging;
    m_staging.clear();  // keep the files for the operator
    throw std::runtime_error(
        system_error("move the new files from '" + staged + "' to", m_root, error) +
        (error == EEXIST || error == ENOTEMPTY ? ": it appeared while stsctl was writing" : ""));
  }
  m_staging.clear();
}

std::string FileTree::display(const std::string& relative) const {
  const std::string& base = m_staging.empty() ? m_root : m_staging;
  return relative.empty() ? base : base + "/" + relative;
}

void FileTree::make_directories(const std::string& relative) const {
  if (relative.empty()) {
    return;
  }
  if (m_fresh) {
    // Nothing below a root made by this run exists but what it made itself:
    // top down, one mkdir per level; EEXIST is a sibling file's parent.
    for (size_t slash = relative.find('/');; slash = relative.find('/', slash + 1)) {
      std::string level = relative.substr(0, slash);
      if (::mkdirat(m_fd.get(), level.c_str(), k_directory_mode) == 0) {
        if (m_umask_cuts_modes) {
          ::fchmodat(m_fd.get(), level.c_str(), k_directory_mode, 0);
        }
      } else if (errno != EEXIST) {
        throw std::runtime_error(system_error("create directory", display(level), errno));
      }
      if (slash == std::string::npos) {
        return;
      }
    }
  }
  // Deepest first: when the parents exist, one mkdir answers.
  int error = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::mkdirat(m_fd.get(), relative.c_str(), k_directory_mode) == 0) {
      if (m_umask_cuts_modes) {
        ::fchmodat(m_fd.get(), relative.c_str(), k_directory_mode, 0);
      }
      return;
    }
    error = errno;
    if (error != ENOENT || attempt == 1) {
      break;
    }
    std::string parent = parent_of(relative);
    if (parent.empty()) {
      break;
    }
    make_directories(parent);
  }
  if (error == EEXIST) {
    struct stat info {};
    if (::fstatat(m_fd.get(), relative.c_str(), &info, 0) == 0 && S_ISDIR(info.st_mode)) {
      return;
    }
    error = ENOTDIR;
  }
  throw std::runtime_error(system_error("create directory", display(relative), error));
}

void FileTree::fill(int fd, const std::string& relative, const std::string& content,
                    Durability durability) const {
  if (m_umask_cuts_modes && ::fchmod(fd, k_file_mode) != 0) {
    throw std::runtime_error(system_error("set permissions on", display(relative), errno));
  }
  if (int error = write_all(fd, content)) {
    throw std::runtime_error(system_error("write", display(relative), error));
  }
  if (durability == Durability::Sync && ::fsync(fd) != 0) {
    throw std::runtime_error(system_error("sync", display(relative), errno));
  }
}

bool FileTree::create_complete(const std::string& relative, const std::string& content,
                               Durability durability) const {
  std::string directory = parent_of(relative);
  Fd fd(::openat(m_fd.get(), at_path(directory), O_TMPFILE | O_WRONLY | O_CLOEXEC, k_file_mode));
  if (fd.get() < 0) {
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
      return false;  // no O_TMPFILE here
    }
    throw std::runtime_error(system_error("create a file in", display(directory), errno));
  }
  fill(fd.get(), relative, content, durability);
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link works for anyone.
  if (::linkat(fd.get(), "", m_fd.get(), relative.c_str(), AT_EMPTY_PATH) != 0) {
    if (errno == EEXIST) {
      return false;  // appeared meanwhile: replace it
    }
    std::string self = "/proc/self/fd/" + std::to_string(fd.get());
    if (::linkat(AT_FDCWD, self.c_str(), m_fd.get(), relative.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      if (errno == EEXIST || errno == ENOENT) {
        return false;
      }
      throw std::runtime_error(system_error("create", display(relative), errno));
    }
  }
  if (durability == Durability::Sync) {
    sync_directory(m_fd.get(), directory);
  }
  return true;
}

bool FileTree::create_plain(const std::string& relative, const std::string& content,
                            Durability durability) const {
  Fd fd(::openat(m_fd.get(), relative.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, k_file_mode));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return false;  // written before in this run: replace it
    }
    throw std::runtime_error(system_error("create", display(relative), errno));
  }
  fill(fd.get(), relative, content, durability);
  return true;
}

void FileTree::replace_by_rename(const std::string& relative, const std::string& content,
                                 Durability durability) const {
  std::string directory = parent_of(relative);
  // mkostemp wants a whole path; this path is rare (a changed file).
  std::string pattern = display(relative) + ".XXXXXX";
  std::vector<char> temp_name(pattern.begin(), pattern.end());
  temp_name.push_back('\0');
  Fd fd(::mkostemp(temp_name.data(), O_CLOEXEC));
  if (fd.get() < 0) {
    throw std::runtime_error(system_error("create a temporary file in", display(directory), errno));
  }
  std::string temp_path = temp_name.data();
  auto fail = [&](const std::string& verb, const std::string& target, int error) {
    ::unlink(temp_path.c_str());
    throw std::runtime_error(system_error(verb, target, error));
  };
  if (::fchmod(fd.get(), k_file_mode) != 0) {
    fail("set permissions on", temp_path, errno);
  }
  if (int error = write_all(fd.get(), content)) {
    fail("write", temp_path, error);
  }
  if (durability == Durability::Sync && ::fsync(fd.get()) != 0) {
    fail("sync", temp_path, errno);
  }
  if (::close(fd.release()) != 0) {
    fail("close", temp_path, errno);
  }
  if (::rename(temp_path.c_str(), display(relative).c_str()) != 0) {
    fail("rename '" + temp_path + "' to", display(relative), errno);
  }
  if (durability == Durability::Sync) {
    sync_directory(m_fd.get(), directory);
  }
}

void FileTree::refuse_symlinks(const std::string& relative) const {
  // Each component is opened with O_NOFOLLOW from its parent's descriptor,
  // so a symlink anywhere below the root (mta-sts.D, .well-known, the file)
  // stops the write before anything is written through it.
  int parent = m_fd.get();
  Fd current;
  size_t start = 0;
  while (start < relative.size()) {
    size_t slash = relative.find('/', start);
    bool last = slash == std::string::npos;
    std::string name = relative.substr(start, last ? std::string::npos : slash - start);
    std::string so_far = relative.substr(0, last ? std::string::npos : slash);
    struct stat info {};
    if (::fstatat(parent, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      return;  // missing: it will be created, as a directory or file of ours
    }
    if (S_ISLNK(info.st_mode)) {
      throw std::runtime_error("refusing to write '" + display(relative) + "': '" + display(so_far) +
                               "' is a symbolic link (stsctl writes only inside '" + m_root +
                               "'; replace the link by a directory or file)");
    }
    if (last) {
      return;
    }
    Fd next(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      if (errno == ELOOP) {
        throw std::runtime_error("refusing to write '" + display(relative) + "': '" + display(so_far) +
                                 "' is a symbolic link (stsctl writes only inside '" + m_root + "')");
      }
      return;  // not a directory: the write reports it
    }
    current.reset(next.release());
    parent = current.get();
    start = slash + 1;
  }
}

bool FileTree::write(const std::string& relative, const std::string& content, Durability durability,
                     Directories directories) const {
  // Below a root this run created, only this run's files exist: no probe.
  if (!m_fresh) {
    refuse_symlinks(relative);
    Fd existing(::openat(m_fd.get(), relative.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (existing.get() >= 0) {
      std::string current;
      if (int error = read_all(existing.get(), current)) {
        throw std::runtime_error(system_error("read", display(relative), error));
      }
      if (current == content) {
        return false;
      }
      replace_by_rename(relative, content, durability);
      return true;
    }
    // Missing, or a parent is not a directory (make_directories says so).
    if (errno != ENOENT && errno != ENOTDIR) {
      throw std::runtime_error(system_error("read", display(relative), errno));
    }
  }
  if (directories == Directories::Create) {
    make_directories(parent_of(relative));
  }
  // No reader can see a staging directory: plain creates are enough there.
  bool created = !m_staging.empty() ? create_plain(relative, content, durability)
                                    : create_complete(relative, content, durability);
  if (!created) {  // no O_TMPFILE here, or the name appeared meanwhile
    replace_by_rename(relative, content, durability);
  }
  return true;
}

void FileTree::sync() const {
  if (::syncfs(m_fd.get()) != 0) {
    throw std::runtime_error(system_error("sync the file system of", m_root, errno));
  }
}

bool write_file_atomically(const std::string& path, const std::string& content, Durability durability,
                           Directories directories) {
  std::string directory = directory_of(path);
  if (directories == Directories::MustExist) {
    Fd probe(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (probe.get() < 0) {
      throw std::runtime_error(system_error("write", path, errno));
    }
  }
  return FileTree(directory).write(path.substr(path.rfind('/') + 1), content, durability,
                                   Directories::MustExist);
}

bool read_file_if_exists(const std::string& path, std::string& out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return false;
    }
    throw std::runtime_error(system_error("read", path, errno));
  }
  if (int error = read_all(fd.get(), out)) {
    throw std::runtime_error(system_error("read", path, error));
  }
  return true;
}

void make_directories(const std::string& path) {
  if (path.empty() || path == "." || path == "/") {
    return;
  }
  if (::mkdir(path.c_str(), k_directory_mode) == 0) {
    ::chmod(path.c_str(), k_directory_mode);  // not cut by the umask
    return;
  }
  int error = errno;
  if (error == ENOENT) {
    make_directories(directory_of(path));
    if (::mkdir(path.c_str(), k_directory_mode) == 0) {
      ::chmod(path.c_str(), k_directory_mode);
      return;
    }
    error = errno;
  }
  if (error == EEXIST) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
      return;
    }
    error = ENOTDIR;
  }
  throw std::runtime_error(system_error("create directory", path, error));
}

void sync_filesystem(const std::string& path) {
  Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::syncfs(dir.get()) != 0) {
    throw std::runtime_error(system_error("sync the file system of", path, errno));
  }
}

}  // namespace stsctl
