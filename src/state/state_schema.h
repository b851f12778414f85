#pragma once
// The state schema and its migrations, one step per version, in the dialect
// of each backend (the same tables, columns and rules in both).

#include "state/sql_db.h"

namespace stsctl {

/// The schema version this build writes.
constexpr int k_state_schema_version = 3;

/// Creates or migrates the schema in one write transaction. Throws
/// StateError for a schema newer than this build knows.
void migrate_state_schema(SqlDb& db);

}  // namespace stsctl
