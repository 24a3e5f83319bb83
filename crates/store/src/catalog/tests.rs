//! Behaviour of the catalog over rusqlite: refresh, shadowing, problems,
//! filters, signatures, concurrency and the first import.

use std::collections::BTreeMap;
use std::path::Path;

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill::{SkillKind, SkillStatus};
use llmos_core::types::Runtime;
use llmos_core::workflow::catalog::SkillCatalog;

use super::*;
use crate::object::{GitTime, Signature};
use crate::path::VolumePath;
use crate::sql::RusqliteExecutor;
use crate::volume::{CommitRequest, RetryPolicy};

pub(super) type Vols = Volumes<SqlStore<RusqliteExecutor>>;

pub(super) fn open_memory() -> Vols {
    let store = SqlStore::open(RusqliteExecutor::open_in_memory().unwrap()).unwrap();
    migrate(store.executor()).unwrap();
    Volumes::new(store).with_retry(RetryPolicy {
        max_attempts: 8,
        pause: RetryPolicy::no_pause,
    })
}

pub(super) fn open_file(path: &Path) -> Vols {
    let store = SqlStore::open(RusqliteExecutor::open(path).unwrap()).unwrap();
    migrate(store.executor()).unwrap();
    Volumes::new(store)
}

pub(super) fn v(volume: &str) -> VolumeId {
    volume.parse().unwrap()
}

pub(super) fn id(id: &str) -> SkillId {
    SkillId::new(id).unwrap()
}

pub(super) fn sig(t: i64) -> Signature {
    Signature::new("alice", "alice@users.llmos.local", GitTime::utc(t))
}

pub(super) fn context(id: &str, category: &str, description: &str, keywords: &[&str]) -> String {
    format!(
        "---\nskill_id: {id}\nname: {id} guide\ncategory: {category}\n\
         description: {description}\nkeywords: [{}]\n---\n# {id}\n\nBody text.\n",
        keywords.join(", ")
    )
}

fn executable(id: &str, output: &str) -> String {
    format!(
        "---\nskill_id: {id}\nname: {id} node\ncategory: data\n\
         description: Doubles a number.\nkeywords: [double]\ntype: javascript\n\
         execution_mode: browser-wasm\ninputs:\n  - name: x\n    type: number\n    default: 1\n\
         outputs:\n  - name: {output}\n    type: number\n---\nDoubles x.\n\n\
         ```javascript\nfunction execute(inputs) {{ return {{ {output}: inputs.x * 2 }}; }}\n```\n"
    )
}

fn agent_skill(name: &str) -> String {
    format!("---\nname: {name}\ndescription: Work with PDF files.\n---\n# PDF\n")
}

/// Commits `changes` (path → Some(content) to write, None to delete).
pub(super) fn commit(
    vols: &Vols,
    volume: &str,
    t: i64,
    changes: &[(&str, Option<&str>)],
) -> ObjectId {
    let mut request = CommitRequest::new(sig(t), format!("change at {t}"));
    for (path, content) in changes {
        let path = VolumePath::new(path).unwrap();
        request = match content {
            Some(text) => request.put(path, text.as_bytes()),
            None => request.delete(path),
        };
    }
    let outcome = vols.commit(&v(volume), request).unwrap();
    assert!(outcome.created);
    outcome.commit
}

fn ids(listing: &Listing) -> Vec<String> {
    listing
        .entries
        .iter()
        .map(|e| e.skill_id.to_string())
        .collect()
}

/// Every row of the index, as comparable text.
fn dump(vols: &Vols) -> Vec<Vec<SqlValue>> {
    vols.store()
        .executor()
        .execute(
            &format!("SELECT {COLUMNS} FROM skill_catalog ORDER BY volume, path"),
            &[],
        )
        .unwrap()
        .rows
}

#[test]
fn refresh_indexes_added_changed_and_deleted_files() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    let c1 = commit(
        &vols,
        "users/alice",
        1,
        &[
            ("skills/a.md", Some(&context("a", "x", "First.", &["one"]))),
            ("skills/b.md", Some(&context("b", "x", "Second.", &["two"]))),
        ],
    );
    let report = catalog.refresh(&alice).unwrap();
    assert_eq!((report.indexed, report.removed), (2, 0));
    assert_eq!(report.head, Some(c1));
    assert_eq!(catalog.indexed_head(&alice).unwrap(), Some(c1));
    let all = catalog
        .list(std::slice::from_ref(&alice), &ListQuery::default())
        .unwrap();
    assert_eq!(ids(&all), ["a", "b"]);
    assert!(all.entries.iter().all(|e| e.commit == c1));

    let c2 = commit(
        &vols,
        "users/alice",
        2,
        &[(
            "skills/a.md",
            Some(&context("a", "x", "Changed.", &["one"])),
        )],
    );
    let report = catalog.refresh(&alice).unwrap();
    assert_eq!(
        (report.indexed, report.removed),
        (1, 0),
        "only `a` is parsed"
    );
    let a = catalog.get_in(&alice, &id("a")).unwrap().unwrap();
    assert_eq!((a.commit, a.description.as_str()), (c2, "Changed."));
    assert_eq!(
        catalog.get_in(&alice, &id("b")).unwrap().unwrap().commit,
        c1
    );

    commit(&vols, "users/alice", 3, &[("skills/b.md", None)]);
    let report = catalog.refresh(&alice).unwrap();
    assert_eq!((report.indexed, report.removed), (0, 1));
    assert_eq!(
        ids(&catalog
            .list(std::slice::from_ref(&alice), &ListQuery::default())
            .unwrap()),
        ["a"]
    );
    assert!(catalog.get_in(&alice, &id("b")).unwrap().is_none());
}

