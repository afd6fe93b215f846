//! The engine driven through whole request lifecycles with a fake clock and host (`sim`), one
//! file per topic.

mod sim;

mod admission;
mod answer_modes;
mod answers;
mod credentials;
mod local_reply;
mod mcp;
mod retry_deadline;
mod sharing_cache;
mod token;
