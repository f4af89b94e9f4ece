//! Images through the store: register (content in a fake library), describe
//! by owner, executable-by, ID, filter and page; names unique per owner;
//! sharing, public images, copies that share content, reset, deregistration
//! removing content only with its last user; base images of the
//! installation; the seams `RunInstances` and `CreateImage` use; dry runs.

use std::sync::Arc;

use nubo_core::filter::Page;
use nubo_core::{AccountId, Error, ResourceId};
use nubo_ec2::image::access::{ExecutableSel, OwnerSel};
use nubo_ec2::image::ops::{
    CopyImage, DescribeImages, ImageAttributeChange, PendingImage, PermissionItem, RegisterImage,
};
use nubo_ec2::image::{FakeLibrary, Image, ImageContent, ImageLibrary, ImageState, StateReason};
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{filter, service, tag, tenant, A, B, REGION};

const C: &str = "333333333333";

fn images_service(db: &TestDb) -> (Ec2Service, Arc<FakeLibrary>) {
    let library = Arc::new(FakeLibrary::new());
    let svc = service(&db.store, Limits::default()).with_image_library(library.clone());
    (svc, library)
}

fn register_input(name: &str) -> RegisterImage {
    RegisterImage {
        name: name.into(),
        description: Some(format!("{name} image")),
        image_location: Some(format!("/srv/images/{name}.tar.gz")),
        ..Default::default()
    }
}

async fn register(svc: &Ec2Service, scope: &RequestScope, name: &str) -> Image {
    svc.register_image(scope, register_input(name))
        .await
        .unwrap_or_else(|e| panic!("register {name}: {e:?}"))
}

async fn describe(svc: &Ec2Service, scope: &RequestScope, query: DescribeImages) -> Vec<String> {
    let (images, next) = svc
        .describe_images(scope, &query, &Page::default())
        .await
        .unwrap();
    assert_eq!(next, None);
    images.into_iter().map(|i| i.name).collect()
}

fn owners(values: &[&str]) -> DescribeImages {
    DescribeImages {
        owners: values.iter().map(|v| OwnerSel::parse(v).unwrap()).collect(),
        ..Default::default()
    }
}

fn executable_by(values: &[&str]) -> DescribeImages {
    DescribeImages {
        executable_by: values
            .iter()
            .map(|v| ExecutableSel::parse(v).unwrap())
            .collect(),
        ..Default::default()
    }
}

fn share(account: &str) -> ImageAttributeChange {
    ImageAttributeChange::LaunchPermission {
        add: vec![PermissionItem::Account(AccountId::parse(account).unwrap())],
        remove: vec![],
    }
}

