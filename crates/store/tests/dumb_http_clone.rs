//! Stock `git clone` and `git fetch` over the dumb HTTP protocol, served by
//! a minimal loopback HTTP server that only routes to `dumb_http::respond`
//! (and, like the skills component, updates the volume's packs when a
//! client asks for `info/refs`).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{git, git_output, p, sig, v};
use llmos_core::ids::VolumeId;
use llmos_store::dumb_http::{DumbHttpError, MAX_PACKS, respond, update_packs};
use llmos_store::{CommitRequest, PackFile, PackStore, RusqliteExecutor, SqlStore, Volumes};

/// Paths requested from the server, in order.
type Log = Arc<Mutex<Vec<String>>>;

/// Serves `/git/<volume>/<path>` from the database at `db` until `stop` is
/// set or a minute has passed, whichever comes first.
fn serve(db: PathBuf, stop: Arc<AtomicBool>) -> (u16, std::thread::JoinHandle<()>) {
    serve_logged(db, stop, Log::default())
}

fn serve_logged(
    db: PathBuf,
    stop: Arc<AtomicBool>,
    log: Log,
) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let store = SqlStore::new(RusqliteExecutor::open(&db).unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => handle(&store, stream, &log),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    });
    (port, handle)
}

fn handle(store: &SqlStore<RusqliteExecutor>, stream: TcpStream, log: &Log) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers; dumb-HTTP requests carry no body.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    log.lock().unwrap().push(path.to_owned());
    let (status, content_type, body) = route(store, path);
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

fn route(store: &SqlStore<RusqliteExecutor>, path: &str) -> (&'static str, &'static str, Vec<u8>) {
    let not_found = ("404 Not Found", "text/plain", b"not found\n".to_vec());
    let Some(rest) = path.strip_prefix("/git/") else {
        return not_found;
    };
    // `users/alice/info/refs` → volume `users/alice`, path `info/refs`.
    let (volume, sub) = match rest.strip_prefix("system/") {
        Some(sub) => ("system".to_owned(), sub),
        None => {
            let mut parts = rest.splitn(3, '/');
            let (Some(kind), Some(id), Some(sub)) = (parts.next(), parts.next(), parts.next())
            else {
                return not_found;
            };
            (format!("{kind}/{id}"), sub)
        }
    };
    let Ok(volume) = volume.parse::<VolumeId>() else {
        return not_found;
    };
    if sub == "info/refs" {
        update_packs(store, &volume, 1_700_000_000).unwrap();
    }
    match respond(store, &volume, sub) {
        Ok(response) => ("200 OK", response.content_type, response.body),
        Err(DumbHttpError::NotFound { .. }) => not_found,
        Err(e) => (
            "500 Internal Server Error",
            "text/plain",
            e.to_string().into_bytes(),
        ),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn stock_git_clones_and_fetches_a_volume_over_dumb_http() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("volumes.db");
    let vols = Volumes::new(SqlStore::open(RusqliteExecutor::open(&db).unwrap()).unwrap());
    let alice = v("users/alice");
    vols.commit(
        &alice,
        CommitRequest::new(sig(1_700_000_000), "Add skills")
            .put(p("skills/a.md"), "# A\n")
            .put(p("skills/sub/b.md"), "# B\n"),
    )
    .unwrap();
    vols.commit(
        &v("users/bob"),
        CommitRequest::new(sig(1_700_000_000), "Bob's").put(p("secret.md"), "bob only\n"),
    )
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (port, server) = serve(db.clone(), stop.clone());
    let url = format!("http://127.0.0.1:{port}/git/users/alice");

    git(dir.path(), &["clone", "-q", &url, "clone"]);
    let clone = dir.path().join("clone");
    assert_eq!(read(&clone.join("skills/a.md")), "# A\n");
    assert_eq!(read(&clone.join("skills/sub/b.md")), "# B\n");
    assert_eq!(git(&clone, &["log", "--format=%s"]), "Add skills\n");
    git(&clone, &["fsck", "--strict", "--no-dangling"]);

    // New commits arrive with a plain `git pull`, fetching only new objects.
    vols.commit(
        &alice,
        CommitRequest::new(sig(1_700_000_100), "Edit a").put(p("skills/a.md"), "# A v2\n"),
    )
    .unwrap();
    git(&clone, &["pull", "-q", "--ff-only"]);
    assert_eq!(read(&clone.join("skills/a.md")), "# A v2\n");
    assert_eq!(git(&clone, &["log", "--format=%s"]), "Edit a\nAdd skills\n");
    assert_eq!(
        git(&clone, &["rev-parse", "HEAD"]).trim(),
        vols.head(&alice).unwrap().unwrap().to_string()
    );

    // Another volume's object is not served under this volume's URL.
    let bob_blob = llmos_store::RawObject::blob(b"bob only\n".to_vec()).id();
    let out = git_output(
        dir.path(),
        &["-C", "clone", "fetch", "-q", &url, &bob_blob.to_string()],
        None,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("Unable to find {bob_blob}")),
        "{stderr}"
    );

    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}

