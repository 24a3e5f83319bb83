//! Behaviour of the catalog for compiled skills and the components beside
//! them: states in listings and signatures, the commit a pair reports, the
//! blob-keyed facts, old commits, first imports and older indexes.

use std::cell::RefCell;
use std::collections::BTreeMap;

use llmos_core::skill::component::{
    Language, Provenance, SKILL_WORLD, sha256_hex, source_digest, with_provenance,
};
use llmos_core::workflow::ComponentRef;

use super::tests::{Vols, commit, id, open_memory, sig, v};
use super::*;
use crate::object::{GitTime, RawObject, Signature};
use crate::path::VolumePath;
use crate::sql::RusqliteExecutor;
use crate::volume::CommitRequest;

/// A compiled Rust skill; `code` is its code block.
fn rust_skill(skill_id: &str, description: &str, code: &str) -> String {
    format!(
        "---\nskill_id: {skill_id}\nname: Square\ncategory: math\ndescription: {description}\n\
         type: wasm-component\ninputs:\n  - name: x\n    type: number\n\
         outputs:\n  - name: y\n    type: number\n---\n\n```rust\n{code}\n```\n"
    )
}

const SQUARE: &str = "fn execute(x: f64) -> f64 { x * x }";

/// Bytes `inspect` reads as a component: the header, one custom section
/// (`tag` keeps components apart) and, when given, a provenance naming the
/// source of `source`.
fn component(tag: &str, source: Option<&str>) -> Vec<u8> {
    let mut bytes = b"\0asm\x0d\x00\x01\x00".to_vec();
    bytes.extend_from_slice(&[0, (tag.len() + 2) as u8, 1, b't']);
    bytes.extend_from_slice(tag.as_bytes());
    match source {
        None => bytes,
        Some(text) => {
            let skill = llmos_core::skill::parse(Some("skills/sq.md"), text).unwrap();
            let provenance = Provenance {
                skill_id: skill.id().to_string(),
                source_sha256: source_digest(&skill).unwrap(),
                language: Language::Rust,
                toolchain: "rustc 1.95.0".into(),
                world: SKILL_WORLD.into(),
            };
            with_provenance(&bytes, &provenance).unwrap()
        }
    }
}

fn digest(text: &str) -> String {
    source_digest(&llmos_core::skill::parse(Some("skills/sq.md"), text).unwrap()).unwrap()
}

/// Commits binary files (path → Some(bytes), None to delete).
fn commit_bytes(vols: &Vols, volume: &str, t: i64, changes: &[(&str, Option<&[u8]>)]) -> ObjectId {
    let mut request = CommitRequest::new(sig(t), format!("change at {t}"));
    for (path, content) in changes {
        let path = VolumePath::new(path).unwrap();
        request = match content {
            Some(bytes) => request.put(path, bytes.to_vec()),
            None => request.delete(path),
        };
    }
    let outcome = vols.commit(&v(volume), request).unwrap();
    assert!(outcome.created);
    outcome.commit
}

fn entry(vols: &Vols, volume: &str, skill: &str) -> CatalogEntry {
    let catalog = Catalog::new(vols);
    catalog.refresh(&v(volume)).unwrap();
    catalog.get_in(&v(volume), &id(skill)).unwrap().unwrap()
}

fn summary(entry: &CatalogEntry) -> serde_json::Value {
    serde_json::from_str(&entry.summary_json).unwrap()
}

fn reference(entry: &CatalogEntry) -> Option<ComponentRef> {
    entry.signature().unwrap().unwrap().component
}

