//! `/workflows`: the `workflows` component.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi()]
pub(crate) struct Doc;