pub async fn images_register_describe_deregister(db: &TestDb) {
    let (svc, library) = images_service(db);
    let a = tenant(&db.store, A).await;
    let mut input = register_input("web-server");
    input.tag_specifications = vec![("image".into(), vec![tag("team", "web")])];
    let web = svc.register_image(&a, input).await.unwrap();
    assert_eq!(web.state, ImageState::Available);
    assert_eq!(web.root_device_name, "/dev/xvda");
    assert_eq!(web.block_device_mappings.len(), 1);
    assert!(library.contains(web.id.as_str()));
    let db_image = register(&svc, &a, "database").await;

    // Names are unique per owner and region; nothing is imported for a refusal.
    assert_err!(
        svc.register_image(&a, register_input("web-server")).await,
        Error::AlreadyExists {
            code: "InvalidAMIName.Duplicate",
            ..
        }
    );
    assert_eq!(library.keys().len(), 2);
    // Bad input changes nothing.
    assert_err!(
        svc.register_image(&a, register_input("x")).await,
        Error::Client {
            code: "InvalidAMIName.Malformed",
            ..
        }
    );
    let mut no_location = register_input("no-location");
    no_location.image_location = None;
    assert_err!(
        svc.register_image(&a, no_location).await,
        Error::MissingParameter(_)
    );
    assert_err!(
        svc.register_image(&a, register_input("missing-file")).await,
        Error::InvalidParameterValue(_)
    );
    let mut arm = register_input("bad-arch");
    arm.architecture = Some("sparc".into());
    assert_err!(
        svc.register_image(&a, arm).await,
        Error::InvalidParameterValue(_)
    );
    assert_eq!(library.keys().len(), 2);

    // Describe: own images, by ID, by filters, paged.
    assert_eq!(
        describe(&svc, &a, owners(&["self"])).await,
        vec![
            std::cmp::min_by_key(&web, &db_image, |i| i.id.clone())
                .name
                .clone(),
            std::cmp::max_by_key(&web, &db_image, |i| i.id.clone())
                .name
                .clone(),
        ]
    );
    let by_id = DescribeImages {
        image_ids: vec![web.id.clone()],
        ..Default::default()
    };
    assert_eq!(describe(&svc, &a, by_id).await, vec!["web-server"]);
    let missing = DescribeImages {
        image_ids: vec![ResourceId::from_stored("ami-0123456789abcdef0")],
        ..Default::default()
    };
    assert_err!(
        svc.describe_images(&a, &missing, &Page::default()).await,
        Error::NotFound {
            code: "InvalidAMIID.NotFound",
            ..
        }
    );
    for (f, want) in [
        (filter("name", &["web-*"]), vec!["web-server"]),
        (filter("tag:team", &["web"]), vec!["web-server"]),
        (
            filter("is-public", &["false"]),
            vec!["database", "web-server"],
        ),
        (
            filter("state", &["available"]),
            vec!["database", "web-server"],
        ),
        (filter("description", &["database image"]), vec!["database"]),
        (
            filter("root-device-type", &["ebs"]),
            vec!["database", "web-server"],
        ),
        (filter("architecture", &["arm64"]), vec![]),
    ] {
        let query = DescribeImages {
            filters: vec![f.clone()],
            ..Default::default()
        };
        let mut got = describe(&svc, &a, query).await;
        got.sort();
        assert_eq!(got, want, "{f:?}");
    }
    let unknown = DescribeImages {
        filters: vec![filter("colour", &["blue"])],
        ..Default::default()
    };
    assert_err!(
        svc.describe_images(&a, &unknown, &Page::default()).await,
        Error::InvalidParameterValue(_)
    );
    let first = Page::new(Some(1), None, 1, 1000).unwrap();
    let (page1, token) = svc
        .describe_images(&a, &DescribeImages::default(), &first)
        .await
        .unwrap();
    let second = Page::new(Some(1), token.as_deref(), 1, 1000).unwrap();
    let (page2, end) = svc
        .describe_images(&a, &DescribeImages::default(), &second)
        .await
        .unwrap();
    assert_eq!(page1.len() + page2.len(), 2);
    assert_ne!(page1[0].id, page2[0].id);
    assert!(end.is_none());

    // Deregister: the row, its name and its content go.
    let gone = svc.deregister_image(&a, &web.id).await.unwrap();
    assert_eq!(gone.state, ImageState::Deregistered);
    assert!(!library.contains(web.id.as_str()));
    assert_err!(
        svc.deregister_image(&a, &web.id).await,
        Error::NotFound {
            code: "InvalidAMIID.NotFound",
            ..
        }
    );
    register(&svc, &a, "web-server").await;
}