#[test]
fn commits_outside_skills_parse_nothing_and_keep_commits() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    let c1 = commit(
        &vols,
        "users/alice",
        1,
        &[("skills/a.md", Some(&context("a", "x", "First.", &["one"])))],
    );
    catalog.refresh(&alice).unwrap();
    let c2 = commit(&vols, "users/alice", 2, &[("workflows/w.json", Some("{}"))]);
    let report = catalog.refresh(&alice).unwrap();
    assert_eq!((report.indexed, report.removed), (0, 0));
    assert_eq!(catalog.indexed_head(&alice).unwrap(), Some(c2));
    assert_eq!(
        catalog.get_in(&alice, &id("a")).unwrap().unwrap().commit,
        c1
    );
    // A second refresh at the same head does nothing at all.
    assert!(catalog.ensure_fresh(&[alice]).unwrap().is_empty());
}

#[test]
fn first_index_finds_the_last_change_of_every_file() {
    let vols = open_memory();
    let alice = v("users/alice");
    let mut last = BTreeMap::new();
    for t in 0..40 {
        let name = format!("s{}", t % 7);
        let c = commit(
            &vols,
            "users/alice",
            t,
            &[(
                &format!("skills/{name}.md"),
                Some(&context(&name, "x", &format!("Version {t}."), &["k"])),
            )],
        );
        last.insert(name, c);
    }
    // Changes elsewhere after the last skill change.
    commit(&vols, "users/alice", 100, &[("notes.txt", Some("n"))]);
    let catalog = Catalog::new(&vols);
    catalog.refresh(&alice).unwrap();
    for entry in catalog.entries(&alice).unwrap() {
        assert_eq!(
            entry.commit,
            last[entry.skill_id.as_str()],
            "{}",
            entry.path
        );
    }
    assert_eq!(catalog.entries(&alice).unwrap().len(), 7);
}

#[test]
fn walk_over_many_commits_since_the_indexed_head_finds_each_change() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    commit(
        &vols,
        "users/alice",
        0,
        &[
            ("skills/a.md", Some(&context("a", "x", "A0.", &["k"]))),
            ("skills/b.md", Some(&context("b", "x", "B0.", &["k"]))),
            ("skills/c.md", Some(&context("c", "x", "C0.", &["k"]))),
        ],
    );
    catalog.refresh(&alice).unwrap();
    let changed_b = commit(
        &vols,
        "users/alice",
        1,
        &[("skills/b.md", Some(&context("b", "x", "B1.", &["k"])))],
    );
    // `c` changes and changes back: same blob as indexed, newer commit.
    commit(
        &vols,
        "users/alice",
        2,
        &[("skills/c.md", Some(&context("c", "x", "C1.", &["k"])))],
    );
    let restored_c = commit(
        &vols,
        "users/alice",
        3,
        &[("skills/c.md", Some(&context("c", "x", "C0.", &["k"])))],
    );
    for t in 4..300 {
        commit(
            &vols,
            "users/alice",
            t,
            &[("log.txt", Some(&t.to_string()))],
        );
    }
    let report = catalog.refresh(&alice).unwrap();
    assert_eq!(report.indexed, 2);
    assert_eq!(
        catalog.get_in(&alice, &id("b")).unwrap().unwrap().commit,
        changed_b
    );
    assert_eq!(
        catalog.get_in(&alice, &id("c")).unwrap().unwrap().commit,
        restored_c
    );
}

#[test]
fn merged_view_shadows_system_by_team_by_user() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    for (volume, description) in [
        ("system", "From system."),
        ("teams/core", "From team."),
        ("users/alice", "From alice."),
    ] {
        commit(
            &vols,
            volume,
            1,
            &[(
                "skills/shared.md",
                Some(&context("shared", "x", description, &["k"])),
            )],
        );
    }
    commit(
        &vols,
        "system",
        2,
        &[(
            "skills/only-system.md",
            Some(&context("only-system", "x", "S.", &["k"])),
        )],
    );
    commit(
        &vols,
        "teams/core",
        2,
        &[(
            "skills/only-team.md",
            Some(&context("only-team", "x", "T.", &["k"])),
        )],
    );
    let view = [v("users/alice"), v("teams/core"), v("system")];
    assert_eq!(catalog.ensure_fresh(&view).unwrap().len(), 3);
    let listing = catalog.list(&view, &ListQuery::default()).unwrap();
    assert_eq!(ids(&listing), ["only-system", "only-team", "shared"]);
    let brief: Vec<BriefEntry> = listing.entries.iter().cloned().map(Into::into).collect();
    assert_eq!(catalog.list_brief(&view).unwrap(), brief);
    assert_eq!(brief[2].keywords, ["k"]);
    let shared = catalog.get(&view, &id("shared")).unwrap().unwrap();
    assert_eq!(
        (shared.volume.to_string(), shared.description.as_str()),
        ("users/alice".into(), "From alice.")
    );
    let without_user = catalog.get(&view[1..], &id("shared")).unwrap().unwrap();
    assert_eq!(without_user.description, "From team.");
    // A volume filter lists that volume's own skills, shadowed or not.
    let system = catalog
        .list(
            &view,
            &ListQuery {
                volume: Some(VolumeId::System),
                ..ListQuery::default()
            },
        )
        .unwrap();
    assert_eq!(ids(&system), ["only-system", "shared"]);
    assert!(system.entries.iter().all(|e| e.volume == VolumeId::System));
    // The summary JSON names the volume and commit of the winner.
    let summary: serde_json::Value = serde_json::from_str(&shared.summary_json).unwrap();
    assert_eq!(summary["volume"], "users/alice");
    assert_eq!(summary["commit"], shared.commit.to_string());
    assert_eq!(summary["type"], "context");
    assert_eq!(summary["path"], "skills/shared.md");
}