#[test]
fn compiled_skills_report_whether_their_component_is_fresh() {
    let vols = open_memory();
    let source = rust_skill("sq", "Squares.", SQUARE);
    commit(&vols, "users/alice", 1, &[("skills/sq.md", Some(&source))]);
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(summary(&e)["compiled"], true);
    assert_eq!(summary(&e)["component"], "missing");
    let signature = e.signature().unwrap().unwrap();
    assert!(signature.compiled);
    assert_eq!(signature.component, None);

    let built = component("a", Some(&source));
    let c2 = commit_bytes(&vols, "users/alice", 2, &[("skills/sq.wasm", Some(&built))]);
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(
        e.commit, c2,
        "the component's commit is the skill's latest change"
    );
    assert_eq!(summary(&e)["commit"], c2.to_string());
    assert_eq!(summary(&e)["component"], "fresh");
    assert_eq!(
        reference(&e),
        Some(ComponentRef {
            sha256: sha256_hex(&built),
            blob: RawObject::blob(built.clone()).id().to_string(),
            fresh: true,
        })
    );
    assert_eq!(e.signature().unwrap().unwrap().commit, c2.to_string());

    // What a build does not depend on keeps it fresh; the code does not.
    let described = rust_skill("sq", "Squares a number.", SQUARE);
    let c3 = commit(
        &vols,
        "users/alice",
        3,
        &[("skills/sq.md", Some(&described))],
    );
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(
        (e.commit, summary(&e)["component"].clone()),
        (c3, "fresh".into())
    );
    let recoded = rust_skill(
        "sq",
        "Squares a number.",
        "fn execute(x: f64) -> f64 { x.powi(2) }",
    );
    commit(&vols, "users/alice", 4, &[("skills/sq.md", Some(&recoded))]);
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(summary(&e)["component"], "stale");
    assert!(!reference(&e).unwrap().fresh);

    // Deleting the component leaves the skill without one.
    let c5 = commit_bytes(&vols, "users/alice", 5, &[("skills/sq.wasm", None)]);
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(
        (e.commit, summary(&e)["component"].clone()),
        (c5, "missing".into())
    );
    assert_eq!(reference(&e), None);
}

#[test]
fn components_without_provenance_run_only_once_checked_for_the_current_source() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let source = rust_skill("sq", "Squares.", SQUARE);
    commit(&vols, "users/alice", 1, &[("skills/sq.md", Some(&source))]);

    let unchecked = component("unchecked", None);
    commit_bytes(
        &vols,
        "users/alice",
        2,
        &[("skills/sq.wasm", Some(&unchecked))],
    );
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(summary(&e)["component"], "unknown");
    assert!(!reference(&e).unwrap().fresh, "never checked: not runnable");

    // An upload checks first, then commits.
    let checked = component("checked", None);
    let blob = RawObject::blob(checked.clone()).id();
    catalog.record_check(blob, &digest(&source)).unwrap();
    commit_bytes(
        &vols,
        "users/alice",
        3,
        &[("skills/sq.wasm", Some(&checked))],
    );
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(summary(&e)["component"], "unknown");
    assert!(
        reference(&e).unwrap().fresh,
        "checked for this source: runnable"
    );

    // Checked for another source than the current one: stale.
    let recoded = rust_skill("sq", "Squares.", "fn execute(x: f64) -> f64 { x.powi(2) }");
    commit(&vols, "users/alice", 4, &[("skills/sq.md", Some(&recoded))]);
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(summary(&e)["component"], "stale");
    assert!(!reference(&e).unwrap().fresh);

    // A check recorded for bytes the volume already has changes nothing in
    // git; forcing the file's row to be derived again shows it.
    catalog.record_check(blob, &digest(&recoded)).unwrap();
    assert_eq!(
        summary(&entry(&vols, "users/alice", "sq"))["component"],
        "stale"
    );
    catalog
        .refresh_forcing(&v("users/alice"), &["skills/sq.md".to_owned()])
        .unwrap();
    let e = catalog
        .get_in(&v("users/alice"), &id("sq"))
        .unwrap()
        .unwrap();
    assert_eq!(summary(&e)["component"], "unknown");
    assert!(reference(&e).unwrap().fresh);
}

