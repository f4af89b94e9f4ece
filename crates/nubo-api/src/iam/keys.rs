//! `CreateAccessKey`, `ListAccessKeys`, `UpdateAccessKey`, `DeleteAccessKey`.
//! Without `UserName` they act on the caller's own keys (root's for root).

use nubo_core::Error;

use super::{iso, subject_user, IamPage};
use crate::call::Call;
use crate::server::Api;

pub async fn create_access_key(api: &Api, call: &mut Call) -> Result<String, Error> {
    let user = subject_user(call);
    let key = api
        .iam
        .create_access_key(&call.scope.account, user.as_deref())
        .await?;
    call.touched.push(key.row.access_key_id.clone());
    let mut w = call.response("CreateAccessKey");
    w.node("AccessKey", |w| {
        w.leaf_opt("UserName", key.row.user_name.as_deref())
            .leaf("AccessKeyId", &key.row.access_key_id)
            .leaf("Status", &key.row.status)
            .leaf("SecretAccessKey", &key.secret_access_key)
            .leaf("CreateDate", iso(&key.row.created_at));
    });
    Ok(call.finish(w))
}

pub async fn list_access_keys(api: &Api, call: &mut Call) -> Result<String, Error> {
    let page = IamPage::new(&call.params)?;
    let user = subject_user(call);
    let keys = api
        .iam
        .list_access_keys(&call.scope.account, user.as_deref())
        .await?;
    let (keys, marker) = page.apply(keys, |k| k.access_key_id.as_str());
    let mut w = call.response("ListAccessKeys");
    w.members("AccessKeyMetadata", &keys, |w, k| {
        w.leaf_opt("UserName", k.user_name.as_deref())
            .leaf("AccessKeyId", &k.access_key_id)
            .leaf("Status", &k.status)
            .leaf("CreateDate", iso(&k.created_at));
    });
    IamPage::write(&mut w, marker);
    Ok(call.finish(w))
}

pub async fn update_access_key(api: &Api, call: &mut Call) -> Result<String, Error> {
    let user = subject_user(call);
    let id = call.params.required("AccessKeyId")?.to_string();
    let status = call.params.required("Status")?.to_string();
    api.iam
        .update_access_key(&call.scope.account, user.as_deref(), &id, &status)
        .await?;
    call.touched.push(id);
    let w = call.response("UpdateAccessKey");
    Ok(call.finish(w))
}

pub async fn delete_access_key(api: &Api, call: &mut Call) -> Result<String, Error> {
    let user = subject_user(call);
    let id = call.params.required("AccessKeyId")?.to_string();
    api.iam
        .delete_access_key(&call.scope.account, user.as_deref(), &id)
        .await?;
    call.touched.push(id);
    let w = call.response("DeleteAccessKey");
    Ok(call.finish(w))
}