#[test]
fn files_that_fail_to_parse_are_recorded_and_reported() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    let broken = "---\nskill_id: broken\nname: B\ncategory: x\n---\nbody\n";
    commit(
        &vols,
        "users/alice",
        1,
        &[
            ("skills/broken.md", Some(broken)),
            ("skills/README.md", Some("# Skills of alice\n")),
            (
                "skills/good.md",
                Some(&context("good", "x", "Fine.", &["k"])),
            ),
        ],
    );
    let report = catalog.refresh(&alice).unwrap();
    assert_eq!(report.indexed, 3);
    assert_eq!(report.problems.len(), 2);
    let problems = catalog.problems(std::slice::from_ref(&alice)).unwrap();
    let summary: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.path.as_str(), p.code.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("skills/README.md", "skill-bad-file-name"),
            ("skills/broken.md", "skill-missing-field"),
        ]
    );
    let missing = &problems[1];
    assert_eq!(missing.line, Some(1));
    assert!(
        missing.message.contains("skills/broken.md:1"),
        "{}",
        missing.message
    );
    assert!(
        missing.message.contains("description"),
        "{}",
        missing.message
    );
    assert_eq!(
        ids(&catalog
            .list(std::slice::from_ref(&alice), &ListQuery::default())
            .unwrap()),
        ["good"]
    );
    assert!(catalog.get_in(&alice, &id("broken")).unwrap().is_none());
    // Fixing the file replaces the problem by the skill.
    commit(
        &vols,
        "users/alice",
        2,
        &[(
            "skills/broken.md",
            Some(&context("broken", "x", "Fixed.", &["k"])),
        )],
    );
    catalog.refresh(&alice).unwrap();
    assert_eq!(
        catalog
            .problems(std::slice::from_ref(&alice))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        catalog
            .get_in(&alice, &id("broken"))
            .unwrap()
            .unwrap()
            .description,
        "Fixed."
    );
}

#[test]
fn agent_skills_directories_are_context_skills_named_by_directory() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    commit(
        &vols,
        "users/alice",
        1,
        &[
            ("skills/pdf-tools/SKILL.md", Some(&agent_skill("pdf-tools"))),
            ("skills/pdf-tools/scripts/fill.md", Some("not a skill")),
            ("skills/pdf-tools/reference.md", Some("not a skill either")),
            (
                "skills/wrong-dir/SKILL.md",
                Some(&agent_skill("other-name")),
            ),
        ],
    );
    let report = catalog.refresh(&alice).unwrap();
    assert_eq!(report.indexed, 2, "only SKILL.md files are skill files");
    let pdf = catalog.get_in(&alice, &id("pdf-tools")).unwrap().unwrap();
    assert_eq!(pdf.location, SkillLocation::AgentSkill);
    assert_eq!(pdf.path, "skills/pdf-tools/SKILL.md");
    assert_eq!(pdf.kind, SkillKind::Context);
    assert_eq!(pdf.category, llmos_core::skill::AGENT_SKILL_CATEGORY);
    let problems = catalog.problems(std::slice::from_ref(&alice)).unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "skills/wrong-dir/SKILL.md");
    // Changing a resource of the directory changes no skill.
    commit(
        &vols,
        "users/alice",
        2,
        &[("skills/pdf-tools/reference.md", Some("new text"))],
    );
    assert_eq!(catalog.refresh(&alice).unwrap().indexed, 0);
}

