// Placeholder: the SQLite state store is being written.
