//! Traces leave the process over OTLP (gRPC and HTTP/protobuf) to a real receiver
//! built on the OpenTelemetry protobuf definitions; a dead collector costs dropped
//! spans, counted, never failed requests.
mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::binary::Binary;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        trace_service_server::{TraceService, TraceServiceServer},
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    },
    common::v1::{any_value::Value as AnyValueKind, KeyValue},
    trace::v1::{span::SpanKind, status::StatusCode as SpanStatus, Span},
};
use prost::Message;
use serde_json::json;

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

#[derive(Clone, Default)]
struct Receiver(Received);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

async fn grpc_receiver() -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let r = Receiver::default();
    let received = r.0.clone();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(r))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (format!("http://{addr}"), received)
}

async fn http_receiver() -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(ExportTraceServiceRequest::decode(body).expect("protobuf body"));
                ExportTraceServiceResponse { partial_success: None }.encode_to_vec()
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValueKind> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()).and_then(|v| v.value.as_ref())
}

fn attr_str(attrs: &[KeyValue], key: &str) -> Option<String> {
    match attr(attrs, key)? {
        AnyValueKind::StringValue(s) => Some(s.clone()),
        AnyValueKind::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// All spans received so far, with their resource's attributes.
fn spans(received: &Received) -> Vec<(Vec<KeyValue>, Span)> {
    let mut out = vec![];
    for req in received.lock().unwrap().iter() {
        for rs in &req.resource_spans {
            let res = rs.resource.as_ref().map(|r| r.attributes.clone()).unwrap_or_default();
            for ss in &rs.scope_spans {
                out.extend(ss.spans.iter().map(|s| (res.clone(), s.clone())));
            }
        }
    }
    out
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

async fn check_export(protocol: &str, endpoint: String, received: Received) {
    let mut bin = Binary::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("TM_ZONE", "eu-west-1b"),
        ("TM_ENVIRONMENT", "test"),
        ("TM_POD_NAME", "task-manager-0"),
    ]);
    bin.wait_ready().await;
    let res = reqwest::Client::new()
        .post(bin.url("/api/v1/auth/register"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .json(&json!({"email": "ada@example.com", "password": "correct horse battery", "display_name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let echoed = res.headers().get("traceparent").unwrap().to_str().unwrap().to_owned();
    assert!(echoed.contains(TRACE_ID), "the response carries the trace context: {echoed}");

    // Spans are exported in batches about every second.
    let mut server = None;
    for _ in 0..200 {
        server = spans(&received)
            .into_iter()
            .find(|(_, s)| hex(&s.trace_id) == TRACE_ID && s.kind == SpanKind::Server as i32);
        if server.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (resource, server) =
        server.unwrap_or_else(|| panic!("no server span received over {protocol}:\n{}", bin.logs()));
    assert_eq!(server.name, "POST /api/v1/auth/register");
    assert_eq!(hex(&server.parent_span_id), PARENT_ID, "continues the caller's trace");
    assert_eq!(attr_str(&server.attributes, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(attr_str(&server.attributes, "http.route").as_deref(), Some("/api/v1/auth/register"));
    assert_eq!(attr_str(&server.attributes, "http.response.status_code").as_deref(), Some("201"));
    assert_eq!(attr_str(&server.attributes, "url.path").as_deref(), Some("/api/v1/auth/register"));
    assert_eq!(attr_str(&server.attributes, "url.scheme").as_deref(), Some("http"));
    assert!(attr_str(&server.attributes, "user_agent.original").is_some());
    assert_eq!(attr_str(&server.attributes, "client.address").as_deref(), Some("127.0.0.1"));
    assert_ne!(server.status.as_ref().map(|s| s.code), Some(SpanStatus::Error as i32));

    assert_eq!(attr_str(&resource, "service.name").as_deref(), Some("task-manager"));
    assert_eq!(attr_str(&resource, "service.version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(attr_str(&resource, "deployment.environment").as_deref(), Some("test"));
    assert_eq!(attr_str(&resource, "cloud.availability_zone").as_deref(), Some("eu-west-1b"));
    assert_eq!(attr_str(&resource, "k8s.pod.name").as_deref(), Some("task-manager-0"));

    // Database client spans under the server span, with a parameterised query.
    let mut db = vec![];
    for _ in 0..100 {
        db = spans(&received)
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| s.kind == SpanKind::Client as i32 && s.parent_span_id == server.span_id)
            .collect::<Vec<_>>();
        if db.iter().any(|s| s.name == "user.insert") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let insert = db.iter().find(|s| s.name == "user.insert").unwrap_or_else(|| panic!("no user.insert span: {db:?}"));
    assert_eq!(attr_str(&insert.attributes, "db.system.name").as_deref(), Some("sqlite"));
    assert_eq!(attr_str(&insert.attributes, "db.operation.name").as_deref(), Some("user.insert"));
    assert_eq!(attr_str(&insert.attributes, "db.collection.name").as_deref(), Some("app_user"));
    let query = attr_str(&insert.attributes, "db.query.text").unwrap();
    assert!(query.contains("insert into app_user") && query.contains("$1"), "{query}");
    for (_, s) in spans(&received) {
        for kv in &s.attributes {
            let v = attr_str(std::slice::from_ref(kv), &kv.key).unwrap_or_default();
            assert!(
                !v.contains("ada@example.com") && !v.contains("correct horse"),
                "a value leaked into {}: {v}",
                s.name
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn spans_reach_a_grpc_collector() {
    let (endpoint, received) = grpc_receiver().await;
    check_export("grpc", endpoint, received).await;
}

#[tokio::test]
async fn spans_reach_an_http_protobuf_collector() {
    let (endpoint, received) = http_receiver().await;
    check_export("http/protobuf", endpoint, received).await;
}

fn counter(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

#[tokio::test]
async fn a_dead_collector_drops_spans_but_never_requests() {
    let closed = format!("http://127.0.0.1:{}", common::binary::free_port());
    let mut bin =
        Binary::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", closed.as_str()), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
    bin.wait_ready().await;
    let client = reqwest::Client::new();
    for _ in 0..200 {
        let r = client.get(bin.url("/healthz/live")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let mut dropped = 0.0;
    for _ in 0..300 {
        let m = client.get(bin.url("/metrics")).send().await.unwrap().text().await.unwrap();
        dropped = counter(&m, "task_manager_otel_spans_dropped_total");
        if dropped > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dropped > 0.0, "dropped spans are counted:\n{}", bin.logs());
}

#[tokio::test]
async fn without_an_endpoint_no_exporter_runs() {
    let mut bin = Binary::start(&[]);
    bin.wait_ready().await;
    assert!(reqwest::get(bin.url("/healthz/live")).await.unwrap().status().is_success());
    let logs = bin.logs();
    assert!(logs.contains("span export off"), "{logs}");
    let m = reqwest::get(bin.url("/metrics")).await.unwrap().text().await.unwrap();
    assert_eq!(counter(&m, "task_manager_otel_spans_dropped_total"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_separate_metrics_address_takes_metrics_off_the_public_listener() {
    let app = common::TestApp::spawn_with(common::Backend::Sqlite, |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let public = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(public.status(), 404, "the public listener does not serve /metrics");
    app.stop().await;

    // The bound address is only known to the application; start the binary instead.
    let port = common::binary::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut bin = Binary::start(&[("TM_METRICS_LISTEN", addr.as_str())]);
    bin.wait_ready().await;
    assert_eq!(reqwest::get(bin.url("/metrics")).await.unwrap().status(), 404);
    let m = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
    assert_eq!(m.status(), 200);
    assert!(m.text().await.unwrap().contains("http_server_request_duration_seconds_bucket"));
}
