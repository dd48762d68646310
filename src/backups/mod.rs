//! Backup jobs per kind (restic, borg, path, command): commands, parsers, status.
