//! Git volumes kept in SQLite.
//!
//! Volumes (`system`, `teams/{id}`, `users/{id}`) are git repositories whose
//! objects and refs live in SQL tables, because Spin components cannot write
//! files. Objects use git's own encoding and SHA-1 ids, so any volume can be
//! exported as an ordinary repository or served to stock `git clone`.
#![forbid(unsafe_code)]
