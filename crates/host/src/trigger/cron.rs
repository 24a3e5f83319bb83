//! The cron trigger (Spin's cron trigger plugin): runs a component's
//! `handle-cron-event` on a schedule of six or seven fields
//! (`sec min hour day-of-month month day-of-week [year]`, UTC).
//!
//! Each run is a fresh instance with the same limits as an HTTP request, and
//! each fire starts its own instance, so a slow run never delays the
//! schedule. Failures are logged.

use std::str::FromStr as _;
use std::sync::Arc;

use anyhow::Context as _;

use super::http::AppHost;
use crate::manifest::CronTriggerDecl;
use crate::runtime::bindings::cron::fermyon::spin_cron::cron_types::{Error, Metadata};
use crate::runtime::state::DeadlineExceeded;

/// Parses a cron expression, requiring the seconds field as Spin's plugin does.
pub fn parse_schedule(expression: &str) -> Result<cron::Schedule, String> {
    let fields = expression.split_whitespace().count();
    if !(6..=7).contains(&fields) {
        return Err(format!(
            "cron expression {expression:?} has {fields} fields; expected 6 or 7 (sec min hour day-of-month month day-of-week [year])"
        ));
    }
    cron::Schedule::from_str(expression)
        .map_err(|e| format!("invalid cron expression {expression:?}: {e}"))
}

/// Starts one task per cron trigger.
pub fn start(host: &Arc<AppHost>, triggers: &[CronTriggerDecl]) -> anyhow::Result<()> {
    for trigger in triggers {
        let schedule = parse_schedule(&trigger.cron_expression).map_err(anyhow::Error::msg)?;
        let host = host.clone();
        let component = trigger.component.clone();
        tokio::spawn(async move {
            for next in schedule.upcoming(chrono::Utc) {
                let wait = (next - chrono::Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
                let host = host.clone();
                let component = component.clone();
                let timestamp = u64::try_from(next.timestamp()).unwrap_or_default();
                tokio::spawn(async move {
                    if let Err(err) = run_once(&host, &component, timestamp).await {
                        tracing::error!("cron run of component {component:?} failed: {err:#}");
                    }
                });
            }
        });
    }
    Ok(())
}

/// Runs `component`'s cron handler once.
pub async fn run_once(host: &AppHost, component: &str, timestamp: u64) -> anyhow::Result<()> {
    let loaded = host
        .runtime()
        .component(component)
        .with_context(|| format!("no component {component:?}"))?;
    let pre = loaded
        .cron
        .as_ref()
        .with_context(|| format!("component {component:?} has no cron trigger"))?;
    let mut store = host.runtime().new_store(loaded, host.dispatcher(), 0)?;
    let deadline = store.data().deadline;
    let instance = pre
        .instantiate_async(&mut store)
        .await
        .map_err(anyhow::Error::from)?;
    let call = instance.call_handle_cron_event(&mut store, Metadata { timestamp });
    let grace = std::time::Duration::from_millis(100);
    match tokio::time::timeout_at((deadline + grace).into(), call).await {
        Err(_) => Err(DeadlineExceeded.into()),
        Ok(Err(trap)) => Err(anyhow::Error::from(trap)),
        Ok(Ok(Err(Error::Other(message)))) => anyhow::bail!("the component reported: {message}"),
        Ok(Ok(Ok(()))) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_seconds() {
        assert!(parse_schedule("0 0 2 * * *").is_ok());
        assert!(parse_schedule("*/5 * * * * * 2030").is_ok());
        assert!(parse_schedule("0 2 * * *").is_err());
        assert!(parse_schedule("0 0 25 * * *").is_err());
    }
}
