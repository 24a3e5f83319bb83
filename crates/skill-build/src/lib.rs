//! Builds compiled skills into components of the skill world.
