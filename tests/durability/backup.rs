//! `switchboard backup PATH` while the server runs and takes writes: a server started on the
//! copy (with the installation's key file) holds every write answered before the backup began.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::process::*;

#[test]
fn a_backup_taken_during_writes_holds_every_write_answered_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let server = Arc::new(start(&db));
    let (sid, token) = server.admin();
    let admin = basic(&sid, &token);
    let answered = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (server, answered, stop, admin) = (
                Arc::clone(&server),
                Arc::clone(&answered),
                Arc::clone(&stop),
                admin.clone(),
            );
            std::thread::spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) && n > 0 {
                        return;
                    }
                    let email = format!("w{writer}n{n}@backup.test");
                    let form = [
                        ("EmailAddress", email.as_str()),
                        ("Password", "backup test password"),
                    ];
                    let (status, body) = server.post("/Accounts.json", &admin, &form).unwrap();
                    assert_eq!(status, 201, "{body}");
                    answered.lock().unwrap().push(email);
                }
            })
        })
        .collect();
    while answered.lock().unwrap().len() < 40 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before_backup = answered.lock().unwrap().clone();
    let copy = dir.path().join("backups").join("copy.db");
    std::fs::create_dir(copy.parent().unwrap()).unwrap();
    let mut command = switchboard(&db);
    command.arg("backup").arg(&copy);
    let output = run(command, None);
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().unwrap();
    }
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("key file"), "reminds of the key file: {said}");
    assert_eq!(integrity(&copy), "ok");
    let leftovers: Vec<_> = std::fs::read_dir(copy.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec!["copy.db"],
        "no temporary file is left behind"
    );
    assert!(Arc::into_inner(server).unwrap().stop().success());

    let mut restored = serve_command(&copy);
    restored
        .arg("--key-file")
        .arg(dir.path().join("switchboard.db.key"));
    let restored = start_with(restored, &copy);
    let (sid, token) = restored.admin();
    let admin = basic(&sid, &token);
    for email in &before_backup {
        let (status, body) = restored.get(&format!("/Accounts/{email}.json"), &admin);
        assert_eq!(
            status, 200,
            "a write answered before the backup is missing: {body}"
        );
    }
    let (status, _) = restored.get(
        &format!("/Accounts/{}.json", before_backup[0]),
        &basic(&before_backup[0], "backup test password"),
    );
    assert_eq!(
        status, 200,
        "passwords work with the installation's key file"
    );
    assert!(restored.stop().success());
}

#[test]
fn a_backup_refuses_to_overwrite_the_live_database_or_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let before = snapshot(&db);
    let mut command = switchboard(&db);
    command.arg("backup").arg(&db);
    let output = run(command, None);
    assert!(!output.status.success());
    assert!(one_clear_line(&output, dir.path()).contains("live database"));
    assert_eq!(snapshot(&db), before);

    let mut command = switchboard(&db);
    command
        .arg("backup")
        .arg(dir.path().join("no-such-folder").join("copy.db"));
    let output = run(command, None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the backup folder {} does not exist",
            dir.path().join("no-such-folder").display()
        )),
        "{stderr}"
    );

    let missing = dir.path().join("missing.db");
    let mut command = switchboard(&missing);
    command.arg("backup").arg(dir.path().join("copy.db"));
    let output = run(command, None);
    assert!(!output.status.success());
    assert!(one_clear_line(&output, dir.path()).contains("does not exist"));
    assert!(!missing.exists() && !dir.path().join("copy.db").exists());
}
