//! `/openapi.json` and `/docs`: the `web` component.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi()]
pub(crate) struct Doc;
