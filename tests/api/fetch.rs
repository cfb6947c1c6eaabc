use crate::helpers::*;

#[test]
fn an_account_fetches_itself_by_sid_and_by_email() {
    let app = spawn_app();
    let by_sid = app.fetch(&app.admin_auth(), &app.admin.sid);
    assert_eq!(by_sid["email_address"], ADMIN_EMAIL);
    let by_email = app.fetch(&app.admin_auth(), "Administrator@Company.com");
    assert_eq!(by_email["sid"], app.admin.sid);
    let escaped = app.fetch(&app.admin_auth(), "administrator%40company.com");
    assert_eq!(escaped["sid"], app.admin.sid);
}