pub async fn images_shared_public_copied_and_reset(db: &TestDb) {
    let (svc, library) = images_service(db);
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let c = tenant(&db.store, C).await;
    let image = register(&svc, &a, "golden").await;
    let only = |id: &ResourceId| DescribeImages {
        image_ids: vec![id.clone()],
        ..Default::default()
    };

    // Private: invisible to others, and their writes are NotFound.
    assert!(describe(&svc, &b, DescribeImages::default())
        .await
        .is_empty());
    assert_err!(
        svc.describe_images(&b, &only(&image.id), &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidAMIID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.modify_image_attribute(&b, &image.id, &share(B)).await,
        Error::NotFound {
            code: "InvalidAMIID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.launchable_image(&b, &image.id).await,
        Error::NotFound {
            code: "InvalidAMIID.NotFound",
            ..
        }
    );

    // Shared with B: B sees it as executable by self, may launch and copy it,
    // but may not change or deregister it; C still sees nothing.
    svc.modify_image_attribute(&a, &image.id, &share(B))
        .await
        .unwrap();
    assert_eq!(
        describe(&svc, &b, executable_by(&["self"])).await,
        vec!["golden"]
    );
    assert_eq!(describe(&svc, &b, owners(&[A])).await, vec!["golden"]);
    assert!(describe(&svc, &b, owners(&["self"])).await.is_empty());
    assert!(describe(&svc, &a, executable_by(&["self"]))
        .await
        .is_empty());
    assert_eq!(
        describe(&svc, &a, executable_by(&[B])).await,
        vec!["golden"]
    );
    assert!(describe(&svc, &c, DescribeImages::default())
        .await
        .is_empty());
    assert_eq!(
        svc.launchable_image(&b, &image.id).await.unwrap().id,
        image.id
    );
    assert_err!(
        svc.deregister_image(&b, &image.id).await,
        Error::AuthFailure(_)
    );
    assert_err!(
        svc.modify_image_attribute(&b, &image.id, &share(C)).await,
        Error::AuthFailure(_)
    );
    assert_err!(
        svc.describe_image_attribute(&b, &image.id, "launchPermission")
            .await,
        Error::AuthFailure(_)
    );
    let attr = svc
        .describe_image_attribute(&a, &image.id, "launchPermission")
        .await
        .unwrap();
    assert_eq!(
        attr.launch_permissions
            .accounts
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        vec![B.to_string()]
    );
    // Sharing with an account that does not exist is refused.
    assert_err!(
        svc.modify_image_attribute(&a, &image.id, &share("444444444444"))
            .await,
        Error::Client {
            code: "InvalidAMIAttributeItemValue",
            ..
        }
    );

    let copy_input = |token: Option<&str>| CopyImage {
        source_region: REGION.into(),
        source_image_id: image.id.clone(),
        name: "my-golden".into(),
        description: None,
        client_token: token.map(str::to_string),
        copy_image_tags: false,
        encrypted: false,
        tag_specifications: vec![],
    };
    let copy = svc.copy_image(&b, copy_input(Some("tok-1"))).await.unwrap();
    assert_eq!(copy.owner_id.as_str(), B);
    assert_eq!(copy.source_image_id.as_deref(), Some(image.id.as_str()));
    assert_eq!(copy.content, image.content);
    // The same token answers the same copy.
    let again = svc.copy_image(&b, copy_input(Some("tok-1"))).await.unwrap();
    assert_eq!(again.id, copy.id);
    assert_err!(
        svc.copy_image(&c, copy_input(None)).await,
        Error::NotFound {
            code: "InvalidAMIID.NotFound",
            ..
        }
    );

    // Public: everybody sees it; reset makes it the owner's again.
    let public = ImageAttributeChange::LaunchPermission {
        add: vec![PermissionItem::All],
        remove: vec![],
    };
    svc.modify_image_attribute(&a, &image.id, &public)
        .await
        .unwrap();
    assert_eq!(
        describe(&svc, &c, executable_by(&["all"])).await,
        vec!["golden"]
    );
    let public_filter = DescribeImages {
        filters: vec![filter("is-public", &["true"])],
        ..Default::default()
    };
    assert_eq!(describe(&svc, &c, public_filter).await, vec!["golden"]);
    svc.modify_image_attribute(
        &a,
        &image.id,
        &ImageAttributeChange::Description("new words".into()),
    )
    .await
    .unwrap();
    let described = svc
        .describe_image_attribute(&c, &image.id, "description")
        .await
        .unwrap();
    assert_eq!(described.description.as_deref(), Some("new words"));
    svc.reset_image_attribute(&a, &image.id, "launchPermission")
        .await
        .unwrap();
    assert!(describe(&svc, &c, DescribeImages::default())
        .await
        .is_empty());
    assert!(describe(&svc, &b, DescribeImages::default()).await == vec!["my-golden"]);

    // Content stays while the copy uses it, and goes with the last user.
    let key = match &image.content {
        ImageContent::Library { key } => key.clone(),
        other => panic!("{other:?}"),
    };
    svc.deregister_image(&a, &image.id).await.unwrap();
    assert!(library.contains(&key));
    svc.deregister_image(&b, &copy.id).await.unwrap();
    assert!(!library.contains(&key));
}

pub async fn base_images_are_public_amazon_images(db: &TestDb) {
    let (svc, _library) = images_service(db);
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let dir = std::env::temp_dir().join(format!(
        "nubo-base-images-test-{}-{:?}",
        std::process::id(),
        db.store.backend()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("debian-12/rootfs")).unwrap();
    std::fs::write(
        dir.join("debian-12/image.json"),
        r#"{"name": "debian-12-nubo-20261123", "description": "Debian", "architecture": "x86_64", "version": 1}"#,
    )
    .unwrap();
    let first = svc.register_base_images(&dir).await.unwrap();
    assert_eq!(first.len(), svc.regions().len());
    // Idempotent by name.
    assert!(svc.register_base_images(&dir).await.unwrap().is_empty());
    for scope in [&a, &b] {
        let (images, _) = svc
            .describe_images(scope, &owners(&["amazon"]), &Page::default())
            .await
            .unwrap();
        assert_eq!(images.len(), 1);
        let base = &images[0];
        assert_eq!(base.name, "debian-12-nubo-20261123");
        assert_eq!(base.owner_alias.as_deref(), Some("amazon"));
        assert!(base.is_public());
        assert_eq!(
            base.content,
            ImageContent::HostPath {
                path: dir.join("debian-12/rootfs")
            }
        );
        assert_eq!(
            base.rootfs_dir(&FakeLibrary::new()),
            dir.join("debian-12/rootfs")
        );
        assert_err!(
            svc.deregister_image(scope, &base.id).await,
            Error::AuthFailure(_)
        );
        assert_eq!(
            svc.launchable_image(scope, &base.id).await.unwrap().id,
            base.id
        );
    }
    assert!(svc
        .register_base_images(&dir.join("absent"))
        .await
        .unwrap()
        .is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

pub async fn pending_images_become_available_or_failed(db: &TestDb) {
    let (svc, _library) = images_service(db);
    let a = tenant(&db.store, A).await;
    let pending = |name: &str| PendingImage {
        name: name.into(),
        description: None,
        architecture: "x86_64".into(),
        source_instance_id: Some("i-0123456789abcdef0".into()),
        root_volume_gib: 8,
        tags: Default::default(),
    };
    let image = svc
        .insert_pending_image(&a, pending("snap-1"))
        .await
        .unwrap();
    assert_eq!(image.state, ImageState::Pending);
    assert_err!(
        svc.launchable_image(&a, &image.id).await,
        Error::Client {
            code: "InvalidAMIID.Unavailable",
            ..
        }
    );
    let done = svc.finish_image(&a, &image.id, Ok(())).await.unwrap();
    assert_eq!(done.state, ImageState::Available);
    assert_eq!(
        svc.launchable_image(&a, &image.id).await.unwrap().id,
        image.id
    );
    // An available image cannot be finished again.
    assert_err!(
        svc.finish_image(&a, &image.id, Ok(())).await,
        Error::Client {
            code: "IncorrectState",
            ..
        }
    );
    let broken = svc
        .insert_pending_image(&a, pending("snap-2"))
        .await
        .unwrap();
    let reason = StateReason {
        code: "Client.InternalError".into(),
        message: "the instance disappeared".into(),
    };
    let failed = svc
        .finish_image(&a, &broken.id, Err(reason.clone()))
        .await
        .unwrap();
    assert_eq!(failed.state, ImageState::Failed);
    assert_eq!(failed.state_reason, Some(reason));
    let failed_filter = DescribeImages {
        filters: vec![filter("state", &["failed"])],
        ..Default::default()
    };
    assert_eq!(describe(&svc, &a, failed_filter).await, vec!["snap-2"]);
}

pub async fn image_dry_runs_change_nothing(db: &TestDb) {
    let (svc, library) = images_service(db);
    let a = tenant(&db.store, A).await;
    let image = register(&svc, &a, "kept").await;
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.register_image(&dry, register_input("never")).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.deregister_image(&dry, &image.id).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.modify_image_attribute(
            &dry,
            &image.id,
            &ImageAttributeChange::LaunchPermission {
                add: vec![PermissionItem::All],
                remove: vec![],
            }
        )
        .await,
        Error::DryRunOperation
    );
    assert_eq!(
        describe(&svc, &a, DescribeImages::default()).await,
        vec!["kept"]
    );
    assert_eq!(library.keys(), vec![image.id.to_string()]);
    let (images, _) = svc
        .describe_images(&a, &DescribeImages::default(), &Page::default())
        .await
        .unwrap();
    assert!(!images[0].is_public());
}

pub async fn racing_registrations_admit_one_name(db: &TestDb) {
    let (svc, library) = images_service(db);
    let a = tenant(&db.store, A).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (svc, a) = (svc.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            svc.register_image(&a, register_input("contested")).await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(Error::AlreadyExists {
                code: "InvalidAMIName.Duplicate",
                ..
            }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);
    // The losers' imported content is gone again.
    assert_eq!(library.keys().len(), 1);
    assert_eq!(
        describe(&svc, &a, DescribeImages::default()).await,
        vec!["contested"]
    );
}

pub async fn orphaned_content_is_swept(db: &TestDb) {
    let (svc, library) = images_service(db);
    let a = tenant(&db.store, A).await;
    let kept = register(&svc, &a, "kept").await;
    // Content whose image was never inserted (a crash between the two).
    library
        .import_tarball(
            "ami-0123456789abcdef0",
            std::path::Path::new("/srv/orphan.tar"),
        )
        .unwrap();
    assert_eq!(
        svc.sweep_image_library().await.unwrap(),
        vec!["ami-0123456789abcdef0".to_string()]
    );
    assert_eq!(library.keys(), vec![kept.id.to_string()]);
    assert!(svc.sweep_image_library().await.unwrap().is_empty());
}

pub async fn copy_racing_deregistration_never_loses_content(db: &TestDb) {
    let (svc, library) = images_service(db);
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    for round in 0..6 {
        let source = register(&svc, &a, &format!("source-{round}")).await;
        svc.modify_image_attribute(&a, &source.id, &share(B))
            .await
            .unwrap();
        let copy = {
            let (svc, b) = (svc.clone(), b.clone());
            let input = CopyImage {
                source_region: REGION.into(),
                source_image_id: source.id.clone(),
                name: format!("copy-{round}"),
                description: None,
                client_token: None,
                copy_image_tags: false,
                encrypted: false,
                tag_specifications: vec![],
            };
            tokio::spawn(async move { svc.copy_image(&b, input).await })
        };
        let deregister = {
            let (svc, a, id) = (svc.clone(), a.clone(), source.id.clone());
            tokio::spawn(async move { svc.deregister_image(&a, &id).await })
        };
        deregister.await.unwrap().unwrap();
        let key = source.id.to_string();
        match copy.await.unwrap() {
            // The copy won: its content must still be there.
            Ok(copy) => {
                assert!(
                    library.contains(&key),
                    "round {round}: copy lost its content"
                );
                svc.deregister_image(&b, &copy.id).await.unwrap();
            }
            Err(Error::NotFound {
                code: "InvalidAMIID.NotFound",
                ..
            }) => {}
            Err(e) => panic!("round {round}: {e:?}"),
        }
        assert!(!library.contains(&key), "round {round}: content leaked");
    }
}
