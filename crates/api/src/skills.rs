//! `/skills`, `/volumes` and `/git`: the `skills` component.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi()]
pub(crate) struct Doc;
