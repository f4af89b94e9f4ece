//! `PutUserPolicy`, `GetUserPolicy`, `ListUserPolicies`, `DeleteUserPolicy`.
//! Policy documents go back URL-encoded, as AWS returns them (botocore decodes).

use nubo_core::Error;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::IamPage;
use crate::call::Call;
use crate::server::Api;

/// RFC 3986 unreserved characters stay as they are.
const POLICY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub async fn put_user_policy(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let user = p.required("UserName")?.to_string();
    let name = p.required("PolicyName")?.to_string();
    let document = p.required("PolicyDocument")?.to_string();
    api.iam
        .put_user_policy(&call.scope.account, &user, &name, &document)
        .await?;
    call.touched.push(format!("{user}/{name}"));
    let w = call.response("PutUserPolicy");
    Ok(call.finish(w))
}

pub async fn get_user_policy(api: &Api, call: &mut Call) -> Result<String, Error> {
    let user = call.params.required("UserName")?.to_string();
    let name = call.params.required("PolicyName")?.to_string();
    let row = api
        .iam
        .get_user_policy(&call.scope.account, &user, &name)
        .await?;
    let mut w = call.response("GetUserPolicy");
    w.leaf("UserName", &row.user_name)
        .leaf("PolicyName", &row.policy_name)
        .leaf(
            "PolicyDocument",
            utf8_percent_encode(&row.document, POLICY_ENCODE),
        );
    Ok(call.finish(w))
}

pub async fn list_user_policies(api: &Api, call: &mut Call) -> Result<String, Error> {
    let page = IamPage::new(&call.params)?;
    let user = call.params.required("UserName")?.to_string();
    let names = api
        .iam
        .list_user_policies(&call.scope.account, &user)
        .await?;
    let (names, marker) = page.apply(names, |n| n.as_str());
    let mut w = call.response("ListUserPolicies");
    w.members("PolicyNames", &names, |w, n| {
        w.text(n);
    });
    IamPage::write(&mut w, marker);
    Ok(call.finish(w))
}

pub async fn delete_user_policy(api: &Api, call: &mut Call) -> Result<String, Error> {
    let user = call.params.required("UserName")?.to_string();
    let name = call.params.required("PolicyName")?.to_string();
    api.iam
        .delete_user_policy(&call.scope.account, &user, &name)
        .await?;
    call.touched.push(format!("{user}/{name}"));
    let w = call.response("DeleteUserPolicy");
    Ok(call.finish(w))
}
