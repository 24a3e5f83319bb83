//! `/git/{volume}/...`: git's dumb-HTTP protocol, so stock git clones and
//! fetches volumes (`git clone http://127.0.0.1:3000/git/users/alice`).
//!
//! The authorization rules are the API's (the system volume is readable
//! by any valid token; pass it with `git -c http.extraHeader=...`). The
//! `?service=` query of git's first request is ignored: a reply without
//! the smart content type makes git fall back to the dumb protocol. That
//! first request also packs the volume's loose objects when enough have
//! accumulated (`dumb_http::update_packs`), so a long history arrives in a
//! few pack downloads.

use llmos_core::ids::VolumeId;
use llmos_guest::{ApiError, ApiResult};
use llmos_store::DumbHttpError;
use llmos_store::dumb_http::{self, LOOSE_OBJECT, PACK, PACK_INDEX};
use spin_sdk::http::{Request, Response};

use crate::app::App;
use crate::errors;

/// Answers `rest` (the segments after `/git`): a volume name, then the
/// file git asks for.
pub fn serve(app: &App, _req: &Request, rest: &[&str], head_only: bool) -> ApiResult<Response> {
    let (volume, path) = match rest {
        ["system", path @ ..] => ("system".to_owned(), path),
        [kind, id, path @ ..] => (format!("{kind}/{id}"), path),
        _ => {
            return Err(ApiError::not_found(
                "no-such-route",
                "expected /git/system/... , /git/teams/{id}/... or /git/users/{id}/...",
            ));
        }
    };
    let volume: VolumeId = volume.parse().map_err(errors::bad_volume)?;
    app.identity.require_read(&volume)?;
    let path = path.join("/");
    if path == "info/refs" {
        // A client starts here: pack what accumulated since the last pack,
        // so it fetches a few packs rather than every object on its own. A
        // failure only costs speed; the objects are served loose.
        if let Err(err) =
            dumb_http::update_packs(app.volumes.store(), &volume, llmos_guest::now_secs())
        {
            eprintln!("git: packing {volume} failed: {err}");
        }
    }
    let answer = match dumb_http::respond(app.volumes.store(), &volume, &path) {
        Ok(answer) => answer,
        Err(err @ DumbHttpError::NotFound { .. }) => {
            return Err(ApiError::not_found("not-found", err.to_string()));
        }
        Err(DumbHttpError::Store(err)) => return Err(ApiError::internal(err)),
    };
    // Objects and packs never change; refs, HEAD and the pack list do.
    let cache = if [LOOSE_OBJECT, PACK, PACK_INDEX].contains(&answer.content_type) {
        "private, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut builder = Response::builder();
    builder
        .status(200)
        .header("content-type", answer.content_type)
        .header("cache-control", cache);
    if head_only {
        return Ok(builder.build());
    }
    Ok(builder.body(answer.body).build())
}
