//! Triggers: what makes components run. HTTP requests ([`http`], served by
//! [`server`]) and cron schedules ([`cron`]).

pub mod cron;
pub mod headers;
pub mod http;
pub mod server;
