"""EC2 images: DescribeImages, RegisterImage, DeregisterImage, CopyImage and the image attributes.

The base image built by scripts/build-base-image.sh is a public `amazon` image every account sees.
Users register images from a rootfs tarball on the server host (Nubo's stand-in for AWS's S3
manifest): the test builds a tiny busybox rootfs, registers it, and checks that the content lands
in the server's image library and goes away with the last image using it.
"""

import shutil
import tarfile
from pathlib import Path

import pytest

from conftest import AwsCliError, expect_error, tags_of, unique

SYSTEM_ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def rootfs_tarball(tmp_path_factory) -> Path:
    """A busybox rootfs (bin/busybox, bin/sh, etc/os-release) as a .tar.gz."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is not installed")
    root = tmp_path_factory.mktemp("rootfs")
    (root / "bin").mkdir()
    shutil.copy(busybox, root / "bin" / "busybox")
    (root / "bin" / "sh").symlink_to("busybox")
    (root / "etc").mkdir()
    (root / "etc" / "os-release").write_text('NAME="e2e busybox"\n')
    tarball = root.parent / f"{root.name}.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(root, arcname=".")
    tarball.chmod(0o644)
    return tarball


@pytest.fixture
def register(cleanup, rootfs_tarball):
    """register(client, name=None, **kwargs) -> image ID; deregistered after the test."""

    def make(client, name=None, **kwargs):
        kwargs.setdefault("ImageLocation", str(rootfs_tarball))
        image_id = client.register_image(Name=name or unique("img"), **kwargs)["ImageId"]
        cleanup(lambda: client.deregister_image(ImageId=image_id))
        return image_id

    return make


def _one(client, image_id):
    [image] = client.describe_images(ImageIds=[image_id])["Images"]
    return image


def _base_images(nubo):
    if not (Path(nubo.base_images) / "debian-12" / "image.json").exists():
        pytest.skip(f"no base image under {nubo.base_images} (run scripts/build-base-image.sh)")


def test_base_image_is_public_to_every_account(nubo, ec2, account):
    _base_images(nubo)
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    [base] = [i for i in images if i["Name"].startswith("debian-12-nubo-")]
    assert base["ImageId"].startswith("ami-")
    assert base["ImageOwnerAlias"] == "amazon"
    assert base["OwnerId"] == SYSTEM_ACCOUNT
    assert base["Public"] is True
    assert base["State"] == "available"
    assert base["Architecture"] == "x86_64"
    assert base["RootDeviceName"] == "/dev/xvda"
    assert base["RootDeviceType"] == "ebs"
    assert base["VirtualizationType"] == "hvm"
    assert base["PlatformDetails"] == "Linux/UNIX"
    assert base["ImageType"] == "machine"
    assert base["BlockDeviceMappings"][0]["DeviceName"] == "/dev/xvda"
    # Another account sees the same image through the AWS CLI, and cannot change it.
    other = nubo.aws("ec2", "describe-images", "--owners", "amazon", creds=account.creds)
    assert base["ImageId"] in [i["ImageId"] for i in other["Images"]]
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "deregister-image", "--image-id", base["ImageId"], creds=account.creds)
    assert info.value.code == "AuthFailure"
    # Owned by nobody who can sign in: no account of that ID exists.
    assert SYSTEM_ACCOUNT not in [a.get("AccountId", a.get("Id")) for a in nubo.list_accounts()]


def test_register_describe_filter_page_deregister(nubo, ec2, account, register, rootfs_tarball):
    client = nubo.client("ec2", account.creds)
    names = [unique("web"), unique("web"), unique("db")]
    ids = [
        register(client, names[0], Description="first web image",
                 TagSpecifications=[{"ResourceType": "image",
                                     "Tags": [{"Key": "team", "Value": "web"}]}]),
        register(client, names[1], Architecture="x86_64", RootDeviceName="/dev/xvda",
                 BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                       "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}]),
        register(client, names[2]),
    ]
    first = _one(client, ids[0])
    assert first["Name"] == names[0]
    assert first["OwnerId"] == account.account_id
    assert first["State"] == "available"
    assert first["Public"] is False
    assert first["ImageLocation"] == str(rootfs_tarball)
    assert first["Description"] == "first web image"
    assert tags_of(first) == {"team": "web"}
    assert "ImageOwnerAlias" not in first
    sized = _one(client, ids[1])
    assert sized["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 20

    # The content is in the server's image library.
    library = Path(nubo.data_dir) / "images"
    for image_id in ids:
        assert (library / image_id / "rootfs" / "bin" / "busybox").is_file()
        assert (library / image_id / "rootfs" / "etc" / "os-release").read_text().startswith("NAME=")

    own = client.describe_images(Owners=["self"])["Images"]
    assert sorted(i["ImageId"] for i in own) == sorted(ids)
    by_name = client.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": ["web-*"]}])
    assert sorted(i["Name"] for i in by_name["Images"]) == sorted(names[:2])
    by_tag = client.describe_images(Filters=[{"Name": "tag:team", "Values": ["web"]}])
    assert [i["ImageId"] for i in by_tag["Images"]] == [ids[0]]
    private = client.describe_images(Owners=["self"],
                                     Filters=[{"Name": "is-public", "Values": ["false"]},
                                              {"Name": "state", "Values": ["available"]}])
    assert len(private["Images"]) == 3
    # Pagination walks every image once.
    seen, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = client.describe_images(Owners=["self"], MaxResults=2, **kwargs)
        assert len(page["Images"]) <= 2
        seen += [i["ImageId"] for i in page["Images"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    # The AWS CLI sees the same, with its own paginator.
    cli = nubo.aws("ec2", "describe-images", "--owners", "self", "--page-size", "1",
                   creds=account.creds)
    assert sorted(i["ImageId"] for i in cli["Images"]) == sorted(ids)
    attr = client.describe_image_attribute(ImageId=ids[0], Attribute="blockDeviceMapping")
    assert attr["BlockDeviceMappings"][0]["DeviceName"] == "/dev/xvda"

    # Deregistering removes the image and its content; the name is free again.
    client.deregister_image(ImageId=ids[2])
    expect_error("InvalidAMIID.NotFound", client.describe_images, ImageIds=[ids[2]])
    assert not (library / ids[2]).exists()
    register(client, names[2])


def test_image_errors(nubo, ec2, account, register, rootfs_tarball, tmp_path):
    client = nubo.client("ec2", account.creds)
    name = unique("dup")
    image_id = register(client, name)
    expect_error("InvalidAMIName.Duplicate", client.register_image, Name=name,
                 ImageLocation=str(rootfs_tarball))
    expect_error("InvalidAMIName.Malformed", client.register_image, Name="bad;name",
                 ImageLocation=str(rootfs_tarball))
    expect_error("InvalidParameterValue", client.register_image, Name=unique("nofile"),
                 ImageLocation=str(tmp_path / "absent.tar.gz"))
    junk = tmp_path / "junk.tar"
    junk.write_text("not a tar archive")
    junk.chmod(0o644)
    expect_error("InvalidParameterValue", client.register_image, Name=unique("junk"),
                 ImageLocation=str(junk))
    expect_error("InvalidBlockDeviceMapping", client.register_image, Name=unique("bdm"),
                 ImageLocation=str(rootfs_tarball),
                 BlockDeviceMappings=[{"DeviceName": "/dev/hda", "Ebs": {"VolumeSize": 8}}])
    # Nothing of the refused registrations exists.
    assert [i["ImageId"] for i in client.describe_images(Owners=["self"])["Images"]] == [image_id]
    expect_error("InvalidAMIID.Malformed", client.describe_images, ImageIds=["ami-nothex"])
    expect_error("InvalidAMIID.NotFound", client.describe_images,
                 ImageIds=["ami-0123456789abcdef0"])
    expect_error("InvalidAMIID.NotFound", client.deregister_image, ImageId="ami-0123456789abcdef0")
    expect_error("InvalidUserID.Malformed", client.describe_images, Owners=["somebody"])
    expect_error("InvalidParameterValue", client.describe_images,
                 Filters=[{"Name": "colour", "Values": ["blue"]}])
    expect_error("DryRunOperation", client.register_image, Name=unique("dry"),
                 ImageLocation=str(rootfs_tarball), DryRun=True)
    expect_error("DryRunOperation", client.deregister_image, ImageId=image_id, DryRun=True)
    assert _one(client, image_id)["State"] == "available"
    expect_error("InvalidParameterValue", client.reset_image_attribute, ImageId=image_id,
                 Attribute="description")


def test_share_copy_public_reset(nubo, needs_own_server, register, cleanup):
    owner, friend, stranger = nubo.new_account(), nubo.new_account(), nubo.new_account()
    a = nubo.client("ec2", owner.creds)
    b = nubo.client("ec2", friend.creds)
    c = nubo.client("ec2", stranger.creds)
    image_id = register(a, unique("golden"))

    # Private: others cannot see or touch it.
    expect_error("InvalidAMIID.NotFound", b.describe_images, ImageIds=[image_id])
    expect_error("InvalidAMIID.NotFound", b.modify_image_attribute, ImageId=image_id,
                 LaunchPermission={"Add": [{"UserId": friend.account_id}]})

    # Shared with B (structured form): B sees it as executable by self and may copy it.
    a.modify_image_attribute(ImageId=image_id,
                             LaunchPermission={"Add": [{"UserId": friend.account_id}]})
    shared = b.describe_images(ExecutableUsers=["self"])["Images"]
    assert [i["ImageId"] for i in shared] == [image_id]
    assert a.describe_images(ExecutableUsers=["self"])["Images"] == []
    expect_error("InvalidAMIID.NotFound", c.describe_images, ImageIds=[image_id])
    expect_error("AuthFailure", b.modify_image_attribute, ImageId=image_id,
                 LaunchPermission={"Add": [{"Group": "all"}]})
    expect_error("AuthFailure", b.deregister_image, ImageId=image_id)
    expect_error("InvalidAMIAttributeItemValue", a.modify_image_attribute, ImageId=image_id,
                 LaunchPermission={"Add": [{"UserId": "12345"}]})

    copy_id = b.copy_image(SourceRegion=b.meta.region_name, SourceImageId=image_id,
                           Name=unique("copy"), ClientToken=unique("tok"))["ImageId"]
    cleanup(lambda: b.deregister_image(ImageId=copy_id))
    copy = _one(b, copy_id)
    assert copy["OwnerId"] == friend.account_id
    assert copy["SourceImageId"] == image_id
    assert copy["State"] == "available"
    expect_error("InvalidAMIID.NotFound", c.copy_image, SourceRegion=c.meta.region_name,
                 SourceImageId=image_id, Name=unique("steal"))

    # Public (the AWS CLI's flat form): everybody sees it.
    nubo.aws("ec2", "modify-image-attribute", "--image-id", image_id, "--attribute",
             "launchPermission", "--operation-type", "add", "--user-groups", "all",
             creds=owner.creds)
    public = nubo.aws("ec2", "describe-images", "--executable-users", "all", "--owners",
                      owner.account_id, creds=stranger.creds)
    assert [i["ImageId"] for i in public["Images"]] == [image_id]
    assert public["Images"][0]["Public"] is True
    perms = a.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    assert sorted(map(str, perms["LaunchPermissions"])) == sorted(
        map(str, [{"Group": "all"}, {"UserId": friend.account_id}]))
    expect_error("AuthFailure", c.describe_image_attribute, ImageId=image_id,
                 Attribute="launchPermission")
    a.modify_image_attribute(ImageId=image_id, Description={"Value": "shared golden image"})
    described = c.describe_image_attribute(ImageId=image_id, Attribute="description")
    assert described["Description"]["Value"] == "shared golden image"

    # Reset: owner-only again.
    a.reset_image_attribute(ImageId=image_id, Attribute="launchPermission")
    expect_error("InvalidAMIID.NotFound", c.describe_images, ImageIds=[image_id])
    expect_error("InvalidAMIID.NotFound", b.describe_images, ImageIds=[image_id])
    assert a.describe_image_attribute(ImageId=image_id,
                                      Attribute="launchPermission")["LaunchPermissions"] == []

    # The copy shares the content: it outlives the source and goes with the copy.
    library = Path(nubo.data_dir) / "images"
    assert (library / image_id / "rootfs" / "bin" / "busybox").is_file()
    a.deregister_image(ImageId=image_id)
    assert (library / image_id / "rootfs" / "bin" / "busybox").is_file()
    b.deregister_image(ImageId=copy_id)
    assert not (library / image_id).exists()


def test_image_tags_and_iam(nubo, needs_own_server, register):
    owner = nubo.new_account()
    a = nubo.client("ec2", owner.creds)
    image_id = register(a, unique("tagged"))
    a.create_tags(Resources=[image_id], Tags=[{"Key": "stage", "Value": "prod"}])
    assert tags_of(_one(a, image_id)) == {"stage": "prod"}
    described = a.describe_tags(Filters=[{"Name": "resource-type", "Values": ["image"]}])["Tags"]
    assert [(t["ResourceId"], t["Key"], t["ResourceType"]) for t in described] == [
        (image_id, "stage", "image")]
    a.delete_tags(Resources=[image_id], Tags=[{"Key": "stage"}])
    assert tags_of(_one(a, image_id)) == {}

    # A user allowed only to describe images cannot register or deregister.
    user = nubo.make_user({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:DescribeImages", "Resource": "*"}]}, owner=owner.creds)
    u = nubo.client("ec2", user.creds)
    assert [i["ImageId"] for i in u.describe_images(Owners=["self"])["Images"]] == [image_id]
    expect_error("UnauthorizedOperation", u.deregister_image, ImageId=image_id)
    expect_error("UnauthorizedOperation", u.register_image, Name=unique("nope"),
                 ImageLocation="/srv/none.tar")
