//! XML renderers for EC2 shapes shared by several actions.

use nubo_core::TagSet;
use nubo_ec2::vpc::{CidrAssociation, Vpc};
use nubo_protocol::xml::XmlWriter;

/// `<tagSet><item><key/><value/></item>…</tagSet>`.
pub fn tag_set(w: &mut XmlWriter, tags: &TagSet) {
    w.items("tagSet", tags.iter(), |w, t| {
        w.leaf("key", &t.key).leaf("value", &t.value);
    });
}

/// The `VpcCidrBlockAssociation` shape's members.
pub fn cidr_association(w: &mut XmlWriter, a: &CidrAssociation) {
    w.leaf("associationId", &a.association_id)
        .leaf("cidrBlock", a.cidr_block)
        .node("cidrBlockState", |w| {
            w.leaf("state", a.state.as_str());
        });
}

/// The `Vpc` shape's members.
pub fn vpc(w: &mut XmlWriter, v: &Vpc) {
    w.leaf("vpcId", &v.id)
        .leaf("ownerId", &v.owner_id)
        .leaf("state", v.state.as_str())
        .leaf("cidrBlock", v.cidr_block)
        .items(
            "cidrBlockAssociationSet",
            &v.cidr_associations,
            cidr_association,
        )
        .node("ipv6CidrBlockAssociationSet", |_| {})
        .leaf("dhcpOptionsId", &v.dhcp_options_id)
        .leaf("instanceTenancy", &v.instance_tenancy)
        .leaf("isDefault", v.is_default);
    tag_set(w, &v.tags);
}
