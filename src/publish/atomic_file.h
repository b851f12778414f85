#pragma once
// Writing files that other programs read while stsctl replaces them (a web
// server serving policy files, named including zone fragments): readers see
// the old bytes or the new bytes, never a mix. Edge module (file-system I/O).

#include "util/fd.h"

#include <string>
#include <utility>

namespace stsctl {

/// Sync: the file (and the directory entry) are on disk when the call returns,
/// for apply's publish step, where the id is pushed right after. Deferred: the
/// caller syncs once after a bulk write (sync_filesystem), as 100,000 fsyncs
/// would dominate the run.
enum class Durability { Sync, Deferred };

enum class Directories { MustExist, Create };

/// Writes many files below one directory (render zone, render policy), by
/// paths relative to it, so the kernel does not walk the whole path again on
/// every call. Files get mode 0644 and new directories 0755, whatever the
/// umask. write() may be called from several threads at once.
class FileTree {
 public:
  /// What to do when the root does not exist yet. CreateInPlace: create it
  /// (and its parents). Stage: write into a new hidden sibling directory that
  /// publish() renames to the root, so a reader sees no root or all of it,
  /// and a failed run leaves nothing behind (render zone and render policy).
  enum class NewRoot { CreateInPlace, Stage };

  /// Opens `root` (see NewRoot) with O_NOFOLLOW: a root that is itself a
  /// symbolic link is refused, as everything below it is.
  explicit FileTree(const std::string& root, NewRoot new_root = NewRoot::CreateInPlace);
  /// Removes a staging directory that was not published.
  ~FileTree();
  FileTree(const FileTree&) = delete;
  FileTree& operator=(const FileTree&) = delete;

  /// Moves a staged root into place (no-op without staging). Throws
  /// std::runtime_error when that fails, e.g. the root appeared meanwhile:
  /// the message names where the files are.
  void publish();

  /// A directory below the root, opened component by component from the
  /// root's descriptor with O_NOFOLLOW. Writes through it land in that
  /// directory even when a component of its path is swapped for a symlink
  /// after it was opened: nothing is resolved by path again.
  class Directory {
   public:
    Directory(const Directory&) = delete;
    Directory& operator=(const Directory&) = delete;
    /// Its path below the root ("" for the root itself).
    const std::string& relative() const { return m_relative; }

   private:
    friend class FileTree;
    Directory(int owned_fd, int fd, std::string relative)
        : m_owned(owned_fd), m_fd(fd), m_relative(std::move(relative)) {}
    Fd m_owned;  // -1 for the root, whose descriptor the tree keeps
    int m_fd;
    std::string m_relative;
  };

  /// Opens root/`relative` (see Directory); Directories::Create makes the
  /// missing levels. Throws std::runtime_error naming the directory and the
  /// cause, or refusing a symbolic link anywhere on the way, or a "." or
  /// ".." component.
  Directory open_directory(const std::string& relative, Directories directories) const;

  /// Writes `content` to root/`relative` unless the file already holds
  /// exactly `content` (then nothing is written and the result is false). A
  /// new file appears complete (O_TMPFILE and linkat where the file system
  /// has them); an existing one is replaced by renameat. Directories::Create
  /// makes missing parent directories. Throws std::runtime_error naming the
  /// path and the system error; on failure the old file is untouched. A
  /// symbolic link anywhere below the root (a directory or the file itself)
  /// is refused with an error naming it: nothing is written outside the tree.
  bool write(const std::string& relative, const std::string& content, Durability durability,
             Directories directories) const;

  /// As above, for the file `name` in an opened directory: every step is
  /// relative to its descriptor (create, fsync, renameat, fsync of the
  /// directory), so a symlink swapped in meanwhile is never followed.
  bool write(const Directory& directory, const std::string& name, const std::string& content,
             Durability durability) const;

  /// syncfs(2) on the file system holding the root; throws on failure.
  void sync() const;

  const std::string& root() const { return m_root; }
  /// True while the files go to a staging directory publish() has yet to move.
  bool staged() const { return !m_staging.empty(); }

 private:
  std::string display(const std::string& relative) const;
  /// "refusing to write `target`: `link` is a symbolic link ...".
  std::string refusal(const std::string& target, const std::string& link) const;
  /// Opens (or creates) `name` in `parent` without following a symlink;
  /// `so_far` is its path, `directory` the one being opened for `target`.
  int open_level(int parent, const std::string& name, const std::string& so_far, const std::string& directory,
                 const std::string& target, Directories directories) const;
  Directory open_directory_for(const std::string& relative, const std::string& target,
                               Directories directories) const;
  /// Mode 0644, the content, and fsync for Durability::Sync, on a new file.
  void fill(int fd, const std::string& relative, const std::string& content, Durability durability) const;
  bool create_complete(const Directory& directory, const std::string& name, const std::string& content,
                       Durability durability) const;
  bool create_plain(const Directory& directory, const std::string& name, const std::string& content,
                    Durability durability) const;
  void replace_by_rename(const Directory& directory, const std::string& name, const std::string& content,
                         Durability durability) const;

  std::string m_root;
  std::string m_staging;  // the hidden sibling written instead of m_root; empty: none
  Fd m_fd;
  bool m_umask_cuts_modes = true;  // chmod after create unless the umask keeps 0644/0755
  bool m_fresh = false;            // the root was created by this FileTree
};

/// write_file_atomically for one file: FileTree(directory of path).write(...).
/// With Directories::MustExist the directory is not created.
bool write_file_atomically(const std::string& path, const std::string& content,
                           Durability durability = Durability::Sync,
                           Directories directories = Directories::MustExist);

/// Reads the whole file into `out`; false when it does not exist. Throws
/// std::runtime_error naming the path when it exists but cannot be read.
bool read_file_if_exists(const std::string& path, std::string& out);

/// mkdir -p; every directory it creates gets mode 0755, whatever the umask,
/// so the web server can read it. Throws std::runtime_error naming the
/// directory when one cannot be created or is not a directory.
void make_directories(const std::string& path);

/// syncfs(2) on the file system holding `path`; throws on failure.
void sync_filesystem(const std::string& path);

}  // namespace stsctl
