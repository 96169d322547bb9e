//! How hormesis runs the quote service: its hosts, parameters, knobs, the
//! client hormesis drives, and the metrics it scrapes.

use crate::service::{self, Controls, Failure, QuoteClient};
use hormesis::faults::{KnobKind, KnobSpec};
use hormesis::scenario::{
    CallFailure, Client, HostSoftware, Layout, LocalFuture, ParamError, ParamKind, ParamSpec,
    ParamValue, Params, Scenario, Scrape, System,
};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PORT: u16 = 9000;

/// The quote service as a hormesis scenario.
pub struct Quotes;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

impl Scenario for Quotes {
    fn name(&self) -> &'static str {
        "quotes"
    }

    fn description(&self) -> &'static str {
        "a quote server with 8 workers and clients that retry on timeout"
    }

    fn params(&self) -> Vec<ParamSpec> {
        let duration = |name, default, help| ParamSpec {
            name,
            kind: ParamKind::Duration {
                min: ms(1),
                max: ms(60_000),
            },
            default: ParamValue::Duration(default),
            help,
        };
        vec![
            ParamSpec {
                name: "rate",
                kind: ParamKind::Float {
                    min: 1.0,
                    max: 10_000.0,
                },
                default: ParamValue::Float(150.0),
                help: "requests/s offered by all clients",
            },
            ParamSpec {
                name: "retries",
                kind: ParamKind::Int { min: 0, max: 10 },
                default: ParamValue::Int(3),
                help: "client retries after a timeout",
            },
            duration("timeout", ms(500), "client timeout per attempt"),
            duration(
                "service_time",
                ms(40),
                "time one worker spends on a request",
            ),
        ]
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![KnobSpec {
            name: "service-time".into(),
            kind: KnobKind::Value {
                min: 1.0,
                max: 10_000.0,
                default: 40.0,
            },
            help: "milliseconds per request (a slow dependency)".into(),
        }]
    }

    fn trigger(&self) -> Vec<String> {
        vec!["load-spike:at=60s,for=5s,factor=2".into()]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        let layout = Layout {
            hosts: vec!["quotes".into()],
            clients: vec!["client-1".into(), "client-2".into()],
            rate: p.float("rate")?,
            deadline: ms(5000),
            warmup: ms(30_000),
            horizon: ms(60_000),
            recovers_within: ms(30_000),
            run_limit: ms(3_600_000),
            tick: ms(10),
            min_latency: ms(1),
            max_latency: ms(5),
        };
        let service_time = p.duration("service_time")?;
        Ok(Box::new(QuotesSystem {
            layout,
            service_time,
            controls: Arc::new(Controls {
                service_time: Mutex::new(service_time),
            }),
            timeout: p.duration("timeout")?,
            retries: p.int("retries")? as u32,
            attempts: Arc::new(AtomicU64::new(0)),
        }))
    }
}

struct QuotesSystem {
    layout: Layout,
    /// As configured: where a `service-time` fault returns it.
    service_time: Duration,
    controls: Arc<Controls>,
    timeout: Duration,
    retries: u32,
    attempts: Arc<AtomicU64>,
}

impl System for QuotesSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, _host: &str) -> HostSoftware {
        let controls = self.controls.clone();
        Rc::new(move || {
            let controls = controls.clone();
            Box::pin(async move { Ok(service::serve(PORT, 8, controls).await?) })
        })
    }

    fn client(&self, _client: &str) -> Rc<dyn Client> {
        Rc::new(Driver(QuoteClient {
            server: format!("quotes:{PORT}"),
            timeout: self.timeout,
            retries: self.retries,
            attempts: self.attempts.clone(),
        }))
    }

    fn set_knob(&self, knob: &str, value: Option<f64>) {
        if let ("service-time", Some(v)) = (knob, value) {
            *self
                .controls
                .service_time
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Duration::from_secs_f64(v / 1000.0);
        }
    }

    fn knob_value(&self, knob: &str) -> Option<f64> {
        (knob == "service-time").then_some(self.service_time.as_secs_f64() * 1000.0)
    }

    fn scrape(&self) -> Scrape {
        Scrape {
            attempts: self.attempts.load(Ordering::Relaxed),
            gauges: vec![],
        }
    }
}

/// The adapter from the service's client to the one hormesis drives.
struct Driver(QuoteClient);

impl Client for Driver {
    fn call(&self, key: u64) -> LocalFuture<'_, Result<(), CallFailure>> {
        Box::pin(async move {
            match self.0.quote(key).await {
                Ok(_) => Ok(()),
                Err(Failure::Timeout) => Err(CallFailure::Timeout),
                Err(Failure::Error) => Err(CallFailure::Error),
            }
        })
    }
}
