//! Where image content lives on the host: the [`ImageLibrary`] trait, its
//! directory implementation and a recording fake for service tests.
//!
//! The library stores root filesystems by key (the ID of the image that
//! first produced the content): `<root>/<key>/rootfs`. An import unpacks a
//! tarball into a temporary directory beside the result and renames it into
//! place, so a crash leaves no half-imported image under a key. Nubo's base
//! images do not live here (see [`super::ImageContent::HostPath`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use nubo_core::Error;

/// Image content storage. Calls block (they run `tar`, remove trees): call
/// them from `spawn_blocking`.
pub trait ImageLibrary: Send + Sync {
    /// The root filesystem directory of `key` (present or not).
    fn rootfs_dir(&self, key: &str) -> PathBuf;
    /// Unpacks the rootfs tarball at `tarball` (a path on this host) as `key`.
    fn import_tarball(&self, key: &str, tarball: &Path) -> Result<(), Error>;
    /// Removes the content of `key`; absent content is not an error.
    fn remove(&self, key: &str) -> Result<(), Error>;
    /// Whether content is stored under `key`.
    fn contains(&self, key: &str) -> bool;
    /// Every key with content, after removing what interrupted imports left.
    fn stored_keys(&self) -> Result<Vec<String>, Error>;
}

/// The compressions `import_tarball` accepts, judged by the file name.
pub fn check_tarball_name(path: &Path) -> Result<(), Error> {
    let name = path.to_string_lossy();
    let known = [".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz"];
    if !path.is_absolute() {
        return Err(Error::invalid(format!(
            "Value ({name}) for parameter imageLocation is invalid: give the absolute path of a rootfs tarball on the server host."
        )));
    }
    if known.iter().any(|ext| name.ends_with(ext)) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Value ({name}) for parameter imageLocation is invalid: expected a rootfs tarball (.tar, .tar.gz or .tar.xz)."
        )))
    }
}

/// The library in a directory of the host (`<data_dir>/images`).
#[derive(Debug, Clone)]
pub struct DirectoryLibrary {
    root: PathBuf,
}

impl DirectoryLibrary {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirectoryLibrary { root: root.into() }
    }

    fn dir(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

/// Keys name directories: only image-ID-like keys are accepted.
fn check_key(key: &str) -> Result<(), Error> {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(())
    } else {
        Err(Error::internal(format!("bad image library key {key:?}")))
    }
}

impl ImageLibrary for DirectoryLibrary {
    fn rootfs_dir(&self, key: &str) -> PathBuf {
        self.dir(key).join("rootfs")
    }

    fn import_tarball(&self, key: &str, tarball: &Path) -> Result<(), Error> {
        check_key(key)?;
        check_tarball_name(tarball)?;
        if !tarball.is_file() {
            return Err(Error::invalid(format!(
                "Value ({}) for parameter imageLocation is invalid: no such file on the server host.",
                tarball.display()
            )));
        }
        let staging = self.root.join(format!(".{key}.import"));
        let _ = std::fs::remove_dir_all(&staging);
        let rootfs = staging.join("rootfs");
        std::fs::create_dir_all(&rootfs)
            .map_err(|e| Error::internal(format!("create {}: {e}", rootfs.display())))?;
        // GNU tar detects the compression itself, strips leading `/` and
        // refuses `..` members, so nothing lands outside `rootfs`.
        let output = Command::new("tar")
            .arg("-x")
            .arg("--numeric-owner")
            .arg("-f")
            .arg(tarball)
            .arg("-C")
            .arg(&rootfs)
            .output();
        let failed = match output {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(String::from_utf8_lossy(&out.stderr).trim().to_string()),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(Error::internal(format!("run tar: {e}")));
            }
        };
        if let Some(stderr) = failed {
            let _ = std::fs::remove_dir_all(&staging);
            tracing::info!(tarball = %tarball.display(), %stderr, "image import failed");
            return Err(Error::invalid(format!(
                "Value ({}) for parameter imageLocation is invalid: it is not a readable tar archive.",
                tarball.display()
            )));
        }
        std::fs::rename(&staging, self.dir(key))
            .map_err(|e| Error::internal(format!("move image {key} into place: {e}")))
    }

    fn remove(&self, key: &str) -> Result<(), Error> {
        check_key(key)?;
        match std::fs::remove_dir_all(self.dir(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::internal(format!("remove image {key}: {e}"))),
        }
    }

    fn contains(&self, key: &str) -> bool {
        self.rootfs_dir(key).is_dir()
    }

    fn stored_keys(&self) -> Result<Vec<String>, Error> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => {
                return Err(Error::internal(format!(
                    "list {}: {e}",
                    self.root.display()
                )))
            }
        };
        let mut keys = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".import") {
                // An import a crash interrupted: never an image's content.
                let _ = std::fs::remove_dir_all(entry.path());
            } else if check_key(&name).is_ok() && entry.path().is_dir() {
                keys.push(name);
            }
        }
        keys.sort();
        Ok(keys)
    }
}

