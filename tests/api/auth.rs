use std::net::IpAddr;
use std::time::Duration;

use switchboard::domain::service::ThrottleLimits;

use crate::helpers::*;

fn me(app: &TestApp) -> String {
    format!("/Accounts/{}.json", app.admin.sid)
}

#[test]
fn every_failed_authentication_is_the_same_401() {
    let app = spawn_app();
    let path = me(&app);
    let sid = app.admin.sid.clone();
    let cases = [
        Auth::None,
        Auth::Raw("Basic".into()),
        Auth::Raw("Basic !!!notbase64".into()),
        Auth::Raw("Bearer abc".into()),
        Auth::Raw(format!("Basic {}", "bm9jb2xvbg==")), // "nocolon"
        Auth::basic("nobody@example.com", "whatever password"),
        Auth::basic(
            "AC00000000000000000000000000000000",
            "00000000000000000000000000000000",
        ),
        Auth::basic(&sid, "00000000000000000000000000000000"),
        Auth::basic(&sid, &app.admin.token.to_uppercase()),
        Auth::basic(ADMIN_EMAIL, "not the password"),
        Auth::basic("", ""),
    ];
    let first = app.get(&path, &cases[0]);
    first.assert_error(401, 20003);
    for auth in &cases {
        let reply = app.get(&path, auth);
        assert_eq!(reply.status, 401, "{auth:?}");
        assert_eq!(
            reply.header("www-authenticate").unwrap(),
            "Basic realm=\"Switchboard\""
        );
        assert_eq!(reply.body, first.body, "{auth:?}");
    }
    let xml = app.get(&format!("/Accounts/{sid}"), &Auth::None);
    assert_eq!(xml.status, 401);
    assert!(
        xml.body.contains("<RestException><Code>20003</Code>"),
        "{}",
        xml.body
    );
}

#[test]
fn credentials_are_read_from_the_header_only() {
    let app = spawn_app();
    let token = &app.admin.token;
    let sid = &app.admin.sid;
    let reply = app.get(
        &format!("/Accounts/{sid}.json?AccountSid={sid}&AuthToken={token}"),
        &Auth::None,
    );
    reply.assert_error(401, 20003);
    let body = Some(format!("AccountSid={sid}&AuthToken={token}"));
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let reply = app.request(
        "POST",
        &format!("/Accounts/{sid}.json"),
        &Auth::None,
        &headers,
        body,
    );
    reply.assert_error(401, 20003);
}

#[test]
fn failures_from_one_address_are_throttled_but_a_valid_token_gets_in() {
    let app = spawn_app_with(|config| {
        config.throttle = ThrottleLimits {
            per_address: 3,
            per_account: 1000,
            window: Duration::from_secs(3600),
        };
    });
    let attacker: IpAddr = "127.0.0.1".parse().unwrap();
    let owner: IpAddr = "127.0.0.2".parse().unwrap();
    let path = me(&app);
    let wrong = Auth::basic(&app.admin.sid, "00000000000000000000000000000000");
    for _ in 0..3 {
        app.get_from(attacker, &path, &wrong)
            .assert_error(401, 20003);
    }
    let blocked = app.get_from(attacker, &path, &Auth::basic(ADMIN_EMAIL, ADMIN_PASSWORD));
    blocked.assert_error(429, 20429);
    let retry: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 3600);
    // A token costs no bcrypt to test, so it gets in even from the throttled address.
    assert_eq!(app.get_from(attacker, &path, &app.admin_auth()).status, 200);
    assert_eq!(app.get_from(owner, &path, &app.admin_auth()).status, 200);
}

#[test]
fn password_guesses_against_one_account_are_throttled_but_its_token_still_works() {
    let app = spawn_app_with(|config| {
        config.throttle = ThrottleLimits {
            per_address: 1000,
            per_account: 3,
            window: Duration::from_secs(3600),
        };
    });
    let member = app.create_member(&app.admin_auth(), "target@example.com", &[]);
    let path = format!("/Accounts/{}.json", member.sid);
    let addresses: [IpAddr; 3] = [
        "127.0.0.3".parse().unwrap(),
        "127.0.0.4".parse().unwrap(),
        "127.0.0.5".parse().unwrap(),
    ];
    for from in addresses {
        app.get_from(
            from,
            &path,
            &Auth::basic("target@example.com", "wrong guess number"),
        )
        .assert_error(401, 20003);
    }
    // The right password is refused too now: a blocked guesser must learn nothing.
    let right = app.get_from("127.0.0.6".parse().unwrap(), &path, &member.password_auth());
    right.assert_error(429, 20429);
    assert!(right.header("retry-after").is_some());
    assert_eq!(
        app.get_from("127.0.0.7".parse().unwrap(), &path, &member.token_auth())
            .status,
        200
    );
    // Other accounts are not affected.
    assert_eq!(
        app.get(&me(&app), &Auth::basic(ADMIN_EMAIL, ADMIN_PASSWORD))
            .status,
        200
    );
}