#[test]
fn invalid_and_misplaced_components_are_reported_or_ignored() {
    let vols = open_memory();
    let source = rust_skill("sq", "Squares.", SQUARE);
    commit_bytes(
        &vols,
        "users/alice",
        1,
        &[
            ("skills/sq.md", Some(source.as_bytes())),
            ("skills/sq.wasm", Some(b"not a component")),
            // Beside no skill file, and beside a context skill.
            ("skills/orphan.wasm", Some(&component("o", None))),
            (
                "skills/notes.md",
                Some(super::tests::context("notes", "x", "N.", &[]).as_bytes()),
            ),
            ("skills/notes.wasm", Some(&component("n", None))),
            // Agent Skills directories are never compiled.
            ("skills/pdf/SKILL.wasm", Some(&component("p", None))),
        ],
    );
    let catalog = Catalog::new(&vols);
    catalog.refresh(&v("users/alice")).unwrap();
    let e = catalog
        .get_in(&v("users/alice"), &id("sq"))
        .unwrap()
        .unwrap();
    assert_eq!(summary(&e)["component"], "invalid");
    let invalid = reference(&e).unwrap();
    assert_eq!(invalid.sha256, sha256_hex(b"not a component"));
    assert!(!invalid.fresh);
    let details = catalog
        .component_at(
            &v("users/alice"),
            e.commit,
            "skills/sq.md",
            &llmos_core::skill::parse(Some("skills/sq.md"), &source).unwrap(),
        )
        .unwrap()
        .unwrap();
    assert_eq!(details.state, ComponentState::Invalid);
    assert!(details.error.unwrap().contains("not a WebAssembly file"));

    let notes = catalog
        .get_in(&v("users/alice"), &id("notes"))
        .unwrap()
        .unwrap();
    assert!(summary(&notes).get("compiled").is_none());
    assert!(summary(&notes).get("component").is_none());
    let entries = catalog.entries(&v("users/alice")).unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["skills/notes.md", "skills/sq.md"]);
    assert!(catalog.problems(&[v("users/alice")]).unwrap().is_empty());
}

/// An executor that notes every object id whose bytes a statement reads.
struct Counting {
    inner: RusqliteExecutor,
    reads: RefCell<Vec<String>>,
}

impl SqlExecutor for Counting {
    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<SqlRows, SqlError> {
        if statement.contains("data FROM git_objects") {
            let mut reads = self.reads.borrow_mut();
            reads.extend(params.iter().filter_map(|p| p.as_text().map(str::to_owned)));
        }
        self.inner.execute(statement, params)
    }
}

