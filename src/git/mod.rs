//! Facts from git: which refs a push moved, the commits each move brings, who pushed,
//! and the repository's hooks and default branch.

pub mod branch;
pub mod changes;
pub mod history;
pub mod hookfiles;
pub mod pusher;
pub mod update;
