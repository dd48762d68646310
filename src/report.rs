//! `opsdeck report`: Markdown and JSON.
