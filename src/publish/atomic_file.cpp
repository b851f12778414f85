#include "publish/atomic_file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
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

/// "a/b/c" -> "c"; "c" -> "c".
std::string name_of(const std::string& relative) {
  size_t slash = relative.rfind('/');
  return slash == std::string::npos ? relative : relative.substr(slash + 1);
}

std::string joined(const std::string& directory, const std::string& name) {
  return directory.empty() ? name : directory + "/" + name;
}

/// Opens a directory by path without following a symlink in its last
/// component; -1 with errno set otherwise.
int open_directory_nofollow(const std::string& path) {
  return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

bool is_symlink(int parent, const char* name) {
  struct stat info {};
  return ::fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(info.st_mode);
}

/// Six random characters for a temporary name beside the target.
std::string random_suffix() {
  static const char k_alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char bytes[6] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    std::random_device device;
    for (auto& byte : bytes) {
      byte = static_cast<unsigned char>(device());
    }
  }
  std::string suffix;
  for (unsigned char byte : bytes) {
    suffix += k_alphabet[byte % (sizeof k_alphabet - 1)];
  }
  return suffix;
}

}  // namespace

FileTree::FileTree(const std::string& root, NewRoot new_root) : m_root(root) {
  while (m_root.size() > 1 && m_root.back() == '/') {
    m_root.pop_back();
  }
  m_fd.reset(open_directory_nofollow(m_root));
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
      m_fd.reset(open_directory_nofollow(m_staging));
    } else {
      stsctl::make_directories(m_root);
      m_fd.reset(open_directory_nofollow(m_root));
    }
    m_fresh = true;
  }
  if (m_fd.get() < 0) {
    int error = errno;
    if ((error == ELOOP || error == ENOTDIR) && is_symlink(AT_FDCWD, m_root.c_str())) {
      throw std::runtime_error("refusing to write in '" + m_root +
                               "': it is a symbolic link (stsctl writes only inside a real directory; "
                               "name the directory it points to instead)");
    }
    throw std::runtime_error(system_error("open directory", m_staging.empty() ? m_root : m_staging, error));
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

std::string FileTree::refusal(const std::string& target, const std::string& link) const {
  return "refusing to write '" + display(target) + "': '" + display(link) +
         "' is a symbolic link (stsctl writes only inside '" + m_root +
         "'; replace the link by a directory or file)";
}

int FileTree::open_level(int parent, const std::string& name, const std::string& so_far,
                         const std::string& directory, const std::string& target,
                         Directories directories) const {
  const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  bool create = directories == Directories::Create;
  // Below a root this run made, a level is most likely missing: mkdir first.
  bool made = create && m_fresh && ::mkdirat(parent, name.c_str(), k_directory_mode) == 0;
  int fd = ::openat(parent, name.c_str(), flags);
  int error = errno;
  if (fd < 0 && error == ENOENT && create) {
    made = ::mkdirat(parent, name.c_str(), k_directory_mode) == 0;
    if (!made && errno != EEXIST) {
      throw std::runtime_error(system_error("create directory", display(so_far), errno));
    }
    fd = ::openat(parent, name.c_str(), flags);
    error = errno;
  }
  if (fd >= 0) {
    // fchmod on the opened directory: fchmodat by name would follow a
    // symlink swapped in after the mkdir.
    if (made && m_umask_cuts_modes) {
      ::fchmod(fd, k_directory_mode);
    }
    return fd;
  }
  if ((error == ELOOP || error == ENOTDIR) && is_symlink(parent, name.c_str())) {
    throw std::runtime_error(refusal(target, so_far));
  }
  throw std::runtime_error(
      system_error(create ? "create directory" : "open directory", display(directory), error));
}

FileTree::Directory FileTree::open_directory(const std::string& relative, Directories directories) const {
  return open_directory_for(relative, relative, directories);
}

FileTree::Directory FileTree::open_directory_for(const std::string& relative, const std::string& target,
                                                 Directories directories) const {
  if (relative.empty()) {
    return Directory(-1, m_fd.get(), relative);
  }
  // Every level is checked before the first is created.
  std::vector<std::string> levels;
  for (size_t start = 0;;) {
    size_t slash = relative.find('/', start);
    std::string name = relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (name.empty() || name == "." || name == "..") {
      throw std::runtime_error("refusing to write '" + display(target) + "': '" + name +
                               "' is not a directory name (stsctl writes only inside '" + m_root + "')");
    }
    levels.push_back(name);
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  int parent = m_fd.get();
  Fd current;
  size_t start = 0;
  for (const auto& name : levels) {
    size_t slash = relative.find('/', start);
    current.reset(open_level(parent, name, relative.substr(0, slash), relative, target, directories));
    parent = current.get();
    start = slash + 1;
  }
  int fd = current.release();
  return Directory(fd, fd, relative);
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

bool FileTree::create_complete(const Directory& directory, const std::string& name,
                               const std::string& content, Durability durability) const {
  std::string relative = joined(directory.relative(), name);
  Fd fd(::openat(directory.m_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, k_file_mode));
  if (fd.get() < 0) {
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
      return false;  // no O_TMPFILE here
    }
    throw std::runtime_error(system_error("create a file in", display(directory.relative()), errno));
  }
  fill(fd.get(), relative, content, durability);
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link works for anyone.
  if (::linkat(fd.get(), "", directory.m_fd, name.c_str(), AT_EMPTY_PATH) != 0) {
    if (errno == EEXIST) {
      return false;  // appeared meanwhile: replace it
    }
    std::string self = "/proc/self/fd/" + std::to_string(fd.get());
    if (::linkat(AT_FDCWD, self.c_str(), directory.m_fd, name.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      if (errno == EEXIST || errno == ENOENT) {
        return false;
      }
      throw std::runtime_error(system_error("create", display(relative), errno));
    }
  }
  if (durability == Durability::Sync) {
    ::fsync(directory.m_fd);
  }
  return true;
}

bool FileTree::create_plain(const Directory& directory, const std::string& name, const std::string& content,
                            Durability durability) const {
  std::string relative = joined(directory.relative(), name);
  Fd fd(::openat(directory.m_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 k_file_mode));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return false;  // written before in this run: replace it
    }
    throw std::runtime_error(system_error("create", display(relative), errno));
  }
  fill(fd.get(), relative, content, durability);
  return true;
}

void FileTree::replace_by_rename(const Directory& directory, const std::string& name,
                                 const std::string& content, Durability durability) const {
  const int dir = directory.m_fd;
  std::string temp_name;
  Fd fd;
  for (int attempt = 0; attempt < 100 && fd.get() < 0; ++attempt) {
    temp_name = name + "." + random_suffix();
    fd.reset(
        ::openat(dir, temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, k_file_mode));
    if (fd.get() < 0 && errno != EEXIST) {
      break;
    }
  }
  if (fd.get() < 0) {
    throw std::runtime_error(
        system_error("create a temporary file in", display(directory.relative()), errno));
  }
  std::string temp_path = display(joined(directory.relative(), temp_name));
  std::string target = display(joined(directory.relative(), name));
  auto fail = [&](const std::string& verb, const std::string& what, int error) {
    ::unlinkat(dir, temp_name.c_str(), 0);
    throw std::runtime_error(system_error(verb, what, error));
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
  // Within one directory descriptor: the rename cannot be redirected.
  if (::renameat(dir, temp_name.c_str(), dir, name.c_str()) != 0) {
    fail("rename '" + temp_path + "' to", target, errno);
  }
  if (durability == Durability::Sync) {
    ::fsync(dir);
  }
}

bool FileTree::write(const std::string& relative, const std::string& content, Durability durability,
                     Directories directories) const {
  std::string name = name_of(relative);
  if (name.empty() || name == "." || name == "..") {
    throw std::runtime_error("refusing to write '" + display(relative) + "': '" + name +
                             "' is not a file name (stsctl writes only inside '" + m_root + "')");
  }
  Directory directory = open_directory_for(parent_of(relative), relative, directories);
  return write(directory, name, content, durability);
}

bool FileTree::write(const Directory& directory, const std::string& name, const std::string& content,
                     Durability durability) const {
  std::string relative = joined(directory.relative(), name);
  // Below a root this run created, only this run's files exist: no probe.
  if (!m_fresh) {
    Fd existing(::openat(directory.m_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (existing.get() >= 0) {
      std::string current;
      if (int error = read_all(existing.get(), current)) {
        throw std::runtime_error(system_error("read", display(relative), error));
      }
      if (current == content) {
        return false;
      }
      replace_by_rename(directory, name, content, durability);
      return true;
    }
    if (errno == ELOOP) {
      throw std::runtime_error(refusal(relative, relative));
    }
    if (errno != ENOENT) {
      throw std::runtime_error(system_error("read", display(relative), errno));
    }
  }
  // No reader can see a staging directory: plain creates are enough there.
  bool created = !m_staging.empty() ? create_plain(directory, name, content, durability)
                                    : create_complete(directory, name, content, durability);
  if (!created) {  // no O_TMPFILE here, or the name appeared meanwhile
    replace_by_rename(directory, name, content, durability);
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