#[test]
fn drafts_are_listed_with_their_status_and_shadowed_by_files() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    commit(
        &vols,
        "users/alice",
        1,
        &[
            (
                "skills/drafts/new-idea.md",
                Some(&context("new-idea", "x", "Draft.", &["k"])),
            ),
            (
                "skills/drafts/both.md",
                Some(&context("both", "x", "Draft both.", &["k"])),
            ),
            (
                "skills/both.md",
                Some(&context("both", "x", "Published both.", &["k"])),
            ),
        ],
    );
    catalog.refresh(&alice).unwrap();
    let listing = catalog
        .list(std::slice::from_ref(&alice), &ListQuery::default())
        .unwrap();
    assert_eq!(ids(&listing), ["both", "new-idea"]);
    assert_eq!(listing.entries[0].description, "Published both.");
    assert_eq!(listing.entries[0].status, None);
    assert_eq!(listing.entries[1].status, Some(SkillStatus::Draft));
    assert_eq!(listing.entries[1].location, SkillLocation::Draft);
    let drafts = catalog
        .list(
            std::slice::from_ref(&alice),
            &ListQuery {
                status: Some(SkillStatus::Draft),
                ..ListQuery::default()
            },
        )
        .unwrap();
    assert_eq!(ids(&drafts), ["new-idea"]);
    // Both files stay indexed.
    assert_eq!(catalog.entries(&alice).unwrap().len(), 3);
    assert_eq!(catalog.count(&alice).unwrap(), 2);
}

#[test]
fn filters_rank_and_page_the_merged_view() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    commit(
        &vols,
        "system",
        1,
        &[
            (
                "skills/plotting.md",
                Some(&context(
                    "plotting",
                    "data",
                    "Plot curves and charts.",
                    &["plot", "chart"],
                )),
            ),
            (
                "skills/circuits.md",
                Some(&context(
                    "circuits",
                    "Electronics",
                    "Simulate circuits.",
                    &["spice"],
                )),
            ),
            (
                "skills/double-node.md",
                Some(&executable("double-node", "y")),
            ),
        ],
    );
    commit(
        &vols,
        "users/alice",
        1,
        &[(
            "skills/chart-colors.md",
            Some(&context(
                "chart-colors",
                "design",
                "Colours for a chart.",
                &["colour"],
            )),
        )],
    );
    let view = [v("users/alice"), VolumeId::System];
    catalog.ensure_fresh(&view).unwrap();
    let list = |query: ListQuery| catalog.list(&view, &query).unwrap();

    let ranked = list(ListQuery {
        q: Some("plotting charts".into()),
        ..ListQuery::default()
    });
    assert_eq!(
        ids(&ranked),
        ["plotting", "chart-colors"],
        "best first, matches only"
    );
    assert_eq!(ranked.total, 2);
    // The ranked fields' terms are now kept by blob; the next search reads
    // them and ranks the same.
    let kept = vols
        .store()
        .executor()
        .execute("SELECT COUNT(*) FROM skill_rank_terms", &[])
        .unwrap();
    assert!(kept.rows[0][0].as_integer().unwrap() >= 2);
    let again = list(ListQuery {
        q: Some("plotting charts".into()),
        ..ListQuery::default()
    });
    assert_eq!(again, ranked);
    // Damaged rows are derived again, and the repair is kept.
    let damage = "UPDATE skill_rank_terms SET terms = '1 2 3 4' || char(10) || 'plot x'";
    vols.store().executor().execute(damage, &[]).unwrap();
    let query = ListQuery {
        q: Some("plotting charts".into()),
        ..ListQuery::default()
    };
    assert_eq!(list(query.clone()), ranked);
    assert_eq!(list(query), ranked);
    let still_damaged = vols
        .store()
        .executor()
        .execute(
            "SELECT COUNT(*) FROM skill_rank_terms WHERE terms LIKE '%plot x'",
            &[],
        )
        .unwrap();
    assert_eq!(still_damaged.rows[0][0].as_integer(), Some(0));

    let electronics = list(ListQuery {
        category: Some("electronics".into()),
        ..ListQuery::default()
    });
    assert_eq!(ids(&electronics), ["circuits"]);

    let executable = list(ListQuery {
        kind: Some("executable".parse().unwrap()),
        ..ListQuery::default()
    });
    assert_eq!(ids(&executable), ["double-node"]);
    let javascript = list(ListQuery {
        kind: Some("javascript".parse().unwrap()),
        ..ListQuery::default()
    });
    assert_eq!(ids(&javascript), ["double-node"]);
    assert!(
        list(ListQuery {
            kind: Some("python-wasm".parse().unwrap()),
            ..ListQuery::default()
        })
        .entries
        .is_empty()
    );
    let context = list(ListQuery {
        kind: Some("context".parse().unwrap()),
        ..ListQuery::default()
    });
    assert_eq!(context.total, 3);
    assert!("ruby".parse::<TypeFilter>().is_err());

    let page = list(ListQuery {
        offset: 1,
        limit: Some(2),
        ..ListQuery::default()
    });
    assert_eq!(page.total, 4);
    assert_eq!(ids(&page), ["circuits", "double-node"]);
    let past_end = list(ListQuery {
        offset: 10,
        ..ListQuery::default()
    });
    assert_eq!((past_end.total, past_end.entries.len()), (4, 0));
    let count_only = list(ListQuery {
        limit: Some(0),
        ..ListQuery::default()
    });
    assert_eq!((count_only.total, count_only.entries.len()), (4, 0));

    // The JSON form lists the same entries.
    for query in [
        ListQuery::default(),
        ListQuery {
            q: Some("chart".into()),
            limit: Some(1),
            ..ListQuery::default()
        },
        ListQuery {
            kind: Some("context".parse().unwrap()),
            offset: 1,
            ..ListQuery::default()
        },
    ] {
        let entries = list(query.clone());
        let summaries = catalog.list_summaries(&view, &query).unwrap();
        assert_eq!(summaries.total, entries.total);
        let expected: Vec<&str> = entries
            .entries
            .iter()
            .map(|e| e.summary_json.as_str())
            .collect();
        assert_eq!(summaries.summaries, expected, "{query:?}");
    }
}

