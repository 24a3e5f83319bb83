//! Procedural macros of the llmos-skill SDK: `#[skill]` and
//! `#[derive(Outputs)]`.
//!
//! Both expand to calls into `llmos_skill::__private`, so the code they
//! generate stays small and the conversions live (and are tested) in the
//! SDK itself. Errors point at the offending parameter or field, which the
//! skill builder maps back to the line of the skill file.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, FnArg, ItemFn, Pat, ReturnType, parse_macro_input};

/// Makes a function the skill's `execute`: its parameters are the input
/// ports, its return type (`O` or `Result<O, E>` with `O: Outputs`) gives
/// the output ports. See the `llmos_skill` crate docs.
#[proc_macro_attribute]
pub fn skill(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = TokenStream2::from(attr);
    if !attr.is_empty() {
        return syn::Error::new(attr.span(), "`#[skill]` takes no arguments")
            .to_compile_error()
            .into();
    }
    let func = parse_macro_input!(item as ItemFn);
    match expand_skill(&func) {
        Ok(tokens) => tokens.into(),
        Err(e) => {
            let error = e.to_compile_error();
            quote!(#func #error).into()
        }
    }
}

fn expand_skill(func: &ItemFn) -> syn::Result<TokenStream2> {
    let sig = &func.sig;
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new(
            a.span(),
            "a skill function cannot be `async`: the skill world is synchronous",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a skill function cannot be generic: each parameter's type is its port's type",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new(
            v.span(),
            "a skill function takes no variadic arguments",
        ));
    }
    let mut names = Vec::new();
    let mut types = Vec::new();
    for arg in &sig.inputs {
        let FnArg::Typed(arg) = arg else {
            return Err(syn::Error::new(
                arg.span(),
                "a skill function takes no `self`",
            ));
        };
        let Pat::Ident(pat) = &*arg.pat else {
            return Err(syn::Error::new(
                arg.pat.span(),
                "write the parameter as a plain name: it is the input port's name",
            ));
        };
        names.push(pat.ident.unraw().to_string());
        types.push((*arg.ty).clone());
    }
    let ret = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let ident = &sig.ident;
    let locals: Vec<_> = (0..names.len())
        .map(|i| format_ident!("__llmos_input_{}", i))
        .collect();
    let takes = names
        .iter()
        .zip(&types)
        .zip(&locals)
        .map(|((name, ty), local)| {
            quote_spanned! {ty.span()=>
                let #local = __llmos_inputs.take::<#ty>(#name)?;
            }
        });
    let ports = names.iter().zip(&types).map(|(name, ty)| {
        quote_spanned! {ty.span()=> ::llmos_skill::__private::input_port::<#ty>(#name) }
    });
    Ok(quote! {
        // Port names come from skill files, where `R` or `Vin` are usual.
        #[allow(non_snake_case)]
        #func

        #[doc(hidden)]
        pub struct __LlmosSkill;

        impl ::llmos_skill::__private::Guest for __LlmosSkill {
            fn describe() -> ::llmos_skill::__private::SkillDescription {
                let name = match ::core::option_env!("LLMOS_SKILL_NAME") {
                    ::core::option::Option::Some(name) => name,
                    ::core::option::Option::None => ::core::env!("CARGO_PKG_NAME"),
                };
                ::llmos_skill::__private::describe::<#ret>(
                    name,
                    ::core::env!("CARGO_PKG_VERSION"),
                    ::std::vec![#(#ports),*],
                )
            }

            fn execute(
                inputs: ::llmos_skill::__private::Fields,
            ) -> ::core::result::Result<
                ::llmos_skill::__private::Fields,
                ::llmos_skill::bindings::llmos::skill::types::SkillError,
            > {
                let mut __llmos_inputs = ::llmos_skill::__private::Inputs::from_wire(inputs)?;
                #(#takes)*
                ::llmos_skill::__private::finish::<#ret>(#ident(#(#locals),*))
            }
        }

        #[cfg(target_arch = "wasm32")]
        ::llmos_skill::bindings::export_skill!(__LlmosSkill);
    })
}

/// Makes a struct with named fields a skill's outputs: each field is an
/// output port named after it, of its type's port type; `Option` fields
/// that are `None` are left out.
#[proc_macro_derive(Outputs)]
pub fn derive_outputs(item: TokenStream) -> TokenStream {
    let input = parse_macro_input!(item as DeriveInput);
    match expand_outputs(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_outputs(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let needs_fields = |span: Span| {
        syn::Error::new(
            span,
            "`Outputs` is derived for a struct with named fields, one per output port",
        )
    };
    let Data::Struct(data) = &input.data else {
        return Err(needs_fields(input.ident.span()));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(needs_fields(data.fields.span()));
    };
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut ports = Vec::new();
    let mut pushes = Vec::new();
    for field in &fields.named {
        let ident = field.ident.as_ref().expect("named fields have names");
        let port = ident.unraw().to_string();
        let ty = &field.ty;
        ports.push(
            quote_spanned! {ty.span()=> ::llmos_skill::__private::output_port::<#ty>(#port) },
        );
        pushes.push(quote_spanned! {ty.span()=>
            ::llmos_skill::__private::push_output(&mut out, #port, self.#ident);
        });
    }
    let count = fields.named.len();
    Ok(quote! {
        impl #impl_generics ::llmos_skill::Outputs for #name #ty_generics #where_clause {
            fn ports() -> ::std::vec::Vec<::llmos_skill::PortInfo> {
                ::std::vec![#(#ports),*]
            }

            fn into_fields(self) -> ::std::vec::Vec<(::std::string::String, ::llmos_skill::Value)> {
                let mut out = ::std::vec::Vec::with_capacity(#count);
                #(#pushes)*
                out
            }
        }
    })
}
