//! The send path every endpoint shares: the call's options taken out of the request, the trace
//! context added, its observation started, the request sent and the answer (or the error)
//! recorded.

use langfuse_sdk::{Observation, ObservationType};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::body::timeout_error;
use crate::client::Client;
use crate::error::{status_error, Error};
use crate::options::{Call, CallOptions};
use crate::proxy::{prepare, Recording};
use crate::record::{record_error, InFlight};
use crate::types::GatewayInfo;

/// A request body of one endpoint: what the send path needs of it.
pub(crate) trait Endpoint: Serialize {
    /// The path under the base URL (`chat/completions`).
    const PATH: &'static str;
    /// The type of the call's observation.
    const TYPE: ObservationType;
    /// The observation's name when the call names none.
    const DEFAULT_NAME: &'static str;
    /// What the answer is called in a decode error.
    const ANSWER: &'static str;
    /// The answer of a call that is not streamed.
    type Answer: DeserializeOwned;

    /// Takes out what is recorded and never sent: the call's Langfuse options and the
    /// request's own observation name.
    fn take_options(&mut self) -> (CallOptions, Option<String>);
    /// The body's other fields and its OpenAI `user`, where the trace context goes.
    fn trace_fields(&mut self) -> (&mut Map<String, Value>, &mut Option<String>);
    /// Writes the request into the call's observation.
    fn record_request(&self, obs: &Observation);
    /// Puts what the gateway said in headers into the answer.
    fn set_gateway(answer: &mut Self::Answer, gateway: GatewayInfo);
    /// Writes the answer into the call's observation.
    fn record_answer(obs: &Observation, answer: &Self::Answer);
}

/// A stream's answer once its headers came: the response, what the gateway said in its
/// headers, and the call's observation (`None` when the proxy records).
pub(crate) struct Opened {
    pub(crate) resp: reqwest::Response,
    pub(crate) gateway: GatewayInfo,
    pub(crate) obs: Option<Observation>,
}

impl Client {
    /// Sends `req` and decodes its answer, recorded in the call's observation (or its error).
    pub(crate) async fn call<R: Endpoint>(&self, mut req: R) -> Result<R::Answer, Error> {
        let (rb, pending) = self.begin(&mut req);
        let result = self
            .send_json::<R::Answer>(rb.json(&req), R::ANSWER)
            .await
            .map(|(mut r, gateway)| {
                R::set_gateway(&mut r, gateway);
                r
            });
        if let Some(obs) = &pending.into_inner() {
            match &result {
                Ok(r) => R::record_answer(obs, r),
                Err(e) => record_error(obs, e),
            }
        }
        result
    }

    /// Sends `req` for a streamed answer and waits (at most the client's timeout) for its
    /// headers. A failure is recorded in the call's observation, which then ends.
    pub(crate) async fn open<R: Endpoint>(&self, mut req: R) -> Result<Opened, Error> {
        let (rb, pending) = self.begin(&mut req);
        let sent = tokio::time::timeout(self.inner.timeout, rb.json(&req).send()).await;
        let failed = match sent {
            Ok(Ok(resp)) if resp.status().is_success() => {
                let gateway = GatewayInfo::from_headers(resp.headers());
                return Ok(Opened {
                    resp,
                    gateway,
                    obs: pending.into_inner(),
                });
            }
            Ok(Ok(resp)) => status_error(resp).await,
            Ok(Err(e)) => Error::from_reqwest(e),
            Err(_) => timeout_error(self.inner.timeout),
        };
        if let Some(o) = &pending.into_inner() {
            record_error(o, &failed);
        }
        Err(failed)
    }

    /// The request of `req` (its body not yet set) with the trace's user and, in proxy mode,
    /// the trace context; and the call's observation (none in proxy mode), started after that
    /// so that it records the request as it is sent.
    fn begin<R: Endpoint>(&self, req: &mut R) -> (reqwest::RequestBuilder, InFlight) {
        let (opts, name) = req.take_options();
        let call = Call::new(&opts, name.as_deref(), R::DEFAULT_NAME);
        let rb = self.request(reqwest::Method::POST, R::PATH);
        let (extra, user) = req.trace_fields();
        let rb = prepare(self.inner.recording, &call, extra, user, rb);
        let obs = (self.inner.recording != Recording::Proxy).then(|| {
            let obs = self.start(R::TYPE, &call);
            req.record_request(&obs);
            obs
        });
        (rb, InFlight::new(obs))
    }
}
