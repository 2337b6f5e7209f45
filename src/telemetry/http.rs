//! The HTTP layer of telemetry: one server span per request (named `{method} {route}`
//! after the matched route template, continuing an incoming W3C `traceparent`), RED
//! metrics, and one access-log line. Requests that matched no route are labelled
//! `unmatched`, never with their raw path, so scanners cannot create series.

use std::{net::SocketAddr, time::Instant};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue},
    middleware::Next,
    response::Response,
};
use opentelemetry::propagation::{Extractor, Injector};
use tracing::{field::Empty, Instrument};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::metrics::method_label;
use crate::state::AppState;

pub const UNMATCHED_ROUTE: &str = "unmatched";

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value))
        {
            self.0.insert(name, value);
        }
    }
}

pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let route = route.as_deref().unwrap_or(UNMATCHED_ROUTE).to_owned();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let client = crate::auth::client_address(req.headers(), peer, state.config.proxy_hops());
    let user_agent = req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let path = req.uri().path().to_owned();

    let span = tracing::info_span!(
        "HTTP request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route.as_str(),
        http.response.status_code = Empty,
        url.path = path.as_str(),
        url.scheme = "http",
        user_agent.original = user_agent.as_str(),
        client.address = client.as_str(),
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(req.headers())));
    let _ = span.set_parent(parent);

    let active = state.metrics.http_active.with_label_values(&[method]);
    active.inc();
    let mut response = next.run(req).instrument(span.clone()).await;
    active.dec();

    let status = response.status().as_u16();
    let elapsed = start.elapsed();
    state.metrics.observe_http(method, &route, status, elapsed.as_secs_f64());
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut HeaderInjector(response.headers_mut()))
    });
    span.in_scope(|| {
        tracing::info!(
            target: "access",
            method,
            route = route.as_str(),
            status,
            duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            "request"
        )
    });
    response
}
