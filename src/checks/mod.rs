//! Host health: the probe script (embedded), pure parsers per section, the
//! rules that turn facts into a status, and the sweep shared by `check`,
//! `patches` and the TUI.
