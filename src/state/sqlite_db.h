#pragma once
// The SQLite backend of SqlDb (state file beside the config by default).

#include "state/sql_db.h"

#include <memory>
#include <string>

namespace stsctl {

enum class SqliteOpen {
  Create,    // read-write; creates the file
  ReadOnly,  // the file must exist; nothing is written
};

enum class SqliteThreads {
  Shared,      // any thread, any time (SQLite's serialized mode)
  OneAtATime,  // never two threads at once: no per-call mutex
};

/// Opens `path` (":memory:" for an empty in-memory database). Writable
/// databases use the WAL journal and synchronous=FULL, and wait up to 30 s
/// for another process's write transaction. Throws StateError naming the
/// path and SQLite's message. Do not keep one open across fork().
std::unique_ptr<SqlDb> open_sqlite(const std::string& path, SqliteOpen mode,
                                   SqliteThreads threads = SqliteThreads::Shared);

}  // namespace stsctl