#[test]
fn signatures_follow_versions_and_commits() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    let c1 = commit(
        &vols,
        "users/alice",
        1,
        &[(
            "skills/double-node.md",
            Some(&executable("double-node", "y")),
        )],
    );
    let c2 = commit(
        &vols,
        "users/alice",
        2,
        &[(
            "skills/double-node.md",
            Some(&executable("double-node", "z")),
        )],
    );
    let c3 = commit(&vols, "users/alice", 3, &[("other.txt", Some("x"))]);
    catalog.refresh(&alice).unwrap();
    let entry = catalog.get_in(&alice, &id("double-node")).unwrap().unwrap();
    let latest = entry.signature().unwrap().unwrap();
    assert_eq!(latest.commit, c2.to_string());
    assert_eq!(latest.outputs[0].name, "z");
    assert_eq!(latest.runtime, Runtime::Javascript);

    let old = catalog
        .signature_at(&alice, &id("double-node"), c1)
        .unwrap()
        .unwrap();
    assert_eq!(
        (old.outputs[0].name.as_str(), old.commit.clone()),
        ("y", c1.to_string())
    );
    let at_c3 = catalog
        .signature_at(&alice, &id("double-node"), c3)
        .unwrap()
        .unwrap();
    assert_eq!(
        (at_c3.outputs[0].name.as_str(), at_c3.commit.clone()),
        ("z", c3.to_string())
    );
    assert!(
        catalog
            .signature_at(&alice, &id("missing"), c3)
            .unwrap()
            .is_none()
    );
    // A commit of another volume is not part of this one.
    let other = commit(&vols, "users/bob", 1, &[("x.txt", Some("x"))]);
    assert!(
        catalog
            .signature_at(&alice, &id("double-node"), other)
            .is_err()
    );

    let engine_catalog = catalog.signatures(&[alice]).unwrap();
    assert_eq!(
        engine_catalog.latest("double-node").unwrap().outputs[0].name,
        "z"
    );
}

#[test]
fn index_recovers_when_the_indexed_head_is_not_an_ancestor() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    commit(
        &vols,
        "users/alice",
        1,
        &[("skills/a.md", Some(&context("a", "x", "A.", &["k"])))],
    );
    catalog.refresh(&alice).unwrap();
    let expected = dump(&vols);
    // Point the index at a commit of another volume, and add a stray row.
    let foreign = commit(
        &vols,
        "users/bob",
        1,
        &[("skills/z.md", Some(&context("z", "x", "Z.", &["k"])))],
    );
    let db = vols.store().executor();
    db.execute(
        "UPDATE skill_catalog_volumes SET head = ? WHERE volume = 'users/alice'",
        &[foreign.to_string().into()],
    )
    .unwrap();
    db.execute(
        "INSERT INTO skill_catalog (volume, path, skill_id, location, blob, last_commit, error_code)
         VALUES ('users/alice', 'skills/stray.md', 'stray', 'file', ?, ?, 'x')",
        &[foreign.to_string().into(), foreign.to_string().into()],
    )
    .unwrap();
    catalog.ensure_fresh(std::slice::from_ref(&alice)).unwrap();
    let alice_rows = dump(&vols)
        .into_iter()
        .filter(|r| r[0] == SqlValue::Text("users/alice".into()))
        .collect::<Vec<_>>();
    assert_eq!(alice_rows, expected);
}

#[test]
fn rows_of_another_format_are_derived_again() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    commit(
        &vols,
        "users/alice",
        1,
        &[("skills/a.md", Some(&context("a", "x", "A.", &["k"])))],
    );
    catalog.refresh(&alice).unwrap();
    let expected = dump(&vols);
    let db = vols.store().executor();
    db.execute(
        "UPDATE skill_catalog SET summary = 'stale', name = 'stale'",
        &[],
    )
    .unwrap();
    db.execute("UPDATE skill_catalog_volumes SET format = 0", &[])
        .unwrap();
    let reports = catalog.ensure_fresh(&[alice]).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].indexed, 1);
    assert_eq!(dump(&vols), expected);
}

