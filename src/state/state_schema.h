#pragma once
// The state schema and its migrations, one step per version, written once
// and put in the dialect of each backend (the same tables, columns and rules
// in both).

#include "state/sql_db.h"

#include <string>

namespace stsctl {

/// The schema version this build writes.
constexpr int k_state_schema_version = 3;

/// `sql` in `dialect`: {int64} (INTEGER | BIGINT), {row_id} (INTEGER PRIMARY
/// KEY | a BIGINT identity key), {sequence} (the same, never reusing a
/// number: AUTOINCREMENT on SQLite), {byte_text} (TEXT | TEXT COLLATE "C")
/// and {without_rowid} (WITHOUT ROWID | nothing) replaced.
std::string dialect_sql(SqlDialect dialect, const std::string& sql);

/// Creates or migrates the schema in one write transaction. Throws
/// StateError for a schema newer than this build knows.
void migrate_state_schema(SqlDb& db);

}  // namespace stsctl
