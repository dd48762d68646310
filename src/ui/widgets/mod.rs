//! Reusable pieces: the list with selection/marks/filter, tables, forms,
//! popups and text views.
pub mod form;
pub mod list;
pub mod popup;
pub mod scroll;
pub mod table;