#[test]
fn a_component_is_read_once_per_blob_whatever_shares_it() {
    let store = SqlStore::open(Counting {
        inner: RusqliteExecutor::open_in_memory().unwrap(),
        reads: RefCell::new(Vec::new()),
    })
    .unwrap();
    migrate(store.executor()).unwrap();
    let vols = Volumes::new(store);
    let catalog = Catalog::new(&vols);
    let source = rust_skill("sq", "Squares.", SQUARE);
    let built = component("shared", Some(&source));
    let blob = RawObject::blob(built.clone()).id().to_string();
    let alice = v("users/alice");
    let put = |t: i64, description: &str| {
        let request = CommitRequest::new(sig(t), "edit").put(
            VolumePath::new("skills/sq.md").unwrap(),
            rust_skill("sq", description, SQUARE).into_bytes(),
        );
        vols.commit(&alice, request).unwrap();
    };
    vols.commit(
        &alice,
        CommitRequest::new(sig(1), "build")
            .put(
                VolumePath::new("skills/sq.md").unwrap(),
                source.clone().into_bytes(),
            )
            .put(VolumePath::new("skills/sq.wasm").unwrap(), built.clone()),
    )
    .unwrap();
    let reads_of_blob = || {
        vols.store()
            .executor()
            .reads
            .borrow()
            .iter()
            .filter(|r| **r == blob)
            .count()
    };
    catalog.refresh(&alice).unwrap();
    assert_eq!(reads_of_blob(), 1, "read once to learn its facts");

    // Edits of the skill file, a listing, a promotion that shares the blob
    // and a full re-derivation never read it again.
    put(2, "Squares a number.");
    catalog.refresh(&alice).unwrap();
    catalog
        .list_summaries(std::slice::from_ref(&alice), &ListQuery::default())
        .unwrap();
    let team = v("teams/core");
    vols.promote_files(
        &alice,
        &VolumePath::new("skills/sq.md").unwrap(),
        &[VolumePath::new("skills/sq.wasm").unwrap()],
        &team,
        &crate::volume::CommitMeta::new(sig(3), "Promote"),
    )
    .unwrap();
    catalog.refresh(&team).unwrap();
    vols.store()
        .executor()
        .execute("UPDATE skill_catalog_volumes SET format = 0", &[])
        .unwrap();
    catalog.refresh(&alice).unwrap();
    catalog.refresh(&team).unwrap();
    assert_eq!(reads_of_blob(), 1);
    let e = catalog.get_in(&team, &id("sq")).unwrap().unwrap();
    assert_eq!(summary(&e)["component"], "fresh");

    // What an upload already read is kept without reading the blob.
    let other = component("uploaded", Some(&source));
    let other_blob = RawObject::blob(other.clone()).id();
    catalog
        .remember_component(
            other_blob,
            &llmos_core::skill::component::inspect(&other).unwrap(),
        )
        .unwrap();
    vols.commit(
        &alice,
        CommitRequest::new(sig(4), "upload")
            .put(VolumePath::new("skills/sq.wasm").unwrap(), other.clone()),
    )
    .unwrap();
    catalog.refresh(&alice).unwrap();
    let other_hex = other_blob.to_string();
    let other_reads = vols
        .store()
        .executor()
        .reads
        .borrow()
        .iter()
        .filter(|r| **r == other_hex)
        .count();
    assert_eq!(other_reads, 0);
    let e = catalog.get_in(&alice, &id("sq")).unwrap().unwrap();
    assert_eq!(reference(&e).unwrap().sha256, sha256_hex(&other));
}

#[test]
fn old_commits_give_the_component_they_had() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let source = rust_skill("sq", "Squares.", SQUARE);
    let first = component("first", Some(&source));
    let c1 = commit_bytes(
        &vols,
        "users/alice",
        1,
        &[
            ("skills/sq.md", Some(source.as_bytes())),
            ("skills/sq.wasm", Some(&first)),
        ],
    );
    let second = component("second", Some(&source));
    let c2 = commit_bytes(
        &vols,
        "users/alice",
        2,
        &[("skills/sq.wasm", Some(&second))],
    );
    catalog.refresh(&v("users/alice")).unwrap();
    let skill = llmos_core::skill::parse(Some("skills/sq.md"), &source).unwrap();
    let at = |commit| {
        catalog
            .component_at(&v("users/alice"), commit, "skills/sq.md", &skill)
            .unwrap()
            .unwrap()
    };
    assert_eq!(at(c1).sha256, sha256_hex(&first));
    assert_eq!(at(c2).sha256, sha256_hex(&second));
    assert_eq!(at(c1).path, "skills/sq.wasm");
    assert_eq!(at(c1).state, ComponentState::Fresh);
    assert_eq!(at(c1).size, first.len() as u64);
    // The skill file is the same at both commits; the signature is not.
    let old = catalog
        .signature_at(&v("users/alice"), &id("sq"), c1)
        .unwrap()
        .unwrap();
    assert_eq!(old.component.unwrap().sha256, sha256_hex(&first));
    assert_eq!(old.commit, c1.to_string());
    let new = catalog
        .signature_at(&v("users/alice"), &id("sq"), c2)
        .unwrap()
        .unwrap();
    assert_eq!(new.component.unwrap().sha256, sha256_hex(&second));
}

