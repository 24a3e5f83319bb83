//! `/git/...`: git's dumb-HTTP protocol over each volume, as the `skills`
//! component answers it (`GET` and `HEAD`). A volume id holds a `/`, which
//! a path parameter cannot, so each kind of volume has its own paths:
//! `/git/system/…`, `/git/teams/{team_id}/…`, `/git/users/{user_id}/…`.
//! The operations are written by [`GitPaths`], one per volume kind, file
//! and method.

use llmos_core::ids::PrincipalId;
use llmos_store::dumb_http::{LOOSE_OBJECT, PACK, PACK_INDEX};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder, ResponsesBuilder, Schema};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The kinds of volume: path prefix, id parameter, operation id part.
const VOLUMES: &[(&str, Option<&str>, &str)] = &[
    ("/git/system", None, "system"),
    ("/git/teams/{team_id}", Some("team_id"), "team"),
    ("/git/users/{user_id}", Some("user_id"), "user"),
];

/// What git asks for.
struct File {
    path: &'static str,
    id: &'static str,
    what: &'static str,
    /// Path parameters after the volume's: name, pattern, description.
    params: &'static [(&'static str, &'static str, &'static str)],
    media: &'static [&'static str],
}

const FILES: &[File] = &[
    File {
        path: "/info/refs",
        id: "info-refs",
        what: "The volume's refs (`<commit>\\t<ref>` lines); packs loose objects first when many accumulated.",
        params: &[],
        media: &["text/plain"],
    },
    File {
        path: "/HEAD",
        id: "head",
        what: "The volume's HEAD (a symbolic ref to its branch).",
        params: &[],
        media: &["text/plain"],
    },
    File {
        path: "/objects/info/packs",
        id: "packs",
        what: "The volume's pack files, one `P <name>` line each.",
        params: &[],
        media: &["text/plain"],
    },
    File {
        path: "/objects/pack/{pack}",
        id: "pack",
        what: "A pack file or its index.",
        params: &[(
            "pack",
            "^pack-[0-9a-f]{40}\\.(pack|idx)$",
            "`pack-<40 hex>.pack` or `.idx`.",
        )],
        media: &[PACK, PACK_INDEX],
    },
    File {
        path: "/objects/{dir}/{file}",
        id: "object",
        what: "One loose object (zlib-compressed), if the volume has it.",
        params: &[
            (
                "dir",
                "^[0-9a-f]{2}$",
                "The object id's first two hex digits.",
            ),
            (
                "file",
                "^[0-9a-f]{38}$",
                "The object id's other 38 hex digits.",
            ),
        ],
        media: &[LOOSE_OBJECT],
    },
];

/// Writes the `/git` operations into the document.
pub(crate) struct GitPaths;

fn string(pattern: Option<&str>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(pattern)
        .into()
}

fn path_param(name: &str, schema: utoipa::openapi::RefOr<Schema>, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

impl Modify for GitPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert(PrincipalId::name().into_owned(), PrincipalId::schema());
        for (prefix, id_param, volume) in VOLUMES {
            for file in FILES {
                for (method, verb) in [(HttpMethod::Get, "get"), (HttpMethod::Head, "head")] {
                    let mut params = Vec::new();
                    if let Some(name) = id_param {
                        params.push(path_param(
                            name,
                            Ref::from_schema_name("PrincipalId").into(),
                            "Whose volume.",
                        ));
                    }
                    for (name, pattern, description) in file.params {
                        params.push(path_param(name, string(Some(pattern)).into(), description));
                    }
                    let mut ok = ResponseBuilder::new().description(file.what);
                    for media in file.media {
                        ok = ok.content(
                            *media,
                            ContentBuilder::new().schema(Some(string(None))).build(),
                        );
                    }
                    let responses = ResponsesBuilder::new()
                        .response("200", ok.build())
                        .response("400", error("A bad team or user id."))
                        .response("401", error("No valid token."))
                        .response("403", error("The caller may not read this volume."))
                        .response("404", error("The volume has no such file."))
                        .build();
                    let operation = OperationBuilder::new()
                        .tag("git")
                        .operation_id(Some(format!("git-{volume}-{}-{verb}", file.id)))
                        .summary(Some(format!(
                            "Git dumb HTTP, {volume} volume: {} Role: a reader of the volume.",
                            file.what
                        )))
                        .parameters(Some(params))
                        .responses(responses)
                        .build();
                    openapi.paths.add_path_operation(
                        format!("{prefix}{}", file.path),
                        vec![method],
                        operation,
                    );
                }
            }
        }
    }
}
