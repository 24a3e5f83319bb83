//! The LLMos-Lite browser workbench.
use sycamore::prelude::*;

fn main() {
    sycamore::render(|| view! { h1 { "LLMos-Lite" } });
}