#[test]
fn drafts_have_components_beside_them_too() {
    let vols = open_memory();
    let source = rust_skill("sq", "Squares.", SQUARE);
    commit_bytes(
        &vols,
        "users/alice",
        1,
        &[
            ("skills/drafts/sq.md", Some(source.as_bytes())),
            (
                "skills/drafts/sq.wasm",
                Some(&component("d", Some(&source))),
            ),
        ],
    );
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(e.path, "skills/drafts/sq.md");
    assert_eq!(summary(&e)["component"], "fresh");
}

#[test]
fn import_takes_fresh_components_and_refuses_others() {
    let author = Signature::new("LLMos-Lite", "system@llmos.local", GitTime::utc(5));
    let source = rust_skill("sq", "Squares.", SQUARE);
    let path = |p: &str| VolumePath::new(p).unwrap();
    let with = |wasm: Vec<u8>| {
        BTreeMap::from([
            (path("skills/sq.md"), source.clone().into_bytes()),
            (path("skills/sq.wasm"), wasm),
        ])
    };
    let vols = open_memory();
    let fresh = component("shipped", Some(&source));
    let outcome = import_initial(
        &vols,
        &VolumeId::System,
        &with(fresh.clone()),
        &author,
        "Import",
    )
    .unwrap();
    assert!(matches!(outcome, ImportOutcome::Imported { files: 2, .. }));
    let e = entry(&vols, "system", "sq");
    assert_eq!(summary(&e)["component"], "fresh");
    assert_eq!(reference(&e).unwrap().sha256, sha256_hex(&fresh));

    let stale_source = rust_skill("sq", "Squares.", "fn execute(x: f64) -> f64 { x }");
    for (files, needle) in [
        (
            with(component("stale", Some(&stale_source))),
            "build it again",
        ),
        (with(component("bare", None)), "no provenance"),
        (with(b"junk".to_vec()), "not a WebAssembly file"),
        (
            BTreeMap::from([(path("skills/alone.wasm"), fresh.clone())]),
            "no skill file skills/alone.md",
        ),
    ] {
        let vols = open_memory();
        let err = import_initial(&vols, &VolumeId::System, &files, &author, "Import").unwrap_err();
        assert!(
            matches!(&err, CatalogError::InvalidComponent { .. })
                && err.to_string().contains(needle),
            "{err}"
        );
        assert_eq!(
            vols.head(&VolumeId::System).unwrap(),
            None,
            "nothing written"
        );
    }
}

#[test]
fn an_index_written_before_components_is_derived_again() {
    let vols = open_memory();
    let source = rust_skill("sq", "Squares.", SQUARE);
    commit_bytes(
        &vols,
        "users/alice",
        1,
        &[
            ("skills/sq.md", Some(source.as_bytes())),
            ("skills/sq.wasm", Some(&component("a", Some(&source)))),
        ],
    );
    entry(&vols, "users/alice", "sq");
    // What the previous format wrote: no component in either JSON.
    let db = vols.store().executor();
    db.execute(
        "UPDATE skill_catalog SET summary = json_remove(summary, '$.compiled', '$.component'), \
         signature = json_remove(signature, '$.component')",
        &[],
    )
    .unwrap();
    db.execute("UPDATE skill_catalog_volumes SET format = 1", &[])
        .unwrap();
    let before = Catalog::new(&vols)
        .get_in(&v("users/alice"), &id("sq"))
        .unwrap()
        .unwrap();
    assert!(summary(&before).get("component").is_none());
    // Running the migrations again is harmless.
    migrate(db).unwrap();
    let e = entry(&vols, "users/alice", "sq");
    assert_eq!(summary(&e)["component"], "fresh");
    assert!(reference(&e).unwrap().fresh);
}
