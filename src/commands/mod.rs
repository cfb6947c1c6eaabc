//! The operator's commands beside `serve`. Each returns what to print on success (one line,
//! or for `admin new-key` the steps that follow), or one line of error; neither ever holds a
//! password, a hash or a key.

mod backup;
mod check;
mod copy;
mod import;
mod new_key;
mod prune_events;
mod reset_password;

pub use backup::backup;
pub use check::check;
pub use copy::copy;
pub use import::import_restcomm;
pub use new_key::new_key;
pub use prune_events::prune_events;
pub use reset_password::reset_password;