#[test]
fn suspended_and_closed_callers_get_403_only_after_their_credentials_check() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "s@example.com", &[]);
    app.post(
        &format!("/Accounts/{}.json", member.sid),
        &app.admin_auth(),
        &[("Status", "suspended")],
    );
    let path = format!("/Accounts/{}.json", member.sid);
    app.get(&path, &member.token_auth())
        .assert_error(403, 20005);
    app.get(&path, &member.password_auth())
        .assert_error(403, 20005);
    app.get(
        &path,
        &Auth::basic(&member.sid, "ffffffffffffffffffffffffffffffff"),
    )
    .assert_error(401, 20003);
}

#[test]
fn password_logins_keep_working_across_many_requests() {
    let app = spawn_app();
    let auth = Auth::basic(ADMIN_EMAIL, ADMIN_PASSWORD);
    for _ in 0..20 {
        assert_eq!(app.get(&me(&app), &auth).status, 200);
    }
}

#[test]
fn a_password_signs_in_whichever_unicode_form_it_is_typed_in() {
    let app = spawn_app();
    let decomposed = "cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e pour deux";
    let composed = "café crème brûlée pour deux";
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("EmailAddress", "nfkc@example.com"),
            ("Password", decomposed),
        ],
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let path = format!("/Accounts/{}.json", reply.json()["sid"].as_str().unwrap());
    for typed in [composed, decomposed] {
        let me = app.get(&path, &Auth::basic("nfkc@example.com", typed));
        assert_eq!(me.status, 200, "{typed:?}: {}", me.body);
    }
    let fullwidth = "ｆｕｌｌｗｉｄｔｈ ｐａｓｓｐｈｒａｓｅ ｔｙｐｅｄ ｈｅｒｅ";
    let changed = app.post(&path, &app.admin_auth(), &[("Password", fullwidth)]);
    assert_eq!(changed.status, 200, "{}", changed.body);
    let plain = Auth::basic("nfkc@example.com", "fullwidth passphrase typed here");
    assert_eq!(app.get(&path, &plain).status, 200);
}

#[test]
fn passwords_easy_to_guess_are_refused_with_the_reason() {
    let app = spawn_app();
    let create = |email: &str, password: &str, name: Option<&str>| {
        let mut form = vec![("EmailAddress", email), ("Password", password)];
        form.extend(name.map(|name| ("FriendlyName", name)));
        app.post("/Accounts.json", &app.admin_auth(), &form)
    };
    for (password, why) in [
        ("passwordpassword", "repeats"),
        ("abcdefghijklmnop", "sequence"),
        ("qwertyuiopasdfgh", "commonly used"),
        ("1995-12-25!!", "date"),
        ("switchboard!!!", "too weak"),
    ] {
        let reply = create("weak@example.com", password, None);
        reply.assert_error(400, 20001);
        let message = reply.json()["message"].as_str().unwrap().to_owned();
        assert!(
            message.starts_with("Invalid parameter: Password is too weak: it "),
            "{message}"
        );
        assert!(message.contains(why), "{password}: {message}");
        assert!(
            !message.contains(password),
            "the password is not echoed: {message}"
        );
    }
    // Made of the account's own name or address.
    create("kestrel.voyager@example.com", "Kestrel.Voyager 1", None).assert_error(400, 20001);
    create(
        "w@example.com",
        "kestrel voyager hub",
        Some("Kestrel Voyager Hub"),
    )
    .assert_error(400, 20001);
    let strong = create("strong@example.com", "correct horse battery staple", None);
    assert_eq!(strong.status, 201, "{}", strong.body);
}

/// A server may keep what it read between commits, but a commit made by anything else (here,
/// another connection to the same database, as `admin reset-password` beside the server is)
/// must count from the very next request.
#[test]
fn credentials_changed_elsewhere_stop_working_at_once() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "member@example.com", &[]);
    let own = format!("/Accounts/{}.json", member.sid);
    let created = app.post(
        &format!("/Accounts/{}/Keys.json", member.sid),
        &member.token_auth(),
        &[("FriendlyName", "program")],
    );
    let key = created.json();
    let key_auth = Auth::basic(
        key["sid"].as_str().unwrap(),
        key["secret"].as_str().unwrap(),
    );
    for _ in 0..3 {
        assert_eq!(app.get(&own, &member.token_auth()).status, 200);
        assert_eq!(app.get(&own, &key_auth).status, 200);
    }

    app.commit_elsewhere(&format!(
        "UPDATE accounts SET token_salt = 'changed elsewhere' WHERE sid = '{}'",
        member.sid
    ));
    app.get(&own, &member.token_auth()).assert_error(401, 20003);
    assert_eq!(app.get(&own, &key_auth).status, 200, "the key is untouched");

    app.commit_elsewhere(&format!(
        "DELETE FROM api_keys WHERE sid = '{}'",
        key["sid"].as_str().unwrap()
    ));
    app.get(&own, &key_auth).assert_error(401, 20003);
}
