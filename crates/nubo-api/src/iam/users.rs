//! `CreateUser`, `GetUser`, `ListUsers`, `DeleteUser`.

use nubo_core::Error;
use nubo_protocol::xml::XmlWriter;
use nubo_store::UserRow;

use super::{iso, IamPage};
use crate::call::Call;
use crate::server::Api;

fn user(w: &mut XmlWriter, u: &UserRow) {
    w.leaf("Path", &u.path)
        .leaf("UserName", &u.name)
        .leaf("UserId", &u.user_id)
        .leaf("Arn", &u.arn)
        .leaf("CreateDate", iso(&u.created_at));
}

pub async fn create_user(api: &Api, call: &mut Call) -> Result<String, Error> {
    let name = call.params.required("UserName")?.to_string();
    let u = api
        .iam
        .create_user(&call.scope.account, &name, call.params.get("Path"))
        .await?;
    call.touched.push(u.arn.clone());
    let mut w = call.response("CreateUser");
    w.node("User", |w| user(w, &u));
    Ok(call.finish(w))
}

pub async fn get_user(api: &Api, call: &mut Call) -> Result<String, Error> {
    let name = call
        .params
        .get("UserName")
        .map(str::to_string)
        .or_else(|| call.principal.user_name.clone());
    let mut w = call.response("GetUser");
    match name {
        Some(name) => {
            let u = api.iam.get_user(&call.scope.account, &name).await?;
            w.node("User", |w| user(w, &u));
        }
        None => {
            // The root identity has no user name or path, as on AWS.
            let account = api
                .iam
                .store()
                .get_account(call.scope.account.as_str())
                .await?;
            let created = account.map(|a| iso(&a.created_at)).unwrap_or_default();
            w.node("User", |w| {
                w.leaf("UserId", &call.principal.user_id)
                    .leaf("Arn", &call.principal.arn)
                    .leaf("CreateDate", created);
            });
        }
    }
    Ok(call.finish(w))
}

pub async fn list_users(api: &Api, call: &mut Call) -> Result<String, Error> {
    let page = IamPage::new(&call.params)?;
    let users = api
        .iam
        .list_users(&call.scope.account, call.params.get("PathPrefix"))
        .await?;
    let (users, marker) = page.apply(users, |u| u.name.as_str());
    let mut w = call.response("ListUsers");
    w.members("Users", &users, user);
    IamPage::write(&mut w, marker);
    Ok(call.finish(w))
}

pub async fn delete_user(api: &Api, call: &mut Call) -> Result<String, Error> {
    let name = call.params.required("UserName")?.to_string();
    api.iam.delete_user(&call.scope.account, &name).await?;
    call.touched.push(name);
    let w = call.response("DeleteUser");
    Ok(call.finish(w))
}
