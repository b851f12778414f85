#pragma once
// Writing files that other programs read while stsctl replaces them (a web
// server serving policy files, named including zone fragments): readers see
// the old bytes or the new bytes, never a mix. Edge module (file-system I/O).

#include "util/fd.h"

#include <string>

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

  /// Opens `root` (see NewRoot).
  explicit FileTree(const std::string& root, NewRoot new_root = NewRoot::CreateInPlace);
  /// Removes a staging directory that was not published.
  ~FileTree();
  FileTree(const FileTree&) = delete;
  FileTree& operator=(const FileTree&) = delete;

  /// Moves a staged root into place (no-op without staging). Throws
  /// std::runtime_error when that fails, e.g. the root appeared meanwhile:
  /// the message names where the files are.
  void publish();

  /// Writes `content` to root/`relative` unless the file already holds
  /// exactly `content` (then nothing is written and the result is false). A
  /// new file appears complete (O_TMPFILE and linkat where the file system
  /// has them); an existing one is replaced by rename. Directories::Create
  /// makes missing parent directories. Throws std::runtime_error naming the
  /// path and the system error; on failure the old file is untouched. A
  /// symbolic link anywhere below the root (a directory or the file itself)
  /// is refused with an error naming it: nothing is written outside the tree.
  bool write(const std::string& relative, const std::string& content, Durability durability,
             Directories directories) const;

  /// syncfs(2) on the file system holding the root; throws on failure.
  void sync() const;

  const std::string& root() const { return m_root; }
  /// True while the files go to a staging directory publish() has yet to move.
  bool staged() const { return !m_staging.empty(); }

 private:
  std::string display(const std::string& relative) const;
  /// Throws when a component of `relative` below the root is a symlink.
  void refuse_symlinks(const std::string& relative) const;
  void make_directories(const std::string& relative) const;
  /// Mode 0644, the content, and fsync for Durability::Sync, on a new file.
  void fill(int fd, const std::string& relative, const std::string& content, Durability durability) const;
  bool create_complete(const std::string& relative, const std::string& content, Durability durability) const;
  bool create_plain(const std::string& relative, const std::string& content, Durability durability) const;
  void replace_by_rename(const std::string& relative, const std::string& content,
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