#[test]
fn commits_outside_skills_carry_the_indexed_head_forward() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    let c1 = commit(
        &vols,
        "users/alice",
        1,
        &[("skills/a.md", Some(&context("a", "x", "First.", &["one"])))],
    );
    // Not indexed yet: nothing to carry.
    let c2 = commit(&vols, "users/alice", 2, &[("traces/t1.json", Some("{}"))]);
    assert!(!catalog.carry_forward(&alice, c2).unwrap());
    assert_eq!(catalog.indexed_head(&alice).unwrap(), None);
    catalog.refresh(&alice).unwrap();
    let rows = dump(&vols);

    let c3 = commit(&vols, "users/alice", 3, &[("traces/t2.json", Some("{}"))]);
    assert!(catalog.carry_forward(&alice, c3).unwrap());
    assert_eq!(catalog.indexed_head(&alice).unwrap(), Some(c3));
    assert!(
        catalog
            .ensure_fresh(std::slice::from_ref(&alice))
            .unwrap()
            .is_empty()
    );
    assert_eq!(dump(&vols), rows);
    // Twice is a no-op: the index is no longer at the parent.
    assert!(!catalog.carry_forward(&alice, c3).unwrap());

    // A commit that changes a skill is never carried.
    let c4 = commit(
        &vols,
        "users/alice",
        4,
        &[
            (
                "skills/a.md",
                Some(&context("a", "x", "Changed.", &["one"])),
            ),
            ("traces/t3.json", Some("{}")),
        ],
    );
    assert!(!catalog.carry_forward(&alice, c4).unwrap());
    assert_eq!(catalog.indexed_head(&alice).unwrap(), Some(c3));
    // Nor one whose parent is not the indexed head.
    let c5 = commit(&vols, "users/alice", 5, &[("traces/t4.json", Some("{}"))]);
    assert!(!catalog.carry_forward(&alice, c5).unwrap());
    let report = catalog.ensure_fresh(std::slice::from_ref(&alice)).unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].indexed, 1);
    let a = catalog.get_in(&alice, &id("a")).unwrap().unwrap();
    assert_eq!((a.commit, a.description.as_str()), (c4, "Changed."));
    assert_ne!(a.commit, c1);
}

#[test]
fn a_superseded_refresh_cannot_write_or_mark_the_volume() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    let c1 = commit(
        &vols,
        "users/alice",
        1,
        &[("skills/a.md", Some(&context("a", "x", "A.", &["k"])))],
    );
    let (stale_epoch, _, _) = catalog.claim(&alice).unwrap();
    // Another refresh claims and completes.
    catalog.refresh(&alice).unwrap();
    let expected = dump(&vols);
    let stray = vec![
        SqlValue::from("users/alice"),
        "skills/stray.md".into(),
        "stray".into(),
        "file".into(),
        c1.to_string().into(),
        c1.to_string().into(),
    ]
    .into_iter()
    .chain(std::iter::repeat_n(SqlValue::Null, 10))
    .chain(["x".into(), "y".into(), SqlValue::Null])
    .collect::<Vec<_>>();
    catalog.write_rows(&alice, stale_epoch, &[stray]).unwrap();
    catalog
        .delete_rows(&alice, stale_epoch, &["skills/a.md".into()])
        .unwrap();
    assert!(!catalog.finish(&alice, stale_epoch, None).unwrap());
    assert_eq!(dump(&vols), expected);
    assert_eq!(catalog.indexed_head(&alice).unwrap(), Some(c1));
}

#[test]
fn index_always_equals_a_rebuild() {
    // A deterministic mix of writes, deletes, broken files and refreshes at
    // irregular points; after each refresh the index equals one rebuilt
    // from nothing.
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let alice = v("users/alice");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for t in 1..=120 {
        let name = format!("s{}", next(9));
        let path = match next(6) {
            0 => format!("skills/drafts/{name}.md"),
            1 => format!("skills/{name}/SKILL.md"),
            _ => format!("skills/{name}.md"),
        };
        let content = match next(5) {
            0 => None,
            1 => Some("---\nbroken: [\n---\n".to_owned()),
            _ if path.ends_with("SKILL.md") => Some(agent_skill(&name)),
            _ => Some(context(&name, "x", &format!("At {t}."), &["k"])),
        };
        let mut request = CommitRequest::new(sig(t), "step");
        let vpath = VolumePath::new(&path).unwrap();
        request = match &content {
            Some(text) => request.put(vpath, text.as_bytes()),
            None => request.delete(vpath),
        };
        // Deleting a missing file commits nothing; that is fine here.
        let _ = vols.commit(&alice, request);
        if next(3) == 0 {
            catalog.refresh(&alice).unwrap();
            let incremental = dump(&vols);
            let db = vols.store().executor();
            db.execute("DELETE FROM skill_catalog", &[]).unwrap();
            db.execute("DELETE FROM skill_catalog_volumes", &[])
                .unwrap();
            catalog.refresh(&alice).unwrap();
            assert_eq!(incremental, dump(&vols), "after step {t}");
        }
    }
}

#[test]
fn concurrent_writers_and_refreshers_leave_a_consistent_index() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db.sqlite");
    open_file(&db_path);
    let alice = v("users/alice");
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let db_path = &db_path;
            let alice = &alice;
            scope.spawn(move || {
                let vols = open_file(db_path);
                let catalog = Catalog::new(&vols);
                for i in 0..25 {
                    let name = format!("w{writer}-s{}", i % 5);
                    let path = VolumePath::new(&format!("skills/{name}.md")).unwrap();
                    let text = context(&name, "x", &format!("Write {i}."), &["k"]);
                    vols.commit(alice, CommitRequest::new(sig(i), "w").put(path, text))
                        .unwrap();
                    catalog.refresh(alice).unwrap();
                }
            });
        }
    });
    let vols = open_file(&db_path);
    let catalog = Catalog::new(&vols);
    catalog.ensure_fresh(std::slice::from_ref(&alice)).unwrap();
    let concurrent = dump(&vols);
    assert_eq!(concurrent.len(), 20);
    let db = vols.store().executor();
    db.execute("DELETE FROM skill_catalog", &[]).unwrap();
    db.execute("DELETE FROM skill_catalog_volumes", &[])
        .unwrap();
    catalog.refresh(&alice).unwrap();
    assert_eq!(concurrent, dump(&vols));
}

