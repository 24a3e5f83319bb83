//! `/evolve`: the evolution engine of the `evolve` component.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi()]
pub(crate) struct Doc;
