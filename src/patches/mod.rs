//! Applying updates per package manager: commands, output parsers, holds, reboot.