fn system_files() -> BTreeMap<VolumePath, Vec<u8>> {
    BTreeMap::from([
        (
            VolumePath::new("skills/a.md").unwrap(),
            context("a", "x", "A.", &["k"]).into_bytes(),
        ),
        (
            VolumePath::new("skills/pdf-tools/SKILL.md").unwrap(),
            agent_skill("pdf-tools").into_bytes(),
        ),
    ])
}

#[test]
fn import_makes_one_first_commit() {
    let vols = open_memory();
    let author = Signature::new("LLMos-Lite", "system@llmos.local", GitTime::utc(5));
    let outcome =
        import_initial(&vols, &VolumeId::System, &system_files(), &author, "Import").unwrap();
    let ImportOutcome::Imported { commit, files } = outcome else {
        panic!("expected an import, got {outcome:?}");
    };
    assert_eq!(files, 2);
    assert_eq!(
        import_initial(&vols, &VolumeId::System, &system_files(), &author, "Import").unwrap(),
        ImportOutcome::AlreadyInitialised { head: commit }
    );
    let info = vols.commit_info(&VolumeId::System, commit).unwrap();
    assert!(info.parents.is_empty());
    assert_eq!(info.author.email, "system@llmos.local");
    let catalog = Catalog::new(&vols);
    catalog.refresh(&VolumeId::System).unwrap();
    let listing = catalog
        .list(&[VolumeId::System], &ListQuery::default())
        .unwrap();
    assert_eq!(ids(&listing), ["a", "pdf-tools"]);
    assert!(listing.entries.iter().all(|e| e.commit == commit));
    assert!(crate::fsck::fsck(vols.store()).unwrap().is_ok());
}

#[test]
fn import_refuses_invalid_files_and_writes_nothing() {
    let vols = open_memory();
    let author = Signature::new("LLMos-Lite", "system@llmos.local", GitTime::utc(5));
    let mut files = system_files();
    files.insert(
        VolumePath::new("skills/broken.md").unwrap(),
        b"---\nskill_id: broken\n---\n".to_vec(),
    );
    let err = import_initial(&vols, &VolumeId::System, &files, &author, "Import").unwrap_err();
    assert!(
        matches!(&err, CatalogError::InvalidSkill { path, .. } if path == "skills/broken.md"),
        "{err}"
    );
    assert!(err.to_string().contains("skills/broken.md:1"), "{err}");
    let mut files = system_files();
    files.insert(VolumePath::new("notes.txt").unwrap(), b"x".to_vec());
    assert!(matches!(
        import_initial(&vols, &VolumeId::System, &files, &author, "Import"),
        Err(CatalogError::NotASkillPath { .. })
    ));
    assert_eq!(vols.head(&VolumeId::System).unwrap(), None);
}

#[test]
fn concurrent_imports_create_exactly_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db.sqlite");
    open_file(&db_path);
    let outcomes: Vec<ImportOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let db_path = &db_path;
                scope.spawn(move || {
                    let vols = open_file(db_path);
                    // Different times give different commits: only one may land.
                    let author =
                        Signature::new("LLMos-Lite", "system@llmos.local", GitTime::utc(i));
                    import_initial(&vols, &VolumeId::System, &system_files(), &author, "Import")
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let imported: Vec<ObjectId> = outcomes
        .iter()
        .filter_map(|o| match o {
            ImportOutcome::Imported { commit, .. } => Some(*commit),
            ImportOutcome::AlreadyInitialised { .. } => None,
        })
        .collect();
    assert_eq!(imported.len(), 1, "{outcomes:?}");
    let vols = open_file(&db_path);
    assert_eq!(vols.head(&VolumeId::System).unwrap(), Some(imported[0]));
    let history = vols
        .history(&VolumeId::System, &crate::volume::HistoryQuery::volume(10))
        .unwrap();
    assert_eq!(history.entries.len(), 1);
}

#[test]
fn fresh_state_names_the_commit_each_index_reflects() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    let (alice, core, empty) = (v("users/alice"), v("teams/core"), v("users/nobody"));
    let view = [alice.clone(), core.clone(), empty.clone()];
    let a1 = commit(
        &vols,
        "users/alice",
        1,
        &[("skills/a.md", Some(&context("a", "x", "First.", &["one"])))],
    );
    let c1 = commit(
        &vols,
        "teams/core",
        2,
        &[("skills/c.md", Some(&context("c", "x", "Team.", &["two"])))],
    );
    // First look: both volumes are indexed, and their heads reported in
    // volume order; the volume without commits has no head.
    let state = catalog.fresh_state(&view).unwrap();
    assert!(state.settled);
    assert_eq!(state.reports.len(), 2);
    assert_eq!(
        state.heads,
        [
            (core.clone(), c1.to_string()),
            (alice.clone(), a1.to_string())
        ]
    );
    // Nothing moved: same heads, no refresh.
    let again = catalog.fresh_state(&view).unwrap();
    assert!(again.reports.is_empty());
    assert_eq!(again.heads, state.heads);
    // A commit moves that volume's head, and only that one.
    let a2 = commit(&vols, "users/alice", 3, &[("skills/a.md", None)]);
    let moved = catalog.fresh_state(&view).unwrap();
    assert_eq!(moved.reports.len(), 1);
    assert_eq!(
        moved.heads,
        [(core, c1.to_string()), (alice.clone(), a2.to_string())]
    );
    assert_eq!(catalog.indexed_head(&alice).unwrap(), Some(a2));
}

