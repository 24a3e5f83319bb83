//! `fermyon:spin/variables@2.0.0`: a component reads its own variables.
//!
//! Values were resolved when the app was loaded (templates rendered over the
//! application variables, see [`crate::variables`]); a lookup only checks the
//! name, as Spin does, and answers from that table.

use crate::manifest::template::validate_variable_name;
use crate::runtime::bindings::spin::fermyon::spin::variables::{self, Error};
use crate::runtime::state::StoreState;

impl variables::Host for StoreState {
    async fn get(&mut self, name: String) -> Result<String, Error> {
        validate_variable_name(&name)
            .map_err(|reason| Error::InvalidName(format!("{name:?}: {reason}")))?;
        match self.component.variables.get(&name) {
            Some(Ok(value)) => Ok(value.clone()),
            Some(Err(reason)) => Err(Error::Provider(reason.clone())),
            None => Err(Error::Undefined(format!(
                "no variable for {:?}.{name:?}",
                self.component.id
            ))),
        }
    }
}
