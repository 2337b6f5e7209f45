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

    // The guard counts the request as in flight until it is dropped; when the future is
    // dropped before an answer (client gone, shutdown) it records the request itself.
    let mut in_flight = InFlight::begin(&state, start, method, route, span.clone());
    let mut response = next.run(req).instrument(span.clone()).await;
    in_flight.answered(response.status().as_u16());

    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut HeaderInjector(response.headers_mut()))
    });
    response
}

/// Status recorded for a request whose client went away before the answer (nginx's
/// convention; no response is sent).
pub const CLIENT_CLOSED_REQUEST: u16 = 499;
/// Status recorded for a request cut by shutdown: an error of the service, counted
/// against availability like any 5xx.
pub const ABANDONED_AT_SHUTDOWN: u16 = 503;

/// One request between its head and its answer: counted in `http_server_active_requests`
/// until dropped, and recorded exactly once, with the answer's status or, when the
/// request future is dropped unanswered (hyper drops it when the client closes the
/// connection; shutdown drops it after the grace period), 499 or 503.
struct InFlight {
    metrics: std::sync::Arc<super::metrics::Metrics>,
    lifecycle: crate::lifecycle::Lifecycle,
    method: &'static str,
    route: String,
    start: Instant,
    span: tracing::Span,
    recorded: bool,
}

impl InFlight {
    fn begin(state: &AppState, start: Instant, method: &'static str, route: String, span: tracing::Span) -> InFlight {
        state.metrics.http_active.with_label_values(&[method]).inc();
        InFlight {
            metrics: state.metrics.clone(),
            lifecycle: state.lifecycle.clone(),
            method,
            route,
            start,
            span,
            recorded: false,
        }
    }

    fn answered(&mut self, status: u16) {
        self.record(status, None);
    }

    /// Records the request once; `abandoned` says why it ended without an answer.
    fn record(&mut self, status: u16, abandoned: Option<&'static str>) {
        self.recorded = true;
        let elapsed = self.start.elapsed();
        self.metrics.observe_http(self.method, &self.route, status, elapsed.as_secs_f64());
        self.span.record("http.response.status_code", status);
        if status >= 500 {
            self.span.record("otel.status_code", "ERROR");
        }
        let (method, route) = (self.method, self.route.as_str());
        let duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        self.span.in_scope(|| match abandoned {
            Some(why) => tracing::warn!(target: "access", method, route, status, duration_ms, "{why}"),
            None => tracing::info!(target: "access", method, route, status, duration_ms, "request"),
        });
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.metrics.http_active.with_label_values(&[self.method]).dec();
        if !self.recorded {
            if self.lifecycle.is_shutting_down() {
                self.record(ABANDONED_AT_SHUTDOWN, Some("request abandoned at shutdown"));
            } else {
                self.record(CLIENT_CLOSED_REQUEST, Some("client closed the connection before the answer"));
            }
        }
    }
}
