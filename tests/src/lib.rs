//! Support for the end-to-end tests: starting the host, HTTP helpers.
