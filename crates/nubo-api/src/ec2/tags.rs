//! `CreateTags`, `DeleteTags`, `DescribeTags`.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::tags::TagKey;

use crate::call::Call;
use crate::server::Api;

pub async fn create_tags(api: &Api, call: &mut Call) -> Result<String, Error> {
    let ids = call.params.list("ResourceId")?;
    let tags = call.params.tags("Tag")?;
    api.ec2.create_tags(&call.scope, &ids, &tags).await?;
    call.touched.extend(ids);
    let mut w = call.response("CreateTags");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn delete_tags(api: &Api, call: &mut Call) -> Result<String, Error> {
    let ids = call.params.list("ResourceId")?;
    let keys = call
        .params
        .structs("Tag")?
        .into_iter()
        .map(|t| {
            Ok(TagKey {
                key: t
                    .required("Key")
                    .map_err(|_| Error::MissingParameter("Tag.N.Key".into()))?
                    .to_string(),
                value: t.get("Value").map(str::to_string),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    api.ec2.delete_tags(&call.scope, &ids, &keys).await?;
    call.touched.extend(ids);
    let mut w = call.response("DeleteTags");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn describe_tags(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (tags, next) = api.ec2.describe_tags(&call.scope, &filters, &page).await?;
    let mut w = call.response("DescribeTags");
    w.items("tagSet", &tags, |w, t| {
        w.leaf("key", &t.key)
            .leaf("resourceId", &t.resource_id)
            .leaf("resourceType", t.resource_type)
            .leaf("value", &t.value);
    });
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}
