//! mergeward: a fail-closed merge queue and CI gate bot for Gitea, Forgejo and GitHub.
pub mod cli;
pub mod config;
pub mod error;
pub mod forge;
pub mod sim;