#[test]
fn a_long_history_is_cloned_from_packs_in_few_requests() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("volumes.db");
    let vols = Volumes::new(SqlStore::open(RusqliteExecutor::open(&db).unwrap()).unwrap());
    let alice = v("users/alice");
    let mut t = 1_700_000_000;
    let mut commit = |vols: &Volumes<SqlStore<RusqliteExecutor>>, n: usize| {
        for i in 0..n {
            t += 1;
            let path = p(&format!("skills/s{}.md", i % 40));
            vols.commit(
                &alice,
                CommitRequest::new(sig(t), format!("Edit {t}")).put(path, format!("# {t}\n")),
            )
            .unwrap();
        }
    };
    commit(&vols, 300);

    let log = Log::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (port, server) = serve_logged(db.clone(), stop.clone(), log.clone());
    let url = format!("http://127.0.0.1:{port}/git/users/alice");
    git(dir.path(), &["clone", "-q", &url, "clone"]);
    let clone = dir.path().join("clone");
    git(&clone, &["fsck", "--strict", "--no-dangling"]);
    assert_eq!(git(&clone, &["rev-list", "--count", "HEAD"]).trim(), "300");
    let requests = log.lock().unwrap().clone();
    let packs: Vec<&String> = requests.iter().filter(|r| r.ends_with(".pack")).collect();
    assert_eq!(packs.len(), 1, "{requests:?}");
    assert!(
        requests.len() < 12,
        "{} requests: {requests:?}",
        requests.len()
    );

    // The index is byte for byte the one git writes for the same pack.
    let store = vols.store();
    let pack = &store.packs(&alice).unwrap()[0];
    let bytes = store
        .pack_file(&alice, &pack.name, PackFile::Pack)
        .unwrap()
        .unwrap();
    let ours = store
        .pack_file(&alice, &pack.name, PackFile::Index)
        .unwrap()
        .unwrap();
    let scratch = dir.path().join("scratch.pack");
    std::fs::write(&scratch, &bytes).unwrap();
    git(
        &clone,
        &["index-pack", "-o", "../theirs.idx", "../scratch.pack"],
    );
    assert_eq!(std::fs::read(dir.path().join("theirs.idx")).unwrap(), ours);
    // Versions of the skills folder are stored as deltas: git resolves
    // chains of them, none longer than 50.
    std::fs::write(dir.path().join("scratch.idx"), &ours).unwrap();
    let stats = git(&clone, &["verify-pack", "-s", "../scratch.idx"]);
    assert!(stats.contains("chain length = 1:"), "{stats}");
    assert!(!stats.contains("chain length = 51:"), "{stats}");

    // New commits: a few stay loose, many become a new pack; each pull
    // brings exactly what is new.
    log.lock().unwrap().clear();
    commit(&vols, 3);
    git(&clone, &["pull", "-q", "--ff-only"]);
    assert!(
        !log.lock().unwrap().iter().any(|r| r.ends_with(".pack")),
        "{:?}",
        log.lock().unwrap()
    );
    for round in 0..MAX_PACKS + 1 {
        commit(&vols, 20);
        git(&clone, &["pull", "-q", "--ff-only"]);
        assert!(
            store.packs(&alice).unwrap().len() < MAX_PACKS,
            "round {round}"
        );
    }
    assert_eq!(
        git(&clone, &["rev-parse", "HEAD"]).trim(),
        vols.head(&alice).unwrap().unwrap().to_string()
    );
    git(&clone, &["fsck", "--strict", "--no-dangling"]);

    // A fresh clone after the packs were folded together.
    git(dir.path(), &["clone", "-q", &url, "again"]);
    let again = dir.path().join("again");
    git(&again, &["fsck", "--strict", "--no-dangling"]);
    assert_eq!(
        git(&again, &["rev-parse", "HEAD"]).trim(),
        vols.head(&alice).unwrap().unwrap().to_string()
    );

    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}
