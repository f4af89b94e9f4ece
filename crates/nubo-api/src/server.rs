//! The listener and the request pipeline shared by every service:
//! read → authenticate (SigV4) → route by credential scope → decode the action
//! → handler (authorize, dry-run, execute, render) → map errors → metrics,
//! audit and a structured log line carrying the request ID.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use nubo_core::{Error, Principal};
use nubo_ec2::{Ec2Service, RequestScope};
use nubo_iam::IamService;
use nubo_protocol::query::Params;
use nubo_protocol::sigv4::{self, HttpRequest};
use nubo_store::{AuditRecord, Store};

use crate::call::{Call, Service};
use crate::ec2::{self, Ec2Action};
use crate::error::{render, to_wire};
use crate::iam::{self, IamAction};
use crate::metrics::Metrics;
use crate::sts::{self, StsAction};

/// Largest request body accepted (AWS's Query APIs stay far below this).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Everything the API needs, shared by all requests.
pub struct Api {
    pub store: Store,
    pub iam: IamService,
    pub ec2: Ec2Service,
    pub metrics: Metrics,
}

/// A decoded action of any service.
#[derive(Debug, Clone, Copy)]
enum Action {
    Ec2(Ec2Action),
    Iam(IamAction),
    Sts(StsAction),
}

impl Action {
    fn parse(service: Service, name: &str) -> Option<Action> {
        match service {
            Service::Ec2 => Ec2Action::parse(name).map(Action::Ec2),
            Service::Iam => IamAction::parse(name).map(Action::Iam),
            Service::Sts => StsAction::parse(name).map(Action::Sts),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Action::Ec2(a) => a.name(),
            Action::Iam(a) => a.name(),
            Action::Sts(a) => a.name(),
        }
    }

    fn is_mutating(self) -> bool {
        match self {
            Action::Ec2(a) => a.is_mutating(),
            Action::Iam(a) => a.is_mutating(),
            Action::Sts(_) => false,
        }
    }
}

/// Serves the API on `listener` until `shutdown` completes, then drains
/// in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Arc<Api>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .fallback(handle)
        .with_state(api);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn metrics(State(api): State<Arc<Api>>) -> Response {
    let mut r = api.metrics.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// What the pipeline learned about a request, for metrics, audit and logs.
#[derive(Default)]
struct Outcome {
    service: Option<Service>,
    action: Option<Action>,
    principal: Option<Principal>,
    touched: Vec<String>,
    /// The service wrote the audit record inside its own transaction.
    audited: bool,
}

/// The audit record of a call, as if it succeeded; callers adjust the result.
fn audit_record(
    request_id: &str,
    service: Service,
    action: &str,
    principal: Option<&Principal>,
    peer: SocketAddr,
) -> AuditRecord {
    AuditRecord {
        at: Utc::now(),
        request_id: request_id.to_string(),
        account_id: principal.map(|p| p.account_id.to_string()),
        principal_arn: principal.map(|p| p.arn.clone()),
        access_key_id: principal.map(|p| p.access_key_id.clone()),
        service: service.name().to_string(),
        action: action.to_string(),
        resource_ids: Vec::new(),
        result: "Success".to_string(),
        http_status: 200,
        source_ip: Some(peer.ip().to_string()),
    }
}

async fn handle(
    State(api): State<Arc<Api>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut outcome = Outcome::default();
    let result = process(&api, req, peer, &request_id, &mut outcome).await;
    let service = outcome.service.unwrap_or(Service::Ec2);
    let (status, code, body) = match result {
        Ok(body) => (200u16, "Success", body),
        Err(err) => {
            let wire = to_wire(service, &err);
            if let Error::Internal(detail) = &err {
                tracing::error!(request_id = %request_id, detail = %detail, "internal error");
            }
            (wire.status, wire.code, render(service, &wire, &request_id))
        }
    };
    let elapsed = started.elapsed();
    let action = outcome.action.map(Action::name).unwrap_or("Unknown");
    api.metrics.observe(service.name(), action, code, elapsed);
    tracing::info!(
        request_id = %request_id,
        service = service.name(),
        action,
        code,
        status,
        principal = outcome.principal.as_ref().map(|p| p.arn.as_str()).unwrap_or("-"),
        latency_us = elapsed.as_micros() as u64,
        "request"
    );
    if outcome.action.is_some_and(Action::is_mutating) && !(outcome.audited && code == "Success") {
        let mut record = audit_record(
            &request_id,
            service,
            action,
            outcome.principal.as_ref(),
            peer,
        );
        record.resource_ids = outcome.touched;
        record.result = code.to_string();
        record.http_status = i64::from(status);
        if let Err(e) = api.store.record_audit(&record).await {
            tracing::error!(request_id = %request_id, error = %e, "could not write the audit record");
        }
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

async fn process(
    api: &Api,
    req: Request,
    peer: SocketAddr,
    request_id: &str,
    outcome: &mut Outcome,
) -> Result<String, Error> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| Error::invalid("The request body is too large or could not be read."))?;
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let http = HttpRequest {
        method: parts.method.as_str(),
        path: &path,
        query: &query,
        headers: &headers,
        body: &body,
    };

    // Parameters: the URL query, then a form body (which wins).
    let mut params = Params::parse(&query)?;
    if parts.method == Method::POST && !body.is_empty() {
        let text = std::str::from_utf8(&body)
            .map_err(|_| Error::invalid("The request body is not valid UTF-8."))?;
        params.merge(Params::parse(text)?);
    }
    // Until the signature names the service, the API version tells which
    // envelope a pre-authentication error should use.
    outcome.service = params.get("Version").and_then(Service::from_version);

    let auth = sigv4::parse_auth(&http)?.ok_or(Error::MissingAuthenticationToken)?;
    let service = Service::from_scope(&auth.credential.service);
    outcome.service = service.or(outcome.service);
    let service = service.ok_or_else(|| {
        Error::InvalidAction(format!(
            "service '{}' in the credential scope",
            auth.credential.service
        ))
    })?;
    let action_name = params.required("Action")?.to_string();
    outcome.action = Action::parse(service, &action_name);

    let region = auth.credential.region.clone();
    if service == Service::Ec2 && !api.ec2.has_region(&region) {
        return Err(Error::SignatureDoesNotMatch(format!(
            "Credential should be scoped to a valid region, not '{region}'."
        )));
    }
    let (principal, secret) = api.iam.authenticate(&auth.credential.access_key_id).await?;
    sigv4::verify(&http, &auth, &secret, Utc::now())?;
    outcome.principal = Some(principal.clone());

    let action = outcome
        .action
        .ok_or_else(|| Error::InvalidAction(action_name.clone()))?;
    let host = headers
        .iter()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut call = Call {
        request_id: request_id.to_string(),
        service,
        scope: RequestScope {
            account: principal.account_id.clone(),
            region,
            dry_run: service == Service::Ec2 && params.bool("DryRun")?.unwrap_or(false),
            // EC2 writes record their own audit entry in their transaction.
            audit: (service == Service::Ec2 && action.is_mutating())
                .then(|| audit_record(request_id, service, action.name(), Some(&principal), peer)),
        },
        principal,
        params,
        host,
        source_ip: Some(peer.ip().to_string()),
        touched: Vec::new(),
    };
    let result = match action {
        Action::Ec2(a) => ec2::handle(api, &mut call, a).await,
        Action::Iam(a) => iam::handle(api, &mut call, a).await,
        Action::Sts(a) => sts::handle(&mut call, a).await,
    };
    outcome.touched = std::mem::take(&mut call.touched);
    outcome.audited = call.scope.audit.is_some();
    result
}