#[test]
fn filters_apply_to_the_winner_not_to_shadowed_files() {
    let vols = open_memory();
    let catalog = Catalog::new(&vols);
    commit(
        &vols,
        "system",
        1,
        &[
            (
                "skills/shared.md",
                Some(&context("shared", "x", "S.", &["k"])),
            ),
            ("skills/node.md", Some(&executable("node", "y"))),
        ],
    );
    commit(
        &vols,
        "users/alice",
        2,
        &[
            (
                "skills/shared.md",
                Some(&context("shared", "Yy", "A.", &["k"])),
            ),
            ("skills/node.md", Some(&context("node", "x", "A.", &["k"]))),
        ],
    );
    let view = [v("users/alice"), VolumeId::System];
    catalog.ensure_fresh(&view).unwrap();
    let list = |query: ListQuery| {
        let listing = catalog.list(&view, &query).unwrap();
        assert_eq!(listing.total, listing.entries.len());
        (ids(&listing), listing)
    };
    let category = |c: &str| ListQuery {
        category: Some(c.into()),
        ..ListQuery::default()
    };
    // Alice's `node` and `shared` hide the system's: the system files'
    // category and type no longer match anything.
    assert_eq!(list(category("x")).0, ["node"]);
    let (found, listing) = list(category("yY"));
    assert_eq!(found, ["shared"]);
    assert_eq!(listing.entries[0].volume, v("users/alice"));
    let executable = ListQuery {
        kind: Some("executable".parse().unwrap()),
        ..ListQuery::default()
    };
    assert!(list(executable.clone()).0.is_empty());
    // In the system volume alone, nothing is shadowed.
    let system_only = ListQuery {
        volume: Some(VolumeId::System),
        ..executable
    };
    assert_eq!(list(system_only).0, ["node"]);
    // Paging past the end keeps the total.
    let past = catalog
        .list(
            &view,
            &ListQuery {
                offset: 5,
                limit: Some(1),
                ..ListQuery::default()
            },
        )
        .unwrap();
    assert_eq!((past.total, past.entries.len()), (2, 0));
}

#[test]
fn settled_heads_answer_only_when_every_index_reflects_its_head() {
    let system: VolumeId = "system".parse().unwrap();
    let alice: VolumeId = "users/alice".parse().unwrap();
    let volumes = [alice.clone(), system.clone()];
    let row = |volume: &str, target: &str, indexed: Option<&str>, format: i64| {
        vec![
            SqlValue::from(volume.to_owned()),
            SqlValue::from(target.to_owned()),
            indexed.map_or(SqlValue::Null, |h| SqlValue::from(h.to_owned())),
            SqlValue::Integer(format),
        ]
    };
    let fresh = [
        row("users/alice", "a1", Some("a1"), INDEX_FORMAT),
        row("system", "s1", Some("s1"), INDEX_FORMAT),
    ];
    assert_eq!(
        settled_heads(&volumes, std::slice::from_ref(&system), &fresh),
        Some(vec![
            (system.clone(), "s1".into()),
            (alice.clone(), "a1".into())
        ])
    );
    // An index behind its head, or of another format: refresh first.
    let behind = [
        row("users/alice", "a2", Some("a1"), INDEX_FORMAT),
        row("system", "s1", Some("s1"), INDEX_FORMAT),
    ];
    assert_eq!(settled_heads(&volumes, &[], &behind), None);
    let never = [row("users/alice", "a1", None, INDEX_FORMAT)];
    assert_eq!(settled_heads(&volumes, &[], &never), None);
    let old = [row("users/alice", "a1", Some("a1"), INDEX_FORMAT - 1)];
    assert_eq!(settled_heads(&volumes, &[], &old), None);
    // A volume without a head is absent, unless it is required.
    let only_alice = [row("users/alice", "a1", Some("a1"), INDEX_FORMAT)];
    assert_eq!(
        settled_heads(&volumes, &[], &only_alice),
        Some(vec![(alice.clone(), "a1".into())])
    );
    assert_eq!(settled_heads(&volumes, &[system], &only_alice), None);
    // A row of a volume that was not asked for is not trusted.
    let other = [row("users/bob", "b1", Some("b1"), INDEX_FORMAT)];
    assert_eq!(settled_heads(&volumes, &[], &other), None);
}
