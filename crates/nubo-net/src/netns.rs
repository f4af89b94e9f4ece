//! Running code inside a named network namespace without ever moving a tokio
//! worker: a fresh OS thread joins the namespace (`setns`), runs the closure and
//! exits. Sockets created there stay in that namespace when handed back, which
//! is how the metadata listener lives inside a VPC router.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use crate::NetError;

/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// The bind-mount path of a named namespace.
pub fn netns_path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// The identity (device, inode) of a named namespace, to notice when a name
/// now refers to a different (recreated) namespace.
pub fn netns_identity(name: &str) -> Result<(u64, u64), NetError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(netns_path(name))
        .map_err(|e| NetError::io(format!("stat netns {name}"), e))?;
    Ok((meta.dev(), meta.ino()))
}

/// Runs `f` on a dedicated thread that has joined the network namespace `name`.
pub fn run_in_netns<T, F>(name: &str, f: F) -> Result<T, NetError>
where
    F: FnOnce() -> Result<T, NetError> + Send + 'static,
    T: Send + 'static,
{
    let file =
        File::open(netns_path(name)).map_err(|e| NetError::io(format!("open netns {name}"), e))?;
    let ns = name.to_string();
    let handle = std::thread::Builder::new()
        .name(format!("netns-{name}"))
        .spawn(move || {
            move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network))
                .map_err(|e| NetError::io(format!("setns into {ns}"), e.into()))?;
            f()
        })
        .map_err(|e| NetError::io("spawn netns thread", e))?;
    handle
        .join()
        .map_err(|_| NetError::Precondition(format!("thread in netns {name} panicked")))?
}

/// Opens a TCP connection from inside the namespace `name` (e.g. a VPC router,
/// to reach an instance's SSH port from the host). The connected socket stays
/// in that namespace and is usable from any thread.
pub fn tcp_connect_in(
    name: &str,
    to: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, NetError> {
    run_in_netns(name, move || {
        TcpStream::connect_timeout(&to, timeout)
            .map_err(|e| NetError::io(format!("connect to {to}"), e))
    })
}
