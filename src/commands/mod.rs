//! The operator's commands beside `serve`. Each returns one line to print on success, or one
//! line of error; neither ever holds a password, a hash or a key.

mod backup;
mod check;
mod reset_password;

pub use backup::backup;
pub use check::check;
pub use reset_password::reset_password;