/// A library that stores nothing: imports are refused. The service's
/// default until the server attaches a real one.
#[derive(Debug, Default)]
pub struct NoLibrary;

impl ImageLibrary for NoLibrary {
    fn rootfs_dir(&self, key: &str) -> PathBuf {
        PathBuf::from("/nonexistent/nubo-images").join(key)
    }

    fn import_tarball(&self, _key: &str, _tarball: &Path) -> Result<(), Error> {
        Err(Error::invalid(
            "This installation has no image library: RegisterImage is not available.",
        ))
    }

    fn remove(&self, _key: &str) -> Result<(), Error> {
        Ok(())
    }

    fn contains(&self, _key: &str) -> bool {
        false
    }

    fn stored_keys(&self) -> Result<Vec<String>, Error> {
        Ok(vec![])
    }
}

/// An in-memory library for service tests: it keeps the keys it holds and
/// refuses what a real one would refuse by name (a relative path, an
/// unknown extension, or a file name containing `missing`).
#[derive(Debug, Default)]
pub struct FakeLibrary {
    keys: Mutex<BTreeSet<String>>,
}

impl FakeLibrary {
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys held now.
    pub fn keys(&self) -> Vec<String> {
        self.keys
            .lock()
            .map(|k| k.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl ImageLibrary for FakeLibrary {
    fn rootfs_dir(&self, key: &str) -> PathBuf {
        PathBuf::from("/fake-images").join(key).join("rootfs")
    }

    fn import_tarball(&self, key: &str, tarball: &Path) -> Result<(), Error> {
        check_key(key)?;
        check_tarball_name(tarball)?;
        if tarball.to_string_lossy().contains("missing") {
            return Err(Error::invalid(format!(
                "Value ({}) for parameter imageLocation is invalid: no such file on the server host.",
                tarball.display()
            )));
        }
        self.keys
            .lock()
            .map_err(|_| Error::internal("fake library lock poisoned"))?
            .insert(key.to_string());
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<(), Error> {
        self.keys
            .lock()
            .map_err(|_| Error::internal("fake library lock poisoned"))?
            .remove(key);
        Ok(())
    }

    fn contains(&self, key: &str) -> bool {
        self.keys.lock().map(|k| k.contains(key)).unwrap_or(false)
    }

    fn stored_keys(&self) -> Result<Vec<String>, Error> {
        Ok(self.keys())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nubo-lib-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn tarball_names() {
        assert!(check_tarball_name(Path::new("/srv/rootfs.tar.gz")).is_ok());
        assert!(check_tarball_name(Path::new("/srv/rootfs.tar.xz")).is_ok());
        assert!(check_tarball_name(Path::new("/srv/rootfs.tar")).is_ok());
        assert!(check_tarball_name(Path::new("rootfs.tar")).is_err());
        assert!(check_tarball_name(Path::new("/srv/rootfs.zip")).is_err());
    }

    #[test]
    fn directory_library_imports_and_removes_a_tarball() {
        let dir = scratch("import");
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("etc")).unwrap();
        std::fs::write(src.join("etc/hostname"), "box\n").unwrap();
        let tarball = dir.join("rootfs.tar.gz");
        let status = Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(&src)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success());
        let lib = DirectoryLibrary::new(dir.join("images"));
        lib.import_tarball("ami-0123456789abcdef0", &tarball)
            .unwrap();
        assert!(lib.contains("ami-0123456789abcdef0"));
        let hostname =
            std::fs::read_to_string(lib.rootfs_dir("ami-0123456789abcdef0").join("etc/hostname"))
                .unwrap();
        assert_eq!(hostname, "box\n");
        // Not a tarball: refused, nothing left behind.
        let junk = dir.join("junk.tar");
        std::fs::write(&junk, "not a tar archive").unwrap();
        assert!(matches!(
            lib.import_tarball("ami-0123456789abcdef1", &junk),
            Err(Error::InvalidParameterValue(_))
        ));
        assert!(!lib.contains("ami-0123456789abcdef1"));
        assert!(!dir.join("images/.ami-0123456789abcdef1.import").exists());
        // An interrupted import is swept; stored keys are listed.
        std::fs::create_dir_all(dir.join("images/.ami-0123456789abcdef2.import/rootfs")).unwrap();
        assert_eq!(lib.stored_keys().unwrap(), vec!["ami-0123456789abcdef0"]);
        assert!(!dir.join("images/.ami-0123456789abcdef2.import").exists());
        lib.remove("ami-0123456789abcdef0").unwrap();
        assert!(!lib.contains("ami-0123456789abcdef0"));
        assert!(lib.stored_keys().unwrap().is_empty());
        lib.remove("ami-0123456789abcdef0").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
