//! Keeping a body under [`MAX_BODY`]: GitHub refuses to deliver payloads over 25 MB, so
//! a push body gives up its commits' file lists first, then every commit but the newest
//! (GitHub and Gitea: the head commit).

use serde::Serialize;

pub(super) use super::MAX_BODY;

/// A body that can be made smaller.
pub(super) trait Shrink: Serialize {
    /// Empties every commit's `added`, `removed` and `modified`.
    fn drop_files(&mut self);
    /// Lists no commit but the head commit.
    fn keep_head_only(&mut self);
}

/// The body's bytes, at most `limit` of them when dropping files, then commits, gets
/// there (the rest of a body is small).
pub(super) fn render_within<T: Shrink>(mut body: T, limit: usize) -> Vec<u8> {
    let bytes = to_vec(&body);
    if bytes.len() <= limit {
        return bytes;
    }
    body.drop_files();
    let bytes = to_vec(&body);
    if bytes.len() <= limit {
        return bytes;
    }
    body.keep_head_only();
    to_vec(&body)
}

/// Any body's bytes.
pub(super) fn to_vec(body: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(body).expect("payloads serialize")
}
