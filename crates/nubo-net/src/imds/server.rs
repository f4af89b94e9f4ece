//! The metadata listeners: one HTTP/1.1 server on 169.254.169.254:80 inside
//! each VPC router namespace. The listening socket is made on a dedicated
//! thread that joined the router namespace (never a tokio worker), then handed
//! to tokio; accepted connections stay in that namespace.
//!
//! Each request asks the [`MetadataSource`] who (VPC, source address) is, then
//! runs the pure [`handler::handle`]. The token PUT's response goes out with
//! the instance's hop limit as IP TTL (set on the connection's socket right
//! before the response is written, and restored for later responses).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::task::JoinHandle;

use super::handler::{self, ImdsRequest};
use super::token::TokenKey;
use super::MetadataSource;
use crate::netns::{netns_identity, run_in_netns};
use crate::plan::METADATA_ADDR;
use crate::NetError;

struct Listener {
    netns: String,
    identity: (u64, u64),
    task: JoinHandle<()>,
}

/// The metadata service of this host: one listener per VPC router.
pub struct Imds {
    source: Arc<dyn MetadataSource>,
    key: TokenKey,
    port: u16,
    listeners: Mutex<HashMap<String, Listener>>,
}

impl Imds {
    pub fn new(source: Arc<dyn MetadataSource>) -> Self {
        Imds {
            source,
            key: TokenKey::random(),
            port: 80,
            listeners: Mutex::new(HashMap::new()),
        }
    }

    /// Serves the VPC's metadata inside its router namespace. Idempotent: a
    /// second call is a no-op while the listener runs in the same namespace,
    /// and replaces it when the namespace was recreated under the same name.
    /// Must be called from within a tokio runtime. Works before the first ENI
    /// is plugged (the socket binds with IP_FREEBIND).
    pub fn serve_vpc(&self, vpc_id: &str, router_netns: &str) -> Result<(), NetError> {
        let identity = netns_identity(router_netns)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| NetError::NoRuntime(e.to_string()))?;
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = listeners.get(vpc_id) {
            if l.netns == router_netns && l.identity == identity && !l.task.is_finished() {
                return Ok(());
            }
        }
        if let Some(old) = listeners.remove(vpc_id) {
            old.task.abort();
        }
        let port = self.port;
        let std_listener = run_in_netns(router_netns, move || bind_freebind(port))?;
        let _guard = runtime.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|e| NetError::io("register metadata listener", e))?;
        let task = runtime.spawn(accept_loop(
            listener,
            vpc_id.to_string(),
            self.source.clone(),
            self.key.clone(),
        ));
        listeners.insert(
            vpc_id.to_string(),
            Listener {
                netns: router_netns.to_string(),
                identity,
                task,
            },
        );
        tracing::debug!(
            vpc = vpc_id,
            netns = router_netns,
            "metadata service listening"
        );
        Ok(())
    }

    /// Stops the VPC's listener (its open connections end with it).
    pub fn stop_vpc(&self, vpc_id: &str) {
        let removed = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(vpc_id);
        if let Some(l) = removed {
            l.task.abort();
        }
    }

    /// The VPCs served now.
    pub fn serving(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    }
}

impl Drop for Imds {
    fn drop(&mut self) {
        let listeners = self.listeners.get_mut().unwrap_or_else(|e| e.into_inner());
        for (_, l) in listeners.drain() {
            l.task.abort();
        }
    }
}

/// Binds 169.254.169.254:`port` in the calling thread's namespace. FREEBIND
/// lets the listener exist before the router's loopback has the address.
fn bind_freebind(port: u16) -> Result<std::net::TcpListener, NetError> {
    use rustix::net::{bind, listen, socket_with, sockopt, AddressFamily, SocketFlags, SocketType};
    let io = |what: &str, e: rustix::io::Errno| {
        NetError::io(format!("metadata socket: {what}"), e.into())
    };
    let fd = socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
    .map_err(|e| io("socket", e))?;
    sockopt::set_socket_reuseaddr(&fd, true).map_err(|e| io("SO_REUSEADDR", e))?;
    sockopt::set_ip_freebind(&fd, true).map_err(|e| io("IP_FREEBIND", e))?;
    bind(&fd, &SocketAddrV4::new(METADATA_ADDR, port)).map_err(|e| io("bind", e))?;
    listen(&fd, 1024).map_err(|e| io("listen", e))?;
    Ok(std::net::TcpListener::from(fd))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Connections served at once per VPC: beyond this new ones are closed at
/// once, so one instance cannot exhaust the agent's file descriptors.
pub const MAX_CONNECTIONS_PER_VPC: usize = 512;

async fn accept_loop(
    listener: tokio::net::TcpListener,
    vpc_id: String,
    source: Arc<dyn MetadataSource>,
    key: TokenKey,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS_PER_VPC));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(vpc = %vpc_id, error = %e, "metadata accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(caller) = ipv4_of(peer) else {
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(vpc = %vpc_id, %caller, "metadata connection limit reached");
            continue;
        };
        // A second handle on the same socket, only to change its IP TTL.
        let ttl_handle = match stream.as_fd().try_clone_to_owned() {
            Ok(fd) => std::net::TcpStream::from(fd),
            Err(_) => continue,
        };
        let default_ttl = ttl_handle.ttl().unwrap_or(64);
        let (vpc, source, key) = (vpc_id.clone(), source.clone(), key.clone());
        tokio::spawn(async move {
            let ttl_handle = Arc::new(ttl_handle);
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (vpc, source, key, ttl_handle) =
                    (vpc.clone(), source.clone(), key.clone(), ttl_handle.clone());
                async move {
                    let request = ImdsRequest {
                        method: req.method().as_str().to_string(),
                        path: req
                            .uri()
                            .path_and_query()
                            .map(|p| p.as_str().to_string())
                            .unwrap_or_else(|| "/".into()),
                        headers: req
                            .headers()
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.as_str().to_string(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                )
                            })
                            .collect(),
                    };
                    let md = source.lookup(&vpc, caller).await;
                    let answer = handler::handle(&request, md.as_ref(), &key, unix_now());
                    let ttl = answer.ip_ttl.map(u32::from).unwrap_or(default_ttl);
                    if let Err(e) = ttl_handle.set_ttl(ttl) {
                        tracing::warn!(error = %e, "cannot set metadata response TTL");
                    }
                    let mut builder = hyper::Response::builder().status(answer.status);
                    for (k, v) in &answer.headers {
                        builder = builder.header(k.as_str(), v.as_str());
                    }
                    builder.body(Full::new(Bytes::from(answer.body)))
                }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "metadata connection ended with an error");
            }
            drop(slot);
        });
    }
}

fn ipv4_of(peer: SocketAddr) -> Option<Ipv4Addr> {
    match peer.ip() {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(ip) => ip.to_ipv4_mapped(),
    }
}
